#!/usr/bin/env bash
# Runs a command inside a private D-Bus session with an unlocked GNOME Keyring, so tests use a
# real Secret Service keychain; its files live in a temporary folder removed afterwards.
set -euo pipefail
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -m 0700 "$tmp/runtime" "$tmp/data"
export XDG_RUNTIME_DIR=$tmp/runtime XDG_DATA_HOME=$tmp/data
exec dbus-run-session -- sh -c '
  printf usine-test-keyring | gnome-keyring-daemon --unlock --components=secrets >/dev/null
  exec "$@"' sh "$@"
