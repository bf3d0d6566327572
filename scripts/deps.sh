#!/usr/bin/env bash
# Installs what building, running and testing Usine needs and is missing. Idempotent.
#   Debian 12 / Ubuntu 22.04+: system packages with apt (sudo when not root).
#   Everywhere: npm packages (ui/, tests/e2e/) and tauri-driver with cargo.
# Rust (rustup) and Node.js >= 20.19 must already be there; this script says so if not.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
say() { printf '[deps] %s\n' "$*"; }
die() { printf '[deps] ERROR: %s\n' "$*" >&2; exit 1; }

# Build: WebKitGTK and friends (Tauri's Linux prerequisites).
APT_BUILD=(libwebkit2gtk-4.1-dev build-essential curl wget file libxdo-dev libssl-dev
  libayatana-appindicator3-dev librsvg2-dev libgtk-3-dev pkg-config)
# Test: a virtual display, the WebKit WebDriver, screenshots, a real keychain, an ssh client,
# a real notification daemon (dunst) whose history shows what the app notified, and sudo, through
# which the updater installs a .deb when no graphical password prompt (pkexec) is there; GTK for
# Python, whose small window is the file manager files are dragged from (tests/e2e/drag-files.py).
APT_TEST=(xvfb xauth webkit2gtk-driver x11-utils xdotool imagemagick dbus gnome-keyring
  libsecret-tools openssh-client jq dunst sudo python3-gi gir1.2-gtk-3.0)

want_test=
[ "${1:-}" = --test ] && want_test=1

command -v cargo >/dev/null || die "Rust is missing: install it from https://rustup.rs, then run this again"
command -v node >/dev/null || die "Node.js is missing: install Node.js 20.19 or newer (https://nodejs.org)"
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' ||
  die "Node.js $(node --version) is too old: Vite needs 20.19 or newer"

if [ "$(uname -s)" = Linux ]; then
  if command -v apt-get >/dev/null; then
    pkgs=("${APT_BUILD[@]}")
    [ -z "$want_test" ] || pkgs+=("${APT_TEST[@]}")
    missing=()
    for p in "${pkgs[@]}"; do
      dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
      sudo=()
      [ "$(id -u)" = 0 ] || sudo=(sudo)
      say "installing ${missing[*]}"
      "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -q
      "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q \
        --no-install-recommends "${missing[@]}"
    fi
  else
    pkg-config --exists webkit2gtk-4.1 ||
      die "WebKitGTK 4.1 development files are missing; install your distribution's equivalent of: ${APT_BUILD[*]}"
  fi
fi

# npm ci is exact (lockfiles) and skips the work when node_modules already matches.
npm_ci() {
  local dir=$1
  if [ ! -f "$dir/node_modules/.package-lock.json" ] || ! cmp -s "$dir/package-lock.json" "$dir/node_modules/.usine-lock"; then
    say "npm ci in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$dir/package-lock.json" "$dir/node_modules/.usine-lock"
  fi
}
npm_ci ui
if [ -n "$want_test" ]; then
  npm_ci tests/e2e
  # tauri-driver bridges WebDriver to WebKitWebDriver; 2.x matches Tauri 2 (3.0 is an alpha).
  if ! cargo install --list | grep -qx 'tauri-driver v2.1.0:'; then
    say "cargo install tauri-driver 2.1.0"
    (cd / && cargo install tauri-driver --locked --version 2.1.0 --quiet)
  fi
fi
say "ready"
