#!/usr/bin/env bash
# Measures the built app on this machine: time from exec to its first mapped window, and the idle
# memory of its whole process tree (app + WebKit network and web processes) after 10 s.
# Usage: scripts/measure-app.sh [path/to/usine-app] [runs]   (needs xvfb, xdotool)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
APP=${1:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/usine-app}
RUNS=${2:-3}
[ -x "$APP" ] || { echo "no app binary at $APP: build it first (make run or make test)" >&2; exit 1; }

tree_pids() {
  local pid=$1 child
  echo "$pid"
  for child in $(cat "/proc/$pid/task/"*/children 2>/dev/null); do tree_pids "$child"; done
}
kib() { awk -v k="$1" '$1 == k":" { s += $2 } END { print s + 0 }' "${@:2}" 2>/dev/null; }

for run in $(seq "$RUNS"); do
  xvfb-run -a -s "-screen 0 1280x800x24" bash -c '
    start=$(date +%s%N)
    "$0" >/dev/null 2>&1 &
    app=$!
    until xdotool search --onlyvisible --name "^Usine$" >/dev/null 2>&1; do
      kill -0 $app 2>/dev/null || { echo "the app exited before showing a window" >&2; exit 1; }
      sleep 0.02
    done
    echo "window_ms=$(( ($(date +%s%N) - start) / 1000000 ))"
    sleep 10
    echo "pid=$app"
    '"$(declare -f tree_pids kib)"'
    pids=$(tree_pids $app)
    files=(); for p in $pids; do files+=(/proc/$p/smaps_rollup); done
    echo "processes=$(echo $pids | wc -w) rss_mib=$(( $(kib Rss "${files[@]}") / 1024 )) pss_mib=$(( $(kib Pss "${files[@]}") / 1024 ))"
    kill -TERM $app; wait $app 2>/dev/null || true
  ' "$APP" | tr '\n' ' ' | sed "s/^/run $run: /"
  echo
done
