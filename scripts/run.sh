#!/usr/bin/env bash
# Installs what is missing, builds the app with its UI embedded, and starts it. With no cluster
# configured the app works on "This computer".
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
scripts/deps.sh
if [ "$(uname -s)" = Linux ] && [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "[run] No display to open a window on. Run this from a desktop session, or under a virtual" >&2
  echo "[run] display: xvfb-run -a make run" >&2
  exit 1
fi
(cd ui && npm run build --silent)
# The Tauri CLI looks for src-tauri/ below the folder it starts in: run it from the root.
ui/node_modules/.bin/tauri build --debug --no-bundle
exec "${CARGO_TARGET_DIR:-$ROOT/target}/debug/usine-app"
