#!/usr/bin/env bash
# nbd-disk-bench.sh [PINETBOOT] - disk cost of CLIENTS (default 100) `--root nbd`
# clients on one image, for docs/benchmarks.md "NBD roots": the same 2 GiB image
# as bench/image-bench.sh, imported; CLIENTS x `client add --root nbd`; the
# exports started by `nbd apply` in the server namespace of a private lab
# (tests/integration/lib/dhcp_lab.sh); then every client writes a small file
# (4 KiB) through its own export, from its own address, as the board's kernel
# would (debugfs on a local copy once, then only the changed blocks, the same
# for every client, through
# tests/integration/lib/nbd_tool.py). Reports du of the base and of the
# overlays before and after the writes, and the time of the adds.
# Needs root. Scratch space: ~2.5 GiB under ${BENCH_DIR:-/tmp}.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
PINETBOOT=${1:-$HERE/../build/pinetboot}
CLIENTS=${CLIENTS:-100}
PY=/usr/bin/python3
TOOL="$PY $HERE/../tests/integration/lib/nbd_tool.py"
. "$HERE/../tests/integration/lib/dhcp_lab.sh"
lab_up nbdbench
now() { date +%s.%N; }
secs() { printf '%.1f' "$(echo "$2 - $1" | bc)"; }

echo "== building the 2 GiB image of bench/image-bench.sh in $W"
mkdir -p "$W/boot" "$W/root/usr" "$W/root/etc" "$W/root/var/lib/big"
head -c 2800000 /dev/urandom > "$W/boot/start4.elf"; head -c 6100 /dev/urandom > "$W/boot/fixup4.dat"
head -c 9000000 /dev/urandom > "$W/boot/kernel8.img"; head -c 52000 /dev/urandom > "$W/boot/bcm2711-rpi-cm4.dtb"
echo "console=tty1 root=PARTUUID=1234abcd-02 rootfstype=ext4 rootwait" > "$W/boot/cmdline.txt"
echo "arm_64bit=1" > "$W/boot/config.txt"
for i in $(seq 1 8); do head -c 20000000 /dev/urandom > "$W/boot/initramfs$i"; done
cp -a /usr/share /usr/bin "$W/root/usr/"
for i in $(seq 1 2); do head -c 100000000 /dev/urandom > "$W/root/var/lib/big/blob$i"; done
printf 'proc /proc proc defaults 0 0\nPARTUUID=1234abcd-02 / ext4 defaults 0 1\n' > "$W/root/etc/fstab"
echo pi > "$W/root/etc/hostname"
ROOT_MB=$((2048 - 1 - 256))
truncate -s 256M "$W/boot.part"; mkfs.vfat -F 32 "$W/boot.part" >/dev/null; mcopy -i "$W/boot.part" -s "$W/boot"/* ::/
mke2fs -q -t ext4 -F -d "$W/root" "$W/root.part" ${ROOT_MB}M >/dev/null
truncate -s 2G "$W/pi.img"
printf 'label: dos\nlabel-id: 0x1234abcd\nstart=2048, size=%d, type=c\nstart=%d, size=%d, type=83\n' \
    $((256*2048)) $((2048 + 256*2048)) $((ROOT_MB*2048)) | sfdisk -q "$W/pi.img" >/dev/null
dd if="$W/boot.part" of="$W/pi.img" bs=1M seek=1 conv=notrunc,sparse status=none
dd if="$W/root.part" of="$W/pi.img" bs=1M seek=257 conv=notrunc,sparse status=none
rm -rf "$W/boot.part" "$W/root.part" "$W/root" "$W/boot"
S=$W/state
"$PINETBOOT" image import "$W/pi.img" --name bench --state-dir "$S" >/dev/null 2>&1
rm -f "$W/pi.img"

echo "== $CLIENTS x client add --root nbd"
t0=$(now)
for i in $(seq 1 "$CLIENTS"); do
    serial=$(printf 'b%07x' "$i")
    addr="$NET.$((i + 1))"
    [ "$i" -ge 250 ] && { echo "at most 249 clients in one /24 lab"; exit 1; }
    "$PINETBOOT" client add --serial "$serial" --image bench --root nbd --address "$addr" \
        --server-ip "$SRV_IP" --nfs-backend none --no-apply --state-dir "$S" >/dev/null 2>&1 \
        || { echo "client add $serial failed"; exit 1; }
    [ "$i" = 1 ] && t1=$(now)
done
t2=$(now)
echo "first add (builds the base): $(secs "$t0" "$t1") s; the other $((CLIENTS - 1)): $(secs "$t1" "$t2") s"
BASE_KIB=$(du -k "$S/images/bench/nbd-base.ext4" | cut -f1)
BEFORE=$(du -ck "$S"/roots/*/root.qcow2 | tail -1 | cut -f1)
echo "base: $BASE_KIB KiB on disk ($(du -k --apparent-size "$S/images/bench/nbd-base.ext4" | cut -f1) KiB apparent)"
echo "overlays after add: $BEFORE KiB in all"

echo "== nbd apply + a 4 KiB file written by every client"
ip netns exec "$SRV" "$PINETBOOT" nbd apply --state-dir "$S" >/dev/null || { echo "nbd apply failed"; exit 1; }
# The file's blocks, found once on a local copy of one client's disk.
port1=$(cat "$S/roots/b0000001/port")
ip -n "$CLI" addr add "$NET.2/24" dev c0 2>/dev/null || true
ip netns exec "$CLI" $TOOL get "$SRV_IP" "$port1" b0000001 "$CLI_IP" "$W/d0.img"
cp --sparse=always "$W/d0.img" "$W/d1.img"
head -c 4096 /dev/urandom > "$W/f"
debugfs -w -R "write $W/f bench-file" "$W/d1.img" >/dev/null 2>&1
$TOOL diff "$W/d0.img" "$W/d1.img" "$W/blocks"
rm -f "$W/d0.img"
echo "the file changes $(wc -l < "$W/blocks") blocks of 4 KiB (data, inode, bitmaps, directory)"
for i in $(seq 1 "$CLIENTS"); do
    serial=$(printf 'b%07x' "$i"); addr="$NET.$((i + 1))"
    [ "$i" -gt 1 ] && ip -n "$CLI" addr add "$addr/24" dev c0
    ip netns exec "$CLI" $TOOL putblocks "$SRV_IP" "$(cat "$S/roots/$serial/port")" "$serial" "$addr" \
        "$W/d1.img" "$W/blocks" > "$W/put.out" || { echo "put $serial failed"; exit 1; }
done
echo "each client: $(cat "$W/put.out")"
ip netns exec "$SRV" "$PINETBOOT" nbd stop --state-dir "$S" >/dev/null
AFTER=$(du -ck "$S"/roots/*/root.qcow2 | tail -1 | cut -f1)
echo "overlays after the writes: $AFTER KiB in all, $(echo "scale=1; $AFTER / $CLIENTS" | bc) KiB per client"
echo "base + $CLIENTS overlays: $((BASE_KIB + AFTER)) KiB; $CLIENTS full copies of the base would be $((BASE_KIB * CLIENTS)) KiB"
