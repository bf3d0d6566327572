#!/usr/bin/env bash
# Builds Usine's Linux packages, .deb and .rpm: the app with its UI, the `usine` CLI next to it
# in /usr/bin, the desktop entry (Science) and the .sbatch file type opened by Usine.
#   scripts/package.sh           release build (what users get)
#   scripts/package.sh --debug   quick build, for CI's install test
# Signed updates are on when the environment names the update key: see scripts/update-config.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
profile=release
flags=()
if [ "${1:-}" = "--debug" ]; then
  profile=debug
  flags=(--debug)
fi
target_dir="${CARGO_TARGET_DIR:-$PWD/target}"

(cd ui && npm run build)
if [ "$profile" = release ]; then cargo build -p usine-cli --release; else cargo build -p usine-cli; fi
cli="$target_dir/$profile/usine"
[ -x "$cli" ] || { echo "the CLI was not built at $cli" >&2; exit 1; }

# The CLI's path depends on the build, so it joins the bundle through a config overlay
# (merged into src-tauri/tauri.conf.json by the Tauri CLI).
overlay="$(mktemp --suffix=.json)"
trap 'rm -f "$overlay"' EXIT
cat >"$overlay" <<JSON
{ "bundle": { "linux": {
  "deb": { "files": { "/usr/bin/usine": "$cli" } },
  "rpm": { "files": { "/usr/bin/usine": "$cli" } }
} } }
JSON
updates="$(scripts/update-config.sh)"
ui/node_modules/.bin/tauri build "${flags[@]}" --bundles deb rpm --config "$overlay" --config "$updates"
ls -l "$target_dir/$profile/bundle/deb/"*.deb "$target_dir/$profile/bundle/rpm/"*.rpm
