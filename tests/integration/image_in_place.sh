#!/usr/bin/env bash
# image_in_place.sh - `pinetboot image add FILE --in-place` (issue #18): images with a
# FAT16 and a FAT32 boot partition are registered without extraction (no boot/ or root/
# under images/NAME, only the map the confined reader wrote); every boot file read through
# the map (`image cat`) equals what mcopy reads out of the image; the image's sha256 is the
# same after add, cat, list and remove. Refused with the reason: a changed image file,
# a compressed image, standard input, a second add under the same name, and an NFS root
# for a client of an in-place image (image_in_place_serve.sh boots clients from one).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
PINETBOOT=${PINETBOOT:?}
for p in mcopy mkfs.vfat sfdisk xz; do
    command -v "$p" >/dev/null || { echo "FAIL $p missing (scripts/setup.sh installs it)"; exit 1; }
done
W=$(mktemp -d /tmp/pnb-inplace.XXXXXX)
trap 'rm -rf "$W"' EXIT
unset PINETBOOT_STORE_URL
export PINETBOOT_STATE_DIR=$W/state
fails=0
ok()  { echo "PASS $*"; }
bad() { echo "FAIL $*"; fails=$((fails+1)); }

for bits in 16 32; do
    img=$W/pi$bits.img
    FAT_BITS=$bits bash "$HERE/lib/make_pi_image.sh" "$img" "$W/src$bits" mbr >/dev/null 2>&1 \
        || { bad "make_pi_image FAT$bits"; continue; }
    sum0=$(sha256sum < "$img")
    out=$("$PINETBOOT" image add "$img" --name "fat$bits" --in-place 2>&1)
    rc=$?
    grep -q "added image fat$bits in place: $img (mbr), [0-9]* boot files (FAT$bits) mapped" <<<"$out" \
        && [ "$rc" = 0 ] && ok "FAT$bits: added in place" || bad "FAT$bits add: rc=$rc $out"
    d=$PINETBOOT_STATE_DIR/images/fat$bits
    [ -f "$d/boot-map" ] && [ ! -e "$d/boot" ] && [ ! -e "$d/root" ] \
        && ok "FAT$bits: only image.json and the map under images/fat$bits, nothing extracted" \
        || bad "FAT$bits: images dir holds $(ls "$d")"
    # The reference: what mcopy reads from the image's first partition (1 MiB in).
    ref=$W/ref$bits; mkdir -p "$ref"
    mcopy -i "$img@@1M" -s -n ::/ "$ref/" 2>/dev/null || bad "mcopy of FAT$bits"
    total=0; same=0; differ=""
    while IFS= read -r -d '' f; do
        rel=${f#"$ref"/}
        total=$((total + 1))
        if "$PINETBOOT" image cat "fat$bits" "$rel" 2>/dev/null | cmp -s - "$f"; then
            same=$((same + 1))
        else
            differ="$differ $rel"
        fi
    done < <(find "$ref" -type f -print0)
    [ "$total" -gt 5 ] && [ "$same" = "$total" ] \
        && ok "FAT$bits: all $total boot files read through the map equal mcopy's" \
        || bad "FAT$bits: $same of $total equal; differ:$differ"
    mapped=$("$PINETBOOT" image list --json | python3 -c "import json,sys; print([i for i in json.load(sys.stdin) if i['name']=='fat$bits'][0]['layout']['boot']['files'])")
    [ "$mapped" = "$total" ] && ok "FAT$bits: the map lists every file ($mapped)" || bad "FAT$bits: map $mapped, mcopy $total"
    [ "$(sha256sum < "$img")" = "$sum0" ] && ok "FAT$bits: the image's sha256 is unchanged" \
        || bad "FAT$bits: the image changed"
done

img=$W/pi32.img
sum0=$(sha256sum < "$img")
json=$("$PINETBOOT" image list --json)
python3 - "$json" <<'PY' && ok "image list: in_place, the file as source, models from the map's config.txt" || bad "image list: $json"
import json, sys
i = [x for x in json.loads(sys.argv[1]) if x["name"] == "fat32"][0]
assert i["in_place"] is True, i
assert i["source"].endswith("/pi32.img"), i
assert "pi4" in i["models"] and "cm4" in i["models"], i["models"]
assert i["boot_layout"] == "flat", i["boot_layout"]
PY
"$PINETBOOT" image list | grep -q "^fat32 .*in place: $img" && ok "image list says 'in place'" || bad "image list text"

out=$("$PINETBOOT" image cat fat32 no/such.txt 2>&1); rc=$?
[ "$rc" != 0 ] && grep -q "no boot file no/such.txt in image fat32" <<<"$out" \
    && ok "cat of an absent file: named" || bad "cat absent: rc=$rc $out"
out=$("$PINETBOOT" image add "$img" --name fat32 --in-place 2>&1); rc=$?
[ "$rc" != 0 ] && grep -q 'image "fat32" already exists' <<<"$out" && ok "a second add under one name is refused" \
    || bad "second add: rc=$rc $out"
xz -k -T1 -0 "$img"
out=$("$PINETBOOT" image add "$img.xz" --name packed --in-place 2>&1); rc=$?
[ "$rc" != 0 ] && grep -q "xz-compressed; an image served in place must be raw" <<<"$out" \
    && [ ! -e "$PINETBOOT_STATE_DIR/images/packed" ] && ok "a compressed image is refused, nothing left" \
    || bad "xz: rc=$rc $out"
out=$("$PINETBOOT" image add - --name piped --in-place < "$img" 2>&1); rc=$?
[ "$rc" != 0 ] && grep -q "needs an image file" <<<"$out" && ok "standard input is refused" || bad "stdin: rc=$rc $out"
out=$("$PINETBOOT" image add "$img" --name plain 2>&1); rc=$?
[ "$rc" = 2 ] && grep -q "give --in-place" <<<"$out" && ok "image add without --in-place says what to use" \
    || bad "no --in-place: rc=$rc $out"
out=$("$PINETBOOT" client add --serial 4234567a --image fat32 --root shared --address 192.0.2.40 --no-apply 2>&1); rc=$?
[ "$rc" != 0 ] && grep -q 'is served in place, so its root is a partition, not a folder: use --root nbd' <<<"$out" \
    && ok "client add --root shared on an in-place image: refused, saying what to use" || bad "client add: rc=$rc $out"

# The file changes under the registration: refused, not served wrong.
cp -p "$W/pi16.img" "$W/pi16.orig"
printf 'X' | dd of="$W/pi16.img" bs=1 seek=100 conv=notrunc status=none
out=$("$PINETBOOT" image cat fat16 config.txt 2>&1); rc=$?
[ "$rc" != 0 ] && grep -q "changed since \`image add\`" <<<"$out" && grep -q "image remove fat16 and add it again" <<<"$out" \
    && ok "a changed image file is refused with the fix" || bad "changed file: rc=$rc $out"

"$PINETBOOT" image remove fat32 >/dev/null 2>&1 || bad "image remove fat32"
[ ! -e "$PINETBOOT_STATE_DIR/images/fat32" ] && [ "$(sha256sum < "$img")" = "$sum0" ] \
    && ok "image remove unregisters it; the image file is untouched" || bad "remove"

[ "$fails" = 0 ] && { echo "PASS image_in_place"; exit 0; }
echo "FAIL image_in_place ($fails failed)"; exit 1
