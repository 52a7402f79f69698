#!/usr/bin/env bash
# image_sources.sh - pinetboot image import from every source a user has
# (issue #15): an SD card (a block device: here a loop device over the image),
# .img.gz, .zip (as Raspberry Pi images ship), and - (stdin, raw and
# compressed). Each import must equal a plain import of the same image:
# boot tree byte for byte, root tree in type, mode, owner, size, mtime,
# links, devices, xattrs and capabilities, and the same partition UUIDs.
# The format comes from the bytes, not the name. A loop device is required:
# if losetup cannot attach one, the test FAILS with the reason (it is not
# skipped, or the block-device path would go untested without anyone noticing).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/tree_compare.sh"
PINETBOOT=${PINETBOOT:?}
W=$(mktemp -d /tmp/pnb-image-sources.XXXXXX)
LOOP=""
cleanup() {
    [ -n "$LOOP" ] && losetup -d "$LOOP"
    rm -rf "$W"
}
trap cleanup EXIT
export PINETBOOT_STATE_DIR=$W/state
fails=0
ok()  { echo "PASS $*"; }
bad() { echo "FAIL $*"; fails=$((fails+1)); }

[ "$(id -u)" = 0 ] || { echo "FAIL image_sources: needs root (losetup, and image import writes root-owned trees)"; exit 1; }

bash "$HERE/lib/make_pi_image.sh" "$W/pi.img" "$W" mbr 2>/dev/null
out=$("$PINETBOOT" image import "$W/pi.img" --name plain 2>&1) || { echo "FAIL plain import: $out"; exit 1; }
REF=$W/state/images/plain
json_field() { sed -n "s/.*\"$2\": \"\\([^\"]*\\)\".*/\\1/p" "$W/state/images/$1/image.json"; }

same_as_plain() {  # same_as_plain NAME WHAT
    local img=$W/state/images/$1
    if [ ! -d "$img" ]; then bad "$2: images/$1 missing"; return; fi
    if diff <(cd "$REF/boot" && find . | sort) <(cd "$img/boot" && find . | sort) >/dev/null &&
       (cd "$REF/boot" && find . -type f -exec cmp {} "$img/boot/{}" \;); then
        ok "$2: boot tree equals the plain import"
    else bad "$2: boot tree differs"; fi
    tc_same "$REF/root" "$img/root" && ok "$2: root tree equals the plain import" || bad "$2: root tree"
    for k in disk_id boot_partuuid root_partuuid; do
        [ "$(json_field "$1" $k)" = "$(json_field plain $k)" ] || bad "$2: $k $(json_field "$1" $k) != $(json_field plain $k)"
    done
    [ -z "$(find "$img" -maxdepth 1 -name '*.img')" ] && ok "$2: no temporary image left in images/$1" \
        || bad "$2: left $(find "$img" -maxdepth 1 -name '*.img')"
}

# --- a block device (st_size is 0 for it: the size must come from BLKGETSIZE64)
if ! LOOP=$(losetup --find --show --read-only "$W/pi.img" 2>"$W/losetup.err"); then
    LOOP=""
    bad "block device: losetup cannot attach a loop device here: $(cat "$W/losetup.err") (needs root and /dev/loop-control; in a container: --privileged or a loop device passed in)"
else
    [ "$(stat -c %s "$LOOP")" = 0 ] && ok "block device $LOOP has st_size 0 (the trap)" || echo "note: $LOOP st_size $(stat -c %s "$LOOP")"
    out=$("$PINETBOOT" image import "$LOOP" --name sdcard 2>&1) && ok "block device import: $out" || bad "block device import: $out"
    same_as_plain sdcard "block device"
    losetup -d "$LOOP"; LOOP=""
fi

# --- .img.gz; and the same bytes under a misleading name (detected by content)
gzip -1 -c "$W/pi.img" > "$W/pi.img.gz"
out=$("$PINETBOOT" image import "$W/pi.img.gz" --name gz 2>&1) && ok "gzip import: $out" || bad "gzip import: $out"
same_as_plain gz ".img.gz"
cp "$W/pi.img.gz" "$W/looks-raw.img"
out=$("$PINETBOOT" image import "$W/looks-raw.img" --name gz-named-img 2>&1) && ok "gzip named .img imported by content" || bad "gzip named .img: $out"
same_as_plain gz-named-img "gzip named .img"

