#!/usr/bin/env bash
# deb_package.sh - the Debian package installs and works on a fresh Debian 12:
# build the .deb with CPack from this build tree, lint it (no lintian errors),
# make a minimal bookworm root with debootstrap, install the package there as a
# user does (`apt-get install ./pinetboot_*.deb`, dependencies from the Debian
# archive) and run `pinetboot --version` (the front finding pinetboot-full in
# /usr/lib/pinetboot), `pinetboot check-config` on the shipped example,
# `man pinetboot-serve`, and `systemd-analyze verify` on the installed unit.
#
# Speed: the bookworm root is made once per cache (lib/bookworm_root.sh, about
# 90 s, most of it waiting on the mirror; test-all.sh starts it in the
# background during the build) and unpacked in a few seconds here.
set -euo pipefail
SOURCE_DIR=${SOURCE_DIR:?}
BUILD_DIR=${BUILD_DIR:?}
W=$(mktemp -d /tmp/pnb-deb.XXXXXX)
R=$W/root
cleanup() {
    if mountpoint -q "$R/proc" 2>/dev/null; then umount "$R/proc"; fi
    rm -rf "$W"
}
trap cleanup EXIT
fails=0
ok()  { echo "PASS $*"; }
bad() { echo "FAIL $*"; fails=$((fails+1)); }
t0=$(date +%s)
for tool in cpack debootstrap lintian dpkg-deb systemd-analyze; do
    command -v "$tool" >/dev/null || { echo "FAIL $tool missing (scripts/setup.sh installs it)"; exit 1; }
done

# 1. The package, from what this build tree already built (cpack runs the
#    install rules; `cmake --build build --target package` does the same after
#    building everything).
cmake --build "$BUILD_DIR" --target pinetboot pinetboot_docs >/dev/null
(cd "$W" && cpack --config "$BUILD_DIR/CPackConfig.cmake" -B "$W/pkg" >/dev/null)
DEB=$(ls "$W"/pkg/pinetboot_*.deb)
ok "built $(basename "$DEB") ($(stat -c %s "$DEB") bytes) in $(( $(date +%s) - t0 )) s"
contents=$(dpkg-deb -c "$DEB" | awk '{print $6}')
for f in ./usr/bin/pinetboot ./usr/lib/pinetboot/pinetboot-full ./usr/lib/systemd/system/pinetboot.service \
         ./usr/lib/udev/rules.d/60-pinetboot.rules ./usr/share/doc/pinetboot/examples/pinetboot.toml \
         ./usr/share/doc/pinetboot/configuration.md ./usr/share/doc/pinetboot/copyright \
         ./usr/share/man/man1/pinetboot.1.gz ./usr/share/man/man1/pinetboot-serve.1.gz \
         ./usr/share/bash-completion/completions/pinetboot ./usr/share/zsh/vendor-completions/_pinetboot; do
    grep -qxF "$f" <<<"$contents" || bad "the package lacks $f"
done

lint=$(lintian --tag-display-limit 0 "$DEB" 2>&1 | grep -v 'running with root privileges' || true)
if grep -q '^E:' <<<"$lint"; then bad "lintian errors:"$'\n'"$lint"; else ok "lintian: no errors ($(grep -c '^W:' <<<"$lint" || true) warnings)"; fi
echo "$lint"

# 2. A fresh bookworm root (minbase + man-db + systemd, apt lists fetched):
#    lib/bookworm_root.sh makes it once per cache; test-all.sh starts that in
#    the background while it compiles.
CACHE=${PINET_DEB_CACHE:-$BUILD_DIR/deb-cache}  # PINET_DEB_CACHE: a cache that outlives the build tree
t1=$(date +%s)
ROOTTAR=$("$SOURCE_DIR/tests/integration/lib/bookworm_root.sh" "$CACHE") || { bad "no bookworm root (above)"; exit 1; }
mkdir "$R"
tar -C "$R" -xzf "$ROOTTAR"
ok "a fresh bookworm root from $(basename "$ROOTTAR") in $(( $(date +%s) - t1 )) s"

