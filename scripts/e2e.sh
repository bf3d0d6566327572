#!/usr/bin/env bash
# Runs one end-to-end suite of tests/e2e in the real app, under Xvfb, with a private D-Bus
# session and keychain:  scripts/e2e.sh app.e2e.mjs
# If WebKit's page process crashed under WebDriver during the run, the suite runs once more,
# after saying so; any other failure stands. WebKitWebDriver drops a session whose page crashed
# and closes the app, so everything after it fails: seen once in about twenty runs of the
# install suite (the app itself reloads a crashed page: src-tauri/src/page_recovery.rs, with
# its own test). E2E_BEFORE_RETRY, if set, is run first (the install suite reinstalls its .deb).
set -uo pipefail
cd "$(dirname "$0")/.."
suite=$1
out=$(mktemp)
trap 'rm -f "$out"' EXIT
run() {
  scripts/with-keychain.sh bash -c 'cd tests/e2e && xvfb-run -a node --test --test-reporter=spec "$1"' \
    _ "$suite" 2>&1 | tee "$out"
  return "${PIPESTATUS[0]}"
}
run && exit 0
rc=$?
# A session that never started (tauri-driver could not reach WebKitWebDriver in time: seen once
# in five runs, every test failing in seconds) is retried too; any other failure stands.
if grep -q "page crash or hang" "$out"; then
  printf '\n=== WebKit'"'"'s page process crashed under WebDriver in this run (above): %s once more\n\n' "$suite"
elif grep -q 'UND_ERR_SOCKET when running "http://127.0.0.1:[0-9]*/session" with method "POST"' "$out" &&
  ! grep -q '^✔' "$out"; then
  printf '\n=== The WebDriver session never started in this run (above): %s once more\n\n' "$suite"
else
  exit "$rc"
fi
if [ -n "${E2E_BEFORE_RETRY:-}" ]; then bash -c "$E2E_BEFORE_RETRY" || exit 1; fi
run
