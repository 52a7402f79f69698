#!/usr/bin/env bash
# setup.sh - install every Debian 12 package pinetboot needs to build, test and
# run its demo. Idempotent and non-interactive; must run as root.
#
# Service safety: some test peers (atftpd, rpcbind, nfs-ganesha) ship daemons
# that a systemd host would start on every interface right after install. We
# install dnsmasq-base (binary only) and, while apt runs, a deny-all
# policy-rc.d unless one already exists.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "setup.sh: must run as root" >&2; exit 1; }

BUILD_PKGS=(build-essential cmake ninja-build pkg-config ccache git
    clang-14 libclang-rt-14-dev clang-format clang-tidy
    libasio-dev libcli11-dev libspdlog-dev libfmt-dev libtomlplusplus-dev
    nlohmann-json3-dev libexpected-dev libcpp-httplib-dev libsqlite3-dev
    libssl-dev libusb-1.0-0-dev libext2fs-dev comerr-dev liblzma-dev zlib1g-dev libzip-dev libseccomp-dev liburing-dev
    libpq-dev
    libgtest-dev libgmock-dev libbenchmark-dev)
TEST_PKGS=(iproute2 iputils-ping procps openssl xxd python3 bc time
    dnsmasq-base isc-dhcp-client busybox dhcpcd5 python3-scapy
    tftp-hpa atftp atftpd curl
    qemu-system-x86 ipxe-qemu
    nfs-ganesha nfs-ganesha-vfs rpcbind libnfs-utils
    qemu-utils libnbd-bin python3-libnbd zstd gzip
    dosfstools mtools fdisk e2fsprogs xz-utils zip bzip2 attr libcap2-bin
    umockdev kea-admin kea-dhcp4-server systemd
    debootstrap lintian dpkg-dev man-db zsh
    chromium fonts-dejavu-core
    postgresql-15)

want=()
for p in "${BUILD_PKGS[@]}" "${TEST_PKGS[@]}"; do
    # dpkg-query complains about a package it never heard of: that is the "not installed" case.
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || want+=("$p")
done
if [ ${#want[@]} -gt 0 ]; then
    made_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        made_policy=1
    fi
    trap '[ $made_policy = 1 ] && rm -f /usr/sbin/policy-rc.d' EXIT
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends "${want[@]}"
fi

# tftpd-hpa's server conflicts with atftpd (both ship /usr/sbin/in.tftpd):
# unpack it privately for the benchmark instead of installing it.
if [ ! -x /opt/pinetboot-peers/tftpd-hpa/usr/sbin/in.tftpd ]; then
    mkdir -p /opt/pinetboot-peers
    (cd /opt/pinetboot-peers && apt-get download tftpd-hpa >/dev/null && dpkg-deb -x tftpd-hpa_*.deb tftpd-hpa && rm -f tftpd-hpa_*.deb)
fi
# The guest of tests/integration/nbd_qemu_boot.sh (a QEMU boot with an NBD root): Debian's
# kernel, nbd-client and a static busybox, unpacked privately. Installing them is not
# wanted: linux-image pulls initramfs-tools and upgrades into this machine, and
# busybox-static conflicts with busybox (installed above).
kernels=(/opt/pinetboot-peers/linux-image/boot/vmlinuz-*)  # the pattern itself when none is there
if [ ! -f "${kernels[0]}" ]; then
    kpkg=$(apt-cache depends linux-image-amd64 | awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ {print $2; exit}')
    [ -n "$kpkg" ] || { echo "setup.sh: apt-cache names no kernel package behind linux-image-amd64" >&2; exit 1; }
    mkdir -p /opt/pinetboot-peers
    rm -rf /opt/pinetboot-peers/linux-image
    (cd /opt/pinetboot-peers && apt-get download "$kpkg" >/dev/null && dpkg-deb -x "$kpkg"_*.deb linux-image && rm -f "$kpkg"_*.deb)
fi
# nbd-client links libnl-genl-3, which nothing on this machine installs: unpacked beside it.
if [ ! -x /opt/pinetboot-peers/nbd-client/sbin/nbd-client ] || ! [ -e /opt/pinetboot-peers/nbd-client/lib/x86_64-linux-gnu/libnl-genl-3.so.200 ]; then
    mkdir -p /opt/pinetboot-peers
    rm -rf /opt/pinetboot-peers/nbd-client
    (cd /opt/pinetboot-peers && apt-get download nbd-client libnl-genl-3-200 >/dev/null \
        && dpkg-deb -x nbd-client_*.deb nbd-client && dpkg-deb -x libnl-genl-3-200_*.deb nbd-client \
        && rm -f nbd-client_*.deb libnl-genl-3-200_*.deb)
fi
if [ ! -x /opt/pinetboot-peers/busybox-static/bin/busybox ]; then
    mkdir -p /opt/pinetboot-peers
    (cd /opt/pinetboot-peers && apt-get download busybox-static >/dev/null && dpkg-deb -x busybox-static_*.deb busybox-static && rm -f busybox-static_*.deb)
fi
# Browser tests (tests/web, run by tests/integration/web_dashboard.sh): npm's
# playwright-core, pinned by tests/web/package-lock.json, drives Debian's
# /usr/bin/chromium (installed above). It must never download a browser of its own.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "setup.sh: node and npm are missing: install Node.js 20 or newer with npm (the browser tests in tests/web need them), then run setup.sh again" >&2
    exit 1
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
    echo "setup.sh: node $(node --version) is too old: playwright-core needs Node.js 20 or newer" >&2
    exit 1
fi
web_dir=$(cd "$(dirname "$0")/.." && pwd)/tests/web
if ! (cd "$web_dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error); then
    echo "setup.sh: npm ci in $web_dir failed (is the npm registry reachable?)" >&2
    exit 1
fi
echo "setup.sh: all packages present"