# gzip's size field is modulo 2^32, so the bound is the partition table: a
# stream that goes on past the last partition (here 40 MiB of junk appended
# to the image) imports, and the junk is not what the import is made of.
{ cat "$W/pi.img"; head -c 40M /dev/urandom; } | gzip -1 > "$W/tail.img.gz"
out=$("$PINETBOOT" image import "$W/tail.img.gz" --name gz-tail 2>&1) && ok "gzip with data past the last partition: imported" || bad "gzip tail: $out"
same_as_plain gz-tail "gzip with a tail"
# ...and is still decoded to its end: a corrupt CRC32 there fails the import.
python3 - "$W/tail.img.gz" "$W/badcrc.img.gz" <<'EOF'
import sys
b = bytearray(open(sys.argv[1], 'rb').read()); b[-8] ^= 1; open(sys.argv[2], 'wb').write(b)
EOF
out=$("$PINETBOOT" image import "$W/badcrc.img.gz" --name gz-bad 2>&1) && bad "corrupt gzip CRC accepted" \
    || { grep -q "corrupt" <<< "$out" && ok "corrupt gzip CRC refused: $out" || bad "bad crc: $out"; }
[ ! -e "$W/state/images/gz-bad" ] && ok "failed gzip import left nothing" || bad "gz-bad left behind"

# --- .zip (one .img and a README, as the Raspberry Pi downloads did)
echo "flash me" > "$W/README.txt"
(cd "$W" && zip -q -1 pi.zip pi.img README.txt)
out=$("$PINETBOOT" image import "$W/pi.zip" --name zip 2>&1) && ok "zip import: $out" || bad "zip import: $out"
same_as_plain zip ".zip"
cp "$W/pi.img" "$W/second.img"
(cd "$W" && zip -q -0 two.zip pi.img second.img)
out=$("$PINETBOOT" image import "$W/two.zip" --name zip2 2>&1) && bad "zip with two images accepted" \
    || { grep -q "holds 2 images" <<< "$out" && ok "zip with two images refused: $out" || bad "two images: $out"; }
(cd "$W" && zip -q -0 -P secret enc.zip pi.img)
out=$("$PINETBOOT" image import "$W/enc.zip" --name zipenc 2>&1) && bad "encrypted zip accepted" \
    || { grep -q "encrypted" <<< "$out" && ok "encrypted zip refused: $out" || bad "encrypted: $out"; }

# --- stdin, raw and compressed, and the --max-size bound
out=$("$PINETBOOT" image import - --name stdin < "$W/pi.img" 2>&1) && ok "stdin (raw) import" || bad "stdin raw: $out"
same_as_plain stdin "stdin raw"
out=$(cat "$W/pi.img.gz" | "$PINETBOOT" image import - --name stdin-gz 2>&1) && ok "stdin (gzip, a pipe) import" || bad "stdin gz: $out"
same_as_plain stdin-gz "stdin gzip"
grep -q '"source": "-"' "$W/state/images/stdin/image.json" && ok "stdin source recorded as -" || bad "stdin source"
out=$("$PINETBOOT" image import - --name stdin-big --max-size 10M < "$W/pi.img" 2>&1) && bad "stdin over --max-size accepted" \
    || { grep <<<"$out" -q -- "--max-size" && ok "stdin over --max-size refused: $out" || bad "max-size: $out"; }
out=$("$PINETBOOT" image import "$W/pi.img.gz" --name gz-big --max-size 20M 2>&1) && bad "gzip over --max-size accepted" \
    || { grep <<<"$out" -q -- "--max-size" && ok "gzip over --max-size refused: $out" || bad "gz max-size: $out"; }
bzip2 -1 -c "$W/pi.img" > "$W/pi.img.bz2"
out=$("$PINETBOOT" image import "$W/pi.img.bz2" --name bz 2>&1) && bad "bzip2 accepted?" \
    || { grep -q "bzip2 -d" <<< "$out" && ok "bzip2 refused with what to do: $out" || bad "bzip2: $out"; }

[ -z "$(ls -A "$W/state/images" | grep '^\.')" ] && ok "no temporary folders left" || bad "leftovers: $(ls -A "$W/state/images")"

[ $fails = 0 ] && { echo "PASS image_sources"; exit 0; }
echo "FAIL image_sources ($fails)"; exit 1
