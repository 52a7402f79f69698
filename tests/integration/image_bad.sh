#!/usr/bin/env bash
# image_bad.sh - images pinetboot cannot read are refused with the reason and
# leave nothing in the state directory: a truncated image, an unknown root
# partition type, a corrupt ext4 superblock, an xz stream cut short, a file
# that is no disk image at all, and a GPT whose header CRC is wrong.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
PINETBOOT=${PINETBOOT:?}
W=$(mktemp -d /tmp/pnb-image-bad.XXXXXX)
trap 'rm -rf "$W"' EXIT
S=$W/state
fails=0
ok()  { echo "PASS $*"; }
bad() { echo "FAIL $*"; fails=$((fails+1)); }

bash "$HERE/lib/make_pi_image.sh" "$W/pi.img" "$W" mbr 2>/dev/null
mkdir -p "$W/g"; bash "$HERE/lib/make_pi_image.sh" "$W/gpt.img" "$W/g" gpt 2>/dev/null
ROOT_OFF=$(( $(sfdisk -J "$W/pi.img" | python3 -c 'import json,sys; print(json.load(sys.stdin)["partitiontable"]["partitions"][1]["start"])') * 512 ))

head -c 100M "$W/pi.img" > "$W/truncated.img"
cp --sparse=always "$W/pi.img" "$W/ntfs.img"; sfdisk -q --part-type "$W/ntfs.img" 2 7
cp --sparse=always "$W/pi.img" "$W/badsb.img"
dd if=/dev/zero of="$W/badsb.img" bs=1 seek=$((ROOT_OFF + 1024)) count=1024 conv=notrunc status=none
xz -T2 -1 -k -c "$W/pi.img" > "$W/full.img.xz"
head -c $(( $(stat -c %s "$W/full.img.xz") / 2 )) "$W/full.img.xz" > "$W/cut.img.xz"
head -c 1M /dev/urandom > "$W/random.img"
cp --sparse=always "$W/gpt.img" "$W/badcrc.img"
printf '\xff' | dd of="$W/badcrc.img" bs=1 seek=$((512 + 40)) conv=notrunc status=none  # first usable LBA

check() {  # file expected-reason-regex
    local name out rc=0
    name=bad-$(basename "$1" | tr '.' '-')
    out=$("$PINETBOOT" image import "$1" --name "$name" --state-dir "$S" 2>&1) || rc=$?
    if [ $rc = 0 ]; then bad "$(basename "$1") was accepted"; return; fi
    if ! echo "$out" | grep -Eq "$2"; then bad "$(basename "$1"): message '$out' lacks /$2/"; return; fi
    if [ "$(echo "$out" | wc -l)" -gt 2 ]; then bad "$(basename "$1"): message is not short: $out"; return; fi
    if [ -n "$(ls -A "$S/images" 2>/dev/null)" ]; then bad "$(basename "$1") left: $(ls -A "$S/images")"; return; fi
    ok "$(basename "$1") refused (rc $rc): $out"
}
check "$W/truncated.img" "extends past the end.*truncated"
check "$W/ntfs.img"      "no Linux root partition.*0x07"
check "$W/badsb.img"     "root partition.*not a readable ext2/3/4 file system"
check "$W/cut.img.xz"    "xz stream ends early|truncated"
check "$W/random.img"    "no partition table"
check "$W/badcrc.img"    "GPT header CRC32 mismatch"
check "$W/does-not-exist.img" "cannot open"

[ $fails = 0 ] && { echo "PASS image_bad"; exit 0; }
echo "FAIL image_bad ($fails)"; exit 1