# 3. Install it as a user does: apt resolves the package's dependencies from
#    the Debian archive (virtual names such as libspdlog1.10-fmt9 included).
cp "$DEB" "$R/tmp/pinetboot.deb"
cp /etc/resolv.conf "$R/etc/resolv.conf"
t2=$(date +%s)
if ! out=$(chroot "$R" apt-get update -q 2>&1); then
    bad "apt-get update in the root: $(tail -5 <<<"$out")"
elif out=$(chroot "$R" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends /tmp/pinetboot.deb 2>&1); then
    ok "apt-get install ./pinetboot.deb in the fresh root ($(grep -c '^Setting up' <<<"$out") packages set up, $(( $(date +%s) - t2 )) s)"
else
    bad "apt-get install ./pinetboot.deb: $(tail -15 <<<"$out")"
fi
mount -t proc proc "$R/proc"  # the front finds pinetboot-full through /proc/self/exe
if v=$(chroot "$R" pinetboot --version 2>&1) && grep -q '^pinetboot [0-9]' <<<"$v"; then
    ok "pinetboot --version: $v"
else
    bad "pinetboot --version: $v"
fi
# The example's own first lines say: copy it, change the interface, check it. Taken as is
# it must fail and say what to change (eth1 is a placeholder, and /var/lib/pinetboot is made
# by the unit's StateDirectory= at first start); after the two documented steps it passes.
EX=/usr/share/doc/pinetboot/examples/pinetboot.toml
if out=$(chroot "$R" pinetboot check-config "$EX" 2>&1); then
    bad "the unedited example passed check-config, placeholder interface eth1 and all"
elif grep -q "interface eth1: no such interface" <<<"$out"; then
    ok "the unedited example is refused and names the placeholder: $(grep -m1 eth1 <<<"$out")"
else
    bad "check-config on the unedited example: $out"
fi
chroot "$R" cp "$EX" /etc/pinetboot.toml
sed -i 's/^name = "eth1"/name = "lo"/' "$R/etc/pinetboot.toml"
mkdir -p "$R/var/lib/pinetboot"  # what StateDirectory=pinetboot does before ExecStartPre
if out=$(chroot "$R" pinetboot check-config /etc/pinetboot.toml 2>&1); then
    ok "the example, copied and its interface changed, passes check-config: $out"
else
    bad "check-config on the edited example: $out"
fi
page=$(chroot "$R" man -w pinetboot-serve 2>&1) || true
[ "$page" = /usr/share/man/man1/pinetboot-serve.1.gz ] && ok "man -w pinetboot-serve: $page" || bad "man -w pinetboot-serve: $page"
text=$(chroot "$R" env MANWIDTH=80 MANPAGER=cat man pinetboot-serve 2>&1) || true
if grep -qE 'pinetboot-serve +- ' <<<"$text" && grep -q -- '--interface' <<<"$text"; then
    ok "man pinetboot-serve renders ($(wc -l <<<"$text") lines)"
else
    bad "man pinetboot-serve: $(head -5 <<<"$text")"
fi
# systemd is not in the root: verify on this host, resolving the unit's paths
# (ExecStart=/usr/bin/pinetboot ...) inside the root.
unit=$R/usr/lib/systemd/system/pinetboot.service
grep -q '^ExecStart=/usr/bin/pinetboot serve' "$unit" && ok "the unit runs /usr/bin/pinetboot" || bad "the unit's ExecStart: $(grep ^ExecStart "$unit")"
if out=$(systemd-analyze verify --root="$R" /usr/lib/systemd/system/pinetboot.service 2>&1) && [ -z "$out" ]; then
    ok "systemd-analyze verify: clean"
else
    bad "systemd-analyze verify: $out"
fi

echo "deb_package: $(( $(date +%s) - t0 )) s in all"
echo "deb_package: $fails failures"
[ "$fails" = 0 ]
