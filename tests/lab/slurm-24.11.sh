#!/usr/bin/env bash
# Builds Slurm 24.11.5 from Debian 13's own source (the upstream tarball of slurm-wlm 24.11.5, as
# Debian serves it) into $LAB_SLURM2_PREFIX, once: the installed prefix is the cache, stamped with
# the tarball's sha256, so only a cold machine builds (10-15 min on 2 cores) and every later
# `make test` reuses it. Debian 12 ships 22.05 only; this is the lab's second, modern cluster.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

[ "$(id -u)" = 0 ] || die "run as root (installs build packages and writes $LAB_SLURM2_PREFIX)"

VERSION=24.11.5
DEBIAN_VERSION=24.11.5-4+deb13u1
TARBALL=slurm-wlm_${VERSION}.orig.tar.gz
SHA256=e1a5547edd212c38b5e3230a284133f777b32746551f094aaa81cc4af375e332
STAMP=$LAB_SLURM2_PREFIX/.usine-built-$SHA256

if [ -e "$STAMP" ] && [ -x "$LAB_SLURM2_PREFIX/sbin/slurmctld" ]; then
  log "Slurm $VERSION already built under $LAB_SLURM2_PREFIX"
  exit 0
fi

BUILD_DEPS=(build-essential pkg-config libmunge-dev default-libmysqlclient-dev libjwt-dev
  libjson-c-dev libhttp-parser-dev libyaml-dev libpam0g-dev liblz4-dev libdbus-1-dev)
missing=()
for p in "${BUILD_DEPS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing build packages: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
    --no-install-recommends "${missing[@]}" >/dev/null
fi

work=$(mktemp -d /var/tmp/usine-slurm-build.XXXXXX)
trap 'rm -rf "$work"' EXIT
# apt downloads as its own user _apt, which must be able to write there.
chmod 0755 "$work"
cd "$work"

# A private apt state with one deb-src entry for trixie, so the system's own sources stay as
# they are. The mirror is the one apt already uses.
mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
mirror=${mirror:-http://deb.debian.org/debian}
mkdir -p lists/partial
printf 'Types: deb-src\nURIs: %s\nSuites: trixie\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
  "$mirror" >trixie.sources
apt_opts=(-o "Dir::Etc::sourcelist=$work/trixie.sources" -o Dir::Etc::sourceparts=-
  -o "Dir::State::Lists=$work/lists")
log "fetching Debian's source of slurm-wlm $DEBIAN_VERSION"
apt-get "${apt_opts[@]}" update -q >/dev/null
# The Debian patch tarball of this revision may be missing from the mirror; the upstream tarball
# is all that is built, so a partial download is fine as long as it arrived.
apt-get "${apt_opts[@]}" source --download-only "slurm-wlm=$DEBIAN_VERSION" >/dev/null 2>&1 || true
[ -s "$TARBALL" ] || die "could not download $TARBALL from $mirror (trixie deb-src)"
echo "$SHA256  $TARBALL" | sha256sum -c --quiet - || die "$TARBALL does not have the expected sha256"

tar xzf "$TARBALL"
cd slurm-slurm-24-11-5-1
log "configuring Slurm $VERSION for $LAB_SLURM2_PREFIX"
./configure -q --prefix="$LAB_SLURM2_PREFIX" --sysconfdir="$LAB_SLURM2_PREFIX/etc" \
  --with-munge --with-jwt --with-json --with-http-parser --with-yaml --enable-pam \
  --without-hdf5 --without-rdkafka --without-pmix --disable-gtktest --disable-static \
  >"$work/configure.log" 2>&1 || { tail -40 "$work/configure.log"; die "configure failed"; }
log "building Slurm $VERSION (10-15 min on 2 cores)"
make -j"$(nproc)" >"$work/make.log" 2>&1 || { tail -60 "$work/make.log"; die "make failed"; }
rm -rf "$LAB_SLURM2_PREFIX"
make install >"$work/install.log" 2>&1 || { tail -40 "$work/install.log"; die "make install failed"; }
touch "$STAMP"
log "Slurm $("$LAB_SLURM2_PREFIX/sbin/slurmctld" -V) installed under $LAB_SLURM2_PREFIX"
