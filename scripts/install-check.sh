#!/usr/bin/env bash
# Installs the .deb that scripts/package.sh built, checks what it put on the system, runs the
# installed app's end-to-end test (a double-clicked .sbatch file, a second launch), and removes
# the package again, also when something failed. Root (dpkg).
#   scripts/install-check.sh [--release]   (default: the --debug package)
set -euo pipefail
cd "$(dirname "$0")/.."
profile=debug
[ "${1:-}" = "--release" ] && profile=release
deb=$(ls "${CARGO_TARGET_DIR:-$PWD/target}/$profile/bundle/deb/"Usine_*.deb | tail -n 1)

if dpkg -s usine >/dev/null 2>&1; then
  echo "A Usine package is already installed; remove it first (dpkg -r usine)." >&2
  exit 1
fi
dpkg -i "$deb"
trap 'dpkg -r usine >/dev/null && echo "package removed"' EXIT

check() { if "${@:2}"; then echo "ok    $1"; else echo "FAIL  $1" >&2; exit 1; fi; }
check "the app is installed in /usr/bin" test -x /usr/bin/usine-app
check "the CLI is installed next to it" /usr/bin/usine --version
desktop=/usr/share/applications/Usine.desktop
check "the desktop entry is a Science app" grep -qx 'Categories=Science;Education;' "$desktop"
check "the desktop entry opens .sbatch files, passing the file" \
  grep -qx 'Exec=usine-app %f' "$desktop"
check "the desktop entry lists the Slurm script type" grep -qx 'MimeType=text/x-slurm-batch;' "$desktop"
check "the icon is installed" test -s /usr/share/icons/hicolor/128x128/apps/usine-app.png
# dpkg's trigger ran update-mime-database: the desktop now knows *.sbatch.
check "*.sbatch files are known as Slurm scripts" \
  grep -q 'pattern="\*.sbatch"' /usr/share/mime/packages/usine-sbatch.xml
check "the shared MIME database maps *.sbatch" grep -q 'text/x-slurm-batch' /usr/share/mime/globs2

echo "installed size: $(dpkg-query -W -f='${Installed-Size}' usine) KiB; package: $(du -k "$deb" | cut -f1) KiB"
# A rerun after a WebKit crash (scripts/e2e.sh) starts again from the package as built: the
# update test may have installed its next version already.
USINE_APP=/usr/bin/usine-app USINE_DEB="$deb" E2E_OUT="${CARGO_TARGET_DIR:-$PWD/target}/e2e-out" \
  E2E_BEFORE_RETRY="dpkg -r usine >/dev/null && dpkg -i '$deb' >/dev/null" scripts/e2e.sh installed.e2e.mjs
