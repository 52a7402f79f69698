#!/usr/bin/env bash
# image_in_place_serve.sh - boards booting from an image served in place (issue #18): an
# image registered with `image add --in-place` (FAT32 and FAT16 boot partitions), clients
# added with `--root nbd` (a copy-on-write view of the whole image per board) and
# `--root nbd-image` (a copy). `serve` in a private lab serves each board's files over
# TFTP straight out of the image: every file equals what mcopy reads from the image,
# except the board's own cmdline.txt (root=/dev/nbd0p2 nbdroot=...), the only file in its
# boot folder. Over NBD, a board reads the whole image through its export, writes, and
# keeps its writes across export restarts; `client reset` drops them. A kernel upgrade
# on the board (a new kernel8.img written into the FAT partition of its disk) is what the
# next TFTP fetch returns; the other board still gets the image's. The image's sha256 is the same after clients, boots, writes, resets
# and removals. Refused, with nothing half made: an NFS root on an in-place image, an
# image whose root partition is not ext4, removing an image boards use.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/dhcp_lab.sh"
PINETBOOT=${PINETBOOT:?}
PY=/usr/bin/python3  # the Debian python3-libnbd module lives in its dist-packages
TOOL="$PY $HERE/lib/nbd_tool.py"
for p in qemu-nbd qemu-img mcopy mkfs.vfat sfdisk curl; do
    command -v "$p" >/dev/null || { echo "FAIL $p missing (scripts/setup.sh installs it)"; exit 1; }
done
$PY -c 'import nbd' 2>/dev/null || { echo "FAIL python3-libnbd missing (scripts/setup.sh)"; exit 1; }

lab_up inplace
S=$W/state
export PINETBOOT_STATE_DIR=$S
unset PINETBOOT_STORE_URL
in_cli() { ip netns exec "$CLI" "$@"; }
in_srv() { ip netns exec "$SRV" "$@"; }
A=aaaa0001; B=bbbb0002; C=cccc0003
A_IP=$CLI_IP; B_IP=$NET.3
ip -n "$CLI" addr add "$B_IP/24" dev c0

img=$W/pi32.img
bash "$HERE/lib/make_pi_image.sh" "$img" "$W/src32" mbr >/dev/null 2>&1 || { bad "make_pi_image"; finish image_in_place_serve; }
FAT_BITS=16 bash "$HERE/lib/make_pi_image.sh" "$W/pi16.img" "$W/src16" mbr >/dev/null 2>&1 || bad "make_pi_image FAT16"
sum0=$(sha256sum < "$img" | cut -d' ' -f1)
sum16=$(sha256sum < "$W/pi16.img" | cut -d' ' -f1)
"$PINETBOOT" image add "$img" --name os --in-place >/dev/null || bad "image add os"
"$PINETBOOT" image add "$W/pi16.img" --name os16 --in-place >/dev/null || bad "image add os16"
[ "$(jq -r '.root_partition, .root_fs' "$S/images/os/image.json" | tr '\n' ' ')" = "2 ext4 " ] \
    && ok "image.json: root partition 2, ext4 (checked by the confined reader)" \
    || bad "image.json root: $(jq -c . "$S/images/os/image.json")"

# ---- refused: an NFS root (no extracted root); nothing made
out=$("$PINETBOOT" client add --serial 4234567a --image os --root overlay --address "$NET.9" \
      --server-ip "$SRV_IP" --nfs-backend none --no-apply 2>&1); rc=$?
[ $rc != 0 ] && grep -q 'is served in place, so its root is a partition, not a folder: use --root nbd' <<<"$out" \
    && [ ! -e "$S/tftp/4234567a" ] && [ ! -e "$S/roots/4234567a" ] \
    && ok "an NFS root on an in-place image: refused, saying what to use, nothing made" || bad "nfs root: rc=$rc $out"

