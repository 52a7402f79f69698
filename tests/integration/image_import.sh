#!/usr/bin/env bash
# image_import.sh - pinetboot image import on realistic MBR and GPT images
# (built by lib/make_pi_image.sh with sfdisk, mkfs.vfat, mtools, mke2fs -d),
# plain and xz-compressed: the boot tree must equal the FAT contents byte for
# byte and the root tree must equal the mke2fs source tree in type, mode,
# owner, size, mtime, symlink targets, device numbers, hard-link groups,
# xattrs and file capabilities. Also image list/remove.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/tree_compare.sh"
PINETBOOT=${PINETBOOT:?}
W=$(mktemp -d /tmp/pnb-image-import.XXXXXX)
trap 'rm -rf "$W"' EXIT
export PINETBOOT_STATE_DIR=$W/state
fails=0
ok()  { echo "PASS $*"; }
bad() { echo "FAIL $*"; fails=$((fails+1)); }

for label in mbr gpt; do
    mkdir -p "$W/$label"
    bash "$HERE/lib/make_pi_image.sh" "$W/$label/pi.img" "$W/$label" "$label" 2>/dev/null
    out=$("$PINETBOOT" image import "$W/$label/pi.img" --name "os-$label" 2>&1) || { bad "import $label: $out"; continue; }
    echo "$out"
    grep -q "$label table" <<< "$out" && ok "$label table recognised" || bad "$label: $out"
    img=$W/state/images/os-$label
    # boot: same names, same bytes
    if diff <(cd "$W/$label/bootsrc" && find . | sort) <(cd "$img/boot" && find . | sort) >/dev/null &&
       (cd "$W/$label/bootsrc" && find . -type f -exec cmp {} "$img/boot/{}" \;) ; then
        ok "$label boot tree equals the FAT partition (incl. long file name)"
    else bad "$label boot tree differs"; fi
    tc_same "$W/$label/rootsrc" "$img/root" && ok "$label root tree equals the ext4 source" || bad "$label root tree"
    [ "$(stat -c %y "$img/root/usr/share/doc/x/README")" = "2001-09-09 01:46:40.123456789 +0000" ] \
        && ok "$label nanosecond mtime kept" || bad "$label ns mtime: $(stat -c %y "$img/root/usr/share/doc/x/README")"
    [ "$(stat -c %a "$img/root/usr/bin/sudo")" = 4755 ] && ok "$label setuid kept" || bad "$label setuid"
    getcap "$img/root/usr/bin/ping" | grep -q cap_net_raw && ok "$label file capability kept" || bad "$label caps"
    [ "$(stat -c %h "$img/root/usr/bin/busybox")" = 3 ] && ok "$label hard links kept (3 names)" || bad "$label hardlinks"
    [ "$(stat -c '%t:%T %F' "$img/root/dev/null")" = "1:3 character special file" ] && ok "$label /dev/null node" || bad "$label dev"
    # sparse file stays sparse
    [ "$(du -k "$img/root/var/log/sparse.img" | cut -f1)" -lt 1024 ] && ok "$label sparse file stays sparse" || bad "$label sparse"
    grep -q "\"root_partuuid\"" "$img/image.json" && ok "$label image.json written" || bad "$label image.json"
done

# GPT PARTUUIDs come from the table
out=$("$PINETBOOT" image list --json)
exp=$(sfdisk --part-uuid "$W/gpt/pi.img" 2 | tr 'A-Z' 'a-z')
grep -q "\"root_partuuid\": \"$exp\"" <<< "$out" && ok "GPT root PARTUUID $exp reported" || bad "GPT partuuid: $out"
grep -q '"root_partuuid": "1234abcd-02"' <<< "$out" && ok "MBR root PARTUUID 1234abcd-02 reported" || bad "MBR partuuid"

# xz-compressed image
xz -T2 -1 -k -c "$W/mbr/pi.img" > "$W/pi.img.xz"
out=$("$PINETBOOT" image import "$W/pi.img.xz" --name os-xz 2>&1) && ok "xz import: $out" || bad "xz import: $out"
tc_same "$W/mbr/rootsrc" "$W/state/images/os-xz/root" && ok "xz root tree equals the source" || bad "xz root tree"
[ ! -e "$W/state/images/os-xz/disk.img" ] && ok "decompressed temp image removed" || bad "disk.img left behind"

# name clash, list, remove
out=$("$PINETBOOT" image import "$W/mbr/pi.img" --name os-mbr 2>&1) && bad "re-import succeeded" \
    || { grep -q "already exists" <<< "$out" && ok "re-import under the same name refused: $out" || bad "clash: $out"; }
"$PINETBOOT" image list | grep -q "^os-gpt" && ok "image list shows os-gpt" || bad "image list"
"$PINETBOOT" image remove os-gpt >/dev/null && [ ! -e "$W/state/images/os-gpt" ] && ok "image remove" || bad "image remove"
[ -z "$(ls -A "$W/state/images" | grep '^\.')" ] && ok "no temporary folders left" || bad "leftovers: $(ls -A "$W/state/images")"

[ $fails = 0 ] && { echo "PASS image_import"; exit 0; }
echo "FAIL image_import ($fails)"; exit 1
