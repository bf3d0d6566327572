#!/usr/bin/env bash
# Runs every test Usine has, in order, and ends with a pass/fail summary with counts:
# format and lint checks, the lab (up + smoke check), Rust unit and integration tests against
# the lab, UI tests, the end-to-end test of the real app, and the .deb installed and tested.
# Later steps still run after a failure, so one run shows everything that is broken. Exit
# status 1 if anything failed.
# Needs root on Linux for the lab (it installs packages and starts daemons).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
LOGS=$TARGET_DIR/test-logs
mkdir -p "$LOGS"
export CARGO_TERM_COLOR=never NO_COLOR=1 FORCE_COLOR=0

names=()
results=()
counts=()
times=()
# step NAME COUNT_FN -- COMMAND...: runs COMMAND, logs to $LOGS/NAME.log, records the outcome.
# A step that hangs is stopped (with everything it started in its process group) after
# LIMIT seconds (default 25 min; a cold build of everything takes about 10), so one stuck
# test fails its step instead of holding the whole run until CI gives up.
step() {
  local name=$1 counter=$2 log="$LOGS/$1.log" t0 rc=0 limit=${LIMIT:-1500}
  shift 3
  printf '\n=== %s\n' "$name"
  t0=$(date +%s)
  timeout --kill-after=30 "$limit" "$@" >"$log" 2>&1 </dev/null || rc=$?
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    printf '\n%s: stopped after %s s without finishing (it hung); see above for the last it did.\n' \
      "$name" "$limit" >>"$log"
  fi
  names+=("$name")
  times+=("$(($(date +%s) - t0)) s")
  counts+=("$($counter "$log")")
  if [ "$rc" = 0 ]; then
    results+=(pass)
    if [ "$counter" = none ]; then
      tail -n 3 "$log"
    else
      # Every test's own line, so the record shows what ran (not only the last summary).
      grep -Ev '^ *(Compiling|Checking|Downloaded|Downloading|Blocking|Locking|Updating) ' "$log"
    fi
  else
    results+=(FAIL)
    tail -n 40 "$log"
    printf '(full log: %s)\n' "$log"
  fi
}

none() { echo "-"; }
cargo_counts() {
  awk '/^test result:/ { p += $4; f += $6 } END { printf "%d passed, %d failed", p, f }' "$1"
}
vitest_counts() {
  sed -n 's/^ *Tests *\(.*\)$/\1/p' "$1" | tail -1 | sed 's/ ([0-9]*)$//'
}
smoke_counts() { sed -n 's/^lab smoke check: //p' "$1" | tail -1; }
# The Slurm version of each lab cluster, as up.sh printed them.
lab_versions() { sed -n 's/^\[lab [0-9:]*\] cluster \([a-z0-9]*\): .* \([0-9.]*\)$/\1 \2/p' "$1" | paste -sd, | sed 's/,/, /g'; }
# cargo_counts, plus how many of the passed tests ran on each lab cluster (on_every_cluster!).
cargo_cluster_counts() {
  printf '%s (%s)' "$(cargo_counts "$1")" "$(awk '
    /^test on_lab::.* ok$/ { a++ } /^test on_lab24::.* ok$/ { b++ }
    END { printf "on lab: %d, on lab24: %d", a, b }' "$1")"
}
node_counts() {
  awk '/^ℹ pass/ { p = $3 } /^ℹ fail/ { f = $3 } END { printf "%d passed, %d failed", p, f }' "$1"
}

LIMIT=2700 step deps none -- scripts/deps.sh --test
if [ "${results[0]}" != pass ]; then
  echo "Dependencies could not be installed; nothing else can run."
  exit 1
fi

step format none -- bash -c 'cargo fmt --all --check && (cd ui && npx prettier --check . ../tests/e2e/*.mjs ../tests/lab/idp/*.mjs)'
step lint-rust none -- cargo clippy --workspace --all-targets --locked -- -D warnings
step lint-ui none -- bash -c 'cd ui && npx eslint . && npx svelte-check --tsconfig ./tsconfig.json --fail-on-warnings && npx tsc --noEmit -p tsconfig.json && node scripts/lint-workflows.mjs ../.github/workflows/*.yml && node ../scripts/adapter-lengths.mjs'
step lab-up lab_versions -- tests/lab/up.sh
step lab-smoke smoke_counts -- tests/lab/smoke.sh
# The app crate is tested after the UI is built (it embeds it); the end-to-end test below
# exercises it. A real Secret Service (gnome-keyring in a private D-Bus session) for the keychain tests.
step rust-tests cargo_cluster_counts -- scripts/with-keychain.sh cargo test --workspace --exclude usine-app --locked --no-fail-fast
step ui-tests vitest_counts -- bash -c 'cd ui && npx vitest run'
# Embedded assets (not the Vite dev server): the binary the end-to-end test drives.
step app-build none -- bash -c '(cd ui && npm run build) && ui/node_modules/.bin/tauri build --debug --no-bundle'
# Never drive a stale binary left by an earlier run.
if [ "${results[-1]}" = pass ]; then
  LIMIT=900 step e2e node_counts -- env USINE_APP="$TARGET_DIR/debug/usine-app" E2E_OUT="$TARGET_DIR/e2e-out" \
    scripts/e2e.sh app.e2e.mjs
else
  names+=(e2e) results+=(FAIL) times+=("0 s") counts+=("not run: the app did not build")
fi
# The app crate's own tests (its window permissions against ARCHITECTURE.md).
# Under a display and a session bus: the idle warning's buttons are tested against a real dunst.
step app-tests cargo_counts -- scripts/with-keychain.sh xvfb-run -a cargo test -p usine-app --locked --no-fail-fast
# The .deb and .rpm (debug build: what is tested is the packaging), then the .deb installed
# with dpkg, its files checked and the installed app driven end to end, then removed.
# The test package trusts a throwaway update key made here: the install test signs "the next
# version" with it and serves it on 127.0.0.1, as a release server would. Release builds get
# the maintainers' key instead (.github/workflows/release.yml).
update_keys="$TARGET_DIR/update-test"
rm -rf "$update_keys" && mkdir -p "$update_keys"
ui/node_modules/.bin/tauri signer generate --ci -p "" -w "$update_keys/key" >/dev/null
export USINE_UPDATE_TEST_KEY="$update_keys/key" USINE_UPDATE_PUBKEY="$(cat "$update_keys/key.pub")"
export USINE_UPDATE_ENDPOINT=http://127.0.0.1:47813/latest.json
step package none -- scripts/package.sh --debug
if [ "${results[-1]}" = pass ]; then
  LIMIT=600 step install node_counts -- scripts/install-check.sh
else
  names+=(install) results+=(FAIL) times+=("0 s") counts+=("not run: no package")
fi

printf '\n=== Summary\n'
failed=0
for i in "${!names[@]}"; do
  printf '%-4s  %-11s %7s  %s\n' "${results[$i]}" "${names[$i]}" "${times[$i]}" "${counts[$i]}"
  [ "${results[$i]}" = pass ] || failed=$((failed + 1))
done
if [ "$failed" -gt 0 ]; then
  printf '\n%d of %d steps FAILED (logs in %s)\n' "$failed" "${#names[@]}" "$LOGS"
  exit 1
fi
printf '\nAll %d steps passed. Screenshot: %s\n' "${#names[@]}" "$TARGET_DIR/e2e-out/home.png"
