#!/usr/bin/env bash
# bookworm_root.sh CACHE_DIR - make (once) a minimal Debian 12 root as a tar in
# CACHE_DIR, for the package test (deb_package.sh): debootstrap minbase plus
# man-db and systemd, with apt's package lists fetched, so that the test
# installs the .deb the way a user does (`apt-get install ./pinetboot_*.deb`,
# which pulls the package's own dependencies).
#
# Why a separate step: debootstrap spends ~90 s mostly waiting on the mirror and
# on dpkg's fsyncs, so test-all.sh starts it in the background while it
# compiles (CI has 2 cores and a cold cache); the test makes the root itself
# when it finds none. Prints the tar's path. The root depends on nothing
# built here, so its key is only the package list and this script's version.
set -euo pipefail
CACHE=${1:?usage: bookworm_root.sh CACHE_DIR}
INCLUDE=man-db,systemd
KEY=$(printf '%s v2\n' "$INCLUDE" | sha256sum | cut -c1-16)
TAR=$CACHE/bookworm-root-$KEY.tar.gz
if [ -s "$TAR" ]; then
    echo "$TAR"
    exit 0
fi
command -v debootstrap >/dev/null || { echo "bookworm_root.sh: debootstrap missing (scripts/setup.sh installs it)" >&2; exit 1; }
mkdir -p "$CACHE"
WORK=$(mktemp -d "$CACHE/root.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
R=$WORK/root
t0=$(date +%s)
if ! debootstrap --variant=minbase --include="$INCLUDE" bookworm "$R" >"$WORK/debootstrap.log" 2>&1; then
    tail -20 "$WORK/debootstrap.log" >&2
    echo "bookworm_root.sh: debootstrap failed (log above)" >&2
    exit 1
fi
# The lists apt needs to resolve the package's dependencies (the test refreshes
# them again, cheaply, in case the cached root is old).
cp /etc/resolv.conf "$R/etc/resolv.conf"
if ! chroot "$R" apt-get update -q >"$WORK/apt.log" 2>&1; then
    tail -20 "$WORK/apt.log" >&2
    echo "bookworm_root.sh: apt-get update in the root failed (log above)" >&2
    exit 1
fi
tar -C "$R" -I "gzip -1" -cf "$TAR.part" .
mv "$TAR.part" "$TAR"
echo "bookworm_root.sh: made $TAR in $(( $(date +%s) - t0 )) s" >&2
echo "$TAR"