# ---- clients
out=$("$PINETBOOT" client add --serial $A --image os --root nbd --address "$A_IP" --model cm4 \
      --server-ip "$SRV_IP" --nfs-backend none --no-apply 2>&1) || bad "client add A: $out"
echo "$out"
out=$("$PINETBOOT" client add --serial $B --image os16 --root nbd --address "$B_IP" --no-apply 2>&1) \
    || bad "client add B: $out"
PA=$(cat "$S/roots/$A/port"); PB=$(cat "$S/roots/$B/port")
[ "$(cd "$S/tftp/$A" && find . -type f | sort | tr '\n' ' ')" = "./cmdline.txt " ] \
    && ok "A's boot folder holds only its cmdline.txt" || bad "A's boot folder: $(cd "$S/tftp/$A" && find .)"
grep -q "^console=serial0,115200 console=tty1 root=/dev/nbd0p2 nbdroot=$SRV_IP:$PA/$A rootfstype=ext4 ip=dhcp rw rootwait fsck.repair=yes quiet$" \
    "$S/tftp/$A/cmdline.txt" && ok "cmdline.txt: root=/dev/nbd0p2 (the image's root partition), nbdroot=, the rest kept" \
    || bad "cmdline: $(cat "$S/tftp/$A/cmdline.txt")"
[ "$(qemu-img info --output=json "$S/roots/$A/root.qcow2" | jq -r '.["backing-filename"]')" = "$img" ] \
    && ok "A's disk: a qcow2 overlay whose backing is the image file itself" || bad "overlay backing"

# ---- TFTP: serve in the server namespace
lab_bg "$SRV" "$W/serve.log" "$PINETBOOT" serve --interface s0 --root "$S/tftp" --state-dir "$S" --dhcp off \
    --http-boot "$SRV_IP:8080" --boot-root "$S/tftp"
