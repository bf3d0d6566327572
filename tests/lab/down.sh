#!/usr/bin/env bash
# Stops exactly the daemons that up.sh started, by their recorded PIDs; nothing else
# (--wipe also removes the stand-in lfs that up.sh put on the PATH).
#   down.sh          stop, keep state (the next up.sh takes about 5 s)
#   down.sh --wipe   stop and delete the lab's state: Slurm's spool, the accounting database,
#                    keys and certificates (the next up.sh starts from nothing)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

[ "$(id -u)" = 0 ] || die "run as root"
wipe=
case "${1:-}" in
  --wipe) wipe=1 ;;
  "") ;;
  *) die "usage: $0 [--wipe]" ;;
esac

for name in "${LAB_DAEMONS[@]}"; do
  if lab_alive "$name"; then
    pid=$(cat "$LAB_PIDS/$name.pid")
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do lab_alive "$name" || break; sleep 0.1; done
    if lab_alive "$name"; then
      log "$name ($pid) ignored SIGTERM for 10 s: killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    log "stopped $name ($pid)"
  fi
  rm -f "$LAB_PIDS/$name.pid"
done

if mountpoint -q "$LAB_STATE/small" 2>/dev/null; then
  umount "$LAB_STATE/small" && log "unmounted the small test disk"
fi

if [ -n "$wipe" ]; then
  rm -f /usr/local/bin/lfs
  rm -rf "$LAB_STATE" /var/spool/slurmctld/* /var/spool/slurmd/* /var/spool/slurm24 /var/lib/mysql
  log "lab state wiped"
fi
