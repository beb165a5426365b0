#!/usr/bin/env bash
# Build and install the TimescaleDB extension (Apache-licensed part) for the
# local PostgreSQL from Debian's newer source package. Debian 12 does not
# package TimescaleDB; its next release ships the source package `timescaledb`
# (2.19.x) which supports PostgreSQL 15. Idempotent: does nothing when the
# extension is already installed.
set -euo pipefail

PG_CONFIG=${PG_CONFIG:-$(ls -d /usr/lib/postgresql/*/bin/pg_config 2>/dev/null | sort -V | tail -n 1)}
if [ -z "$PG_CONFIG" ] || [ ! -x "$PG_CONFIG" ]; then
    echo "install-timescaledb: no pg_config found under /usr/lib/postgresql/*/bin" >&2
    exit 1
fi
PG_MAJOR=$("$PG_CONFIG" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')
SHAREDIR=$("$PG_CONFIG" --sharedir)

if ls "$SHAREDIR"/extension/timescaledb.control >/dev/null 2>&1; then
    echo "install-timescaledb: already installed for PostgreSQL $PG_MAJOR ($SHAREDIR/extension/timescaledb.control)"
    exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

# Reuse the mirror URI the machine already uses for Debian (never hard-code a host).
MIRROR=""
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    MIRROR=$(awk '/^URIs:/ {print $2}' /etc/apt/sources.list.d/debian.sources | grep -v security | head -n 1)
fi
if [ -z "$MIRROR" ] && [ -f /etc/apt/sources.list ]; then
    MIRROR=$(awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' /etc/apt/sources.list)
fi
if [ -z "$MIRROR" ]; then
    echo "install-timescaledb: could not read a Debian mirror URI from the apt sources" >&2
    exit 1
fi

NEWER_SUITE=${TIMESCALEDB_SUITE:-trixie}
SRC_LIST=/etc/apt/sources.list.d/timescaledb-src.sources
if [ ! -f "$SRC_LIST" ]; then
    $SUDO tee "$SRC_LIST" >/dev/null <<SRC
Types: deb-src
URIs: $MIRROR
Suites: $NEWER_SUITE
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq "postgresql-server-dev-$PG_MAJOR" cmake build-essential dpkg-dev libssl-dev >/dev/null

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
chmod 755 "$WORK"
cd "$WORK"
apt-get source --download-only -qq timescaledb >/dev/null
dpkg-source -x --no-check ./timescaledb_*.dsc src >/dev/null
cd src
./bootstrap -DAPACHE_ONLY=ON -DREGRESS_CHECKS=OFF -DTAP_CHECKS=OFF -DWARNINGS_AS_ERRORS=OFF \
    -DPG_CONFIG="$PG_CONFIG" -DCMAKE_BUILD_TYPE=Release >/dev/null 2>&1
make -C build -j"$(nproc)" >/dev/null
$SUDO make -C build install >/dev/null
echo "install-timescaledb: installed $(ls "$SHAREDIR"/extension/timescaledb--*.sql | sort -V | tail -n 1 | xargs basename) for PostgreSQL $PG_MAJOR"