SERVE_PID=$LAST_PID
wait_for "$W/serve.log" "serve: ready" 15 || { bad "serve start: $(tail -5 "$W/serve.log")"; finish image_in_place_serve; }
tftp_get() { in_cli curl -s --max-time 20 --interface "$2" -o "$3" "tftp://$SRV_IP/$1"; }
check_all() {  # SERIAL SOURCE-IP IMAGE LABEL
    local serial=$1 ip=$2 image=$3 label=$4 ref=$W/ref-$1 total=0 same=0 differ=""
    rm -rf "$ref"; mkdir -p "$ref"
    mcopy -i "$image@@1M" -s -n ::/ "$ref/" 2>/dev/null || bad "mcopy $label"
    while IFS= read -r -d '' f; do
        rel=${f#"$ref"/}
        [ "$rel" = cmdline.txt ] && continue
        total=$((total + 1))
        rm -f "$W/got"
        if tftp_get "$serial/$rel" "$ip" "$W/got" && cmp -s "$W/got" "$f"; then same=$((same + 1)); else differ="$differ $rel"; fi
    done < <(find "$ref" -type f -print0)
    [ "$total" -gt 5 ] && [ "$same" = "$total" ] \
        && ok "$label: all $total files served over TFTP equal mcopy's from the image" \
        || bad "$label: $same of $total equal; differ:$differ $(grep -i in_place "$W/serve.log" | tail -2)"
}
check_all $A "$A_IP" "$img" "FAT32 (client A)"
check_all $B "$B_IP" "$W/pi16.img" "FAT16 (client B)"
tftp_get "$A/cmdline.txt" "$A_IP" "$W/cmd" && cmp -s "$W/cmd" "$S/tftp/$A/cmdline.txt" \
    && ok "TFTP: A's cmdline.txt is its own, not the image's" || bad "cmdline over TFTP: $(cat "$W/cmd")"
tftp_get "$A/START4.ELF" "$A_IP" "$W/upper" && cmp -s "$W/upper" "$W/ref-$A/start4.elf" \
    && ok "TFTP: names are looked up as the FAT does (START4.ELF is start4.elf)" || bad "case-insensitive lookup"
rc=0; tftp_get "$A/no-such-file.bin" "$A_IP" "$W/none" || rc=$?
[ $rc != 0 ] && ok "TFTP: a file in neither folder nor image is not found (curl rc $rc)" || bad "absent file served"
grep -q "IN_PLACE_IMAGE image=os source=$img" "$W/serve.log" && ok "serve logs the in-place image it opened" || bad "no IN_PLACE_IMAGE line"

# ---- NBD: A's board reads the whole image, writes, keeps its writes
out=$(in_srv "$PINETBOOT" nbd apply 2>&1) || bad "nbd apply: $out"
in_cli $TOOL get "$SRV_IP" "$PA" $A "$A_IP" "$W/a0.img" || bad "get A"
cmp -s "$W/a0.img" "$img" && ok "NBD: A's export is the whole image, byte for byte" || bad "A's disk differs from the image"
cp --sparse=always "$W/a0.img" "$W/a1.img"
# The board writes 8 KiB in its root partition (66 MiB in: make_pi_image's partition 2
# starts at 65 MiB).
head -c 8192 /dev/urandom | dd of="$W/a1.img" bs=4096 seek=$((66 * 256)) conv=notrunc status=none
out=$(in_cli $TOOL put "$SRV_IP" "$PA" $A "$A_IP" "$W/a0.img" "$W/a1.img" 2>&1) || bad "put A: $out"
in_srv "$PINETBOOT" nbd apply >/dev/null 2>&1 || bad "nbd apply again"
rm -f "$W/a2.img"; in_cli $TOOL get "$SRV_IP" "$PA" $A "$A_IP" "$W/a2.img" || bad "get A again"
cmp -s "$W/a2.img" "$W/a1.img" && ok "NBD: after the exports restart A reads its writes" || bad "A lost its writes"
[ "$(sha256sum < "$img" | cut -d' ' -f1)" = "$sum0" ] && ok "the image's sha256 is unchanged after A's writes" || bad "image changed"

# ---- a kernel upgrade on the board (apt writing /boot/firmware, the FAT partition of its
# disk) reaches its next netboot: a new kernel8.img written into A's view over NBD
head -c 9100000 /dev/urandom > "$W/kernel-new.img"
cp --sparse=always "$W/a2.img" "$W/k1.img"
mcopy -o -i "$W/k1.img@@1M" "$W/kernel-new.img" ::/kernel8.img || bad "mcopy the new kernel into A's disk copy"
t0=$(date +%s.%N)
out=$(in_cli $TOOL put "$SRV_IP" "$PA" $A "$A_IP" "$W/a2.img" "$W/k1.img" 2>&1) || bad "put A's new kernel: $out"
wait_for "$W/serve.log" "BOOT_VIEW serial=$A source=disk" 30 || bad "no BOOT_VIEW for A: $(grep BOOT_VIEW "$W/serve.log")"
t1=$(date +%s.%N)
tftp_get "$A/kernel8.img" "$A_IP" "$W/k.got" && cmp -s "$W/k.got" "$W/kernel-new.img" \
    && ok "kernel upgrade in A's view: the next TFTP fetch returns the new kernel8.img ($(printf '%.1f' "$(echo "$t1 - $t0" | bc)") s after the write)" \
    || bad "A's kernel over TFTP is not the new one ($(stat -c %s "$W/k.got" 2>/dev/null) bytes)"
tftp_get "$A/start4.elf" "$A_IP" "$W/s.got" && cmp -s "$W/s.got" "$W/ref-$A/start4.elf" \
    && ok "A's other files still come through (from its own view)" || bad "A's start4.elf after the upgrade"
tftp_get "$A/cmdline.txt" "$A_IP" "$W/cmd2" && cmp -s "$W/cmd2" "$S/tftp/$A/cmdline.txt" \
    && ok "A's generated cmdline.txt still wins over its view's" || bad "A's cmdline after the upgrade"
tftp_get "$B/kernel8.img" "$B_IP" "$W/kb.got" && cmp -s "$W/kb.got" "$W/ref-$B/kernel8.img" \
    && ok "B still gets its image's kernel8.img" || bad "B's kernel changed"
[ "$(sha256sum < "$img" | cut -d' ' -f1)" = "$sum0" ] && ok "the image's sha256 is unchanged after A's kernel upgrade" || bad "image changed by the upgrade"

# ---- HTTP boot (mode 7): boot.img for a board of an in-place image, built from its own
# view (A, after its upgrade) or the image (B), its generated cmdline.txt over them
out=$("$PINETBOOT" image bootimg "$S/tftp/$A" --in-place os --board $A -o "$S/tftp/$A/boot.img" 2>&1) \
    && grep -q "board $A: its own boot files (boot view)" <<< "$out" && ok "bootimg for A from its own view: $(tail -2 <<< "$out" | head -1)" \
    || bad "bootimg A: $out"
out=$("$PINETBOOT" image bootimg "$S/tftp/$B" --in-place os16 --board $B -o "$S/tftp/$B/boot.img" 2>&1) || bad "bootimg B: $out"
in_cli curl -sS --max-time 30 -o "$W/a-boot.img" "http://$SRV_IP:8080/$A/boot.img" || bad "GET A's boot.img"
in_cli curl -sS --max-time 30 -o "$W/a-boot.sig" "http://$SRV_IP:8080/$A/boot.sig" || bad "GET A's boot.sig"
in_cli curl -sS --max-time 30 -o "$W/b-boot.img" "http://$SRV_IP:8080/$B/boot.img" || bad "GET B's boot.img"
[ "$(head -1 "$W/a-boot.sig")" = "$(sha256sum < "$W/a-boot.img" | cut -d' ' -f1)" ] \
    && ok "HTTP boot: A's boot.sig carries its boot.img's sha256" || bad "A's boot.sig: $(head -1 "$W/a-boot.sig")"
hb_same() {  # BOOTIMG PATH REFERENCE: the file in the FAT boot.img equals REFERENCE
    rm -f "$W/hb.got"; mcopy -n -i "$1" "::/$2" "$W/hb.got" 2>/dev/null && cmp -s "$W/hb.got" "$3"
}
hb_same "$W/a-boot.img" kernel8.img "$W/kernel-new.img" && hb_same "$W/a-boot.img" cmdline.txt "$S/tftp/$A/cmdline.txt" \
    && hb_same "$W/a-boot.img" start4.elf "$W/ref-$A/start4.elf" \
    && ok "HTTP boot: A's boot.img holds its upgraded kernel8.img, its generated cmdline.txt, the image's other files" \
    || bad "A's boot.img contents: $(mdir -i "$W/a-boot.img" -/ :: 2>&1 | head -20)"
hb_same "$W/b-boot.img" kernel8.img "$W/ref-$B/kernel8.img" && hb_same "$W/b-boot.img" cmdline.txt "$S/tftp/$B/cmdline.txt" \
    && ok "HTTP boot: B's boot.img holds its image's kernel8.img and its generated cmdline.txt" || bad "B's boot.img contents"
rc=0; out=$("$PINETBOOT" image bootimg "$S/tftp/$A" --board $A -o "$W/x.img" 2>&1) || rc=$?
[ $rc = 2 ] && grep -q "board needs --in-place" <<< "$out" && [ ! -e "$W/x.img" ] \
    && ok "bootimg --board without --in-place: refused, nothing written" || bad "bootimg --board alone (rc $rc): $out"
[ "$(sha256sum < "$img" | cut -d' ' -f1)" = "$sum0" ] && ok "the image's sha256 is unchanged after boot.img builds" || bad "image changed by bootimg"

# ---- nbd-image: a copy of the whole image for C
out=$("$PINETBOOT" client add --serial $C --image os --root nbd-image --address "$NET.4" --no-apply 2>&1) \
    || bad "client add C: $out"
cmp -s "$S/roots/$C/root.img" "$img" && ok "nbd-image: C's disk is a copy of the image" || bad "C's disk"

# ---- reset drops A's writes
out=$(in_srv "$PINETBOOT" client reset $A 2>&1) || bad "client reset: $out"
rm -f "$W/a3.img"; in_cli $TOOL get "$SRV_IP" "$PA" $A "$A_IP" "$W/a3.img" || bad "get A after reset"
cmp -s "$W/a3.img" "$img" && ok "client reset: A's view is the image again" || bad "reset kept A's writes"
wait_for "$W/serve.log" "BOOT_VIEW serial=$A source=image" 30 || bad "no BOOT_VIEW back to the image for A"
tftp_get "$A/kernel8.img" "$A_IP" "$W/k2.got" && cmp -s "$W/k2.got" "$W/ref-$A/kernel8.img" \
    && ok "after the reset A boots the image's kernel8.img again" || bad "A's kernel after reset"
# A boots over HTTP too (its boot.img, unsigned): serve made it again from the image's files.
wait_for "$W/serve.log" "BOOT_IMG serial=$A rebuilt" 30 || bad "no BOOT_IMG rebuild for A: $(grep BOOT_IMG "$W/serve.log")"
in_cli curl -sS --max-time 30 -o "$W/a2-boot.img" "http://$SRV_IP:8080/$A/boot.img" || bad "GET A's boot.img after reset"
hb_same "$W/a2-boot.img" kernel8.img "$W/ref-$A/kernel8.img" && hb_same "$W/a2-boot.img" cmdline.txt "$S/tftp/$A/cmdline.txt" \
    && ok "HTTP boot after the reset: serve rebuilt A's boot.img with the image's kernel8.img and A's cmdline.txt" \
    || bad "A's boot.img after reset: $(grep BOOT_IMG "$W/serve.log")"

# ---- an image boards use is not removed
out=$("$PINETBOOT" image remove os 2>&1); rc=$?
[ $rc != 0 ] && [ -f "$S/images/os/image.json" ] && ok "an in-place image boards use is not removed" || bad "image removed: rc=$rc $out"

# ---- an image whose root partition is not ext4: refused at client add, nothing made
cp "$img" "$W/notext4.img"
dd if=/dev/zero of="$W/notext4.img" bs=1M seek=65 count=2 conv=notrunc status=none  # the superblock gone
"$PINETBOOT" image add "$W/notext4.img" --name bad --in-place >/dev/null || bad "image add bad"
out=$("$PINETBOOT" client add --serial dddd0004 --image bad --root nbd --address "$NET.5" --no-apply 2>&1); rc=$?
[ $rc != 0 ] && grep -q "root partition 2 of $W/notext4.img is not ext4" <<<"$out" \
    && [ ! -e "$S/roots/dddd0004" ] && [ ! -e "$S/tftp/dddd0004" ] \
    && ! "$PINETBOOT" client list 2>/dev/null | grep -q dddd0004 \
    && ok "a root partition that is not ext4: refused, nothing half made" || bad "not ext4: rc=$rc $out"

# ---- removals; the images stay as they were
in_srv "$PINETBOOT" nbd stop >/dev/null 2>&1
lab_kill "$SERVE_PID"
for s in $A $B $C; do "$PINETBOOT" client remove $s --yes >/dev/null 2>&1 || bad "client remove $s"; done
"$PINETBOOT" image remove os >/dev/null 2>&1 || bad "image remove os after its clients"
[ "$(sha256sum < "$img" | cut -d' ' -f1)" = "$sum0" ] && [ "$(sha256sum < "$W/pi16.img" | cut -d' ' -f1)" = "$sum16" ] \
    && ok "both images' sha256 unchanged after clients, boots, writes, resets and removals" || bad "an image changed"
finish image_in_place_serve
