#!/usr/bin/env bash
# image-bench.sh [PINETBOOT] - two numbers for docs/benchmarks.md "Image import":
#  1. time to import a 2 GiB Raspberry Pi-style image (256 MiB FAT32 boot,
#     ~1.8 GiB ext4 root filled with a real file tree: this machine's
#     /usr/share and /usr/bin plus a few large files) with `pinetboot image
#     import`, against the manual way (a loop device per partition, mount,
#     cp -a) where loop devices work. Both read the image from the page cache (it was just
#     written), so the comparison is of the copying, not of the disk.
#  2. disk cost of 100 private (copy-mode) client roots: `du` of the state
#     directory's images/ and roots/ together (du counts each hard-linked
#     inode once), and the time of 100 `client add`.
# Needs root. Scratch space: ~6 GiB under ${BENCH_DIR:-/tmp} (plus ~224 MiB per root).
# Env: ROOTS (default 100) client roots to add; 0 measures the import only.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
PINETBOOT=${1:-$HERE/../build/pinetboot}
W=$(mktemp -d "${BENCH_DIR:-/tmp}/pnb-image-bench.XXXXXX")
LOOP=""; LOOP2=""
cleanup() {
    mountpoint -q "$W/mnt/root" 2>/dev/null && umount "$W/mnt/root"
    mountpoint -q "$W/mnt/boot" 2>/dev/null && umount "$W/mnt/boot"
    [ -n "$LOOP" ] && losetup -d "$LOOP" 2>/dev/null
    [ -n "${LOOP2:-}" ] && losetup -d "$LOOP2" 2>/dev/null
    rm -rf "$W"
}
trap cleanup EXIT
now() { date +%s.%N; }
secs() { printf '%.1f' "$(echo "$2 - $1" | bc)"; }

echo "== building a 2 GiB image in $W"
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
rm -f "$W/boot.part" "$W/root.part"
NFILES=$(find "$W/root" | wc -l); DATA=$(du -sm "$W/root" | cut -f1)
rm -rf "$W/root" "$W/boot"
echo "image: 2 GiB, root tree $NFILES entries, $DATA MiB of data"
cat "$W/pi.img" > /dev/null   # into the page cache for both methods

echo "== pinetboot image import"
t0=$(now)
"$PINETBOOT" image import "$W/pi.img" --name bench --state-dir "$W/state" 2>/dev/null
t1=$(now)
IMPORT=$(secs "$t0" "$t1")
echo "pinetboot image import: ${IMPORT} s"

echo "== losetup + mount + cp -a"
# Partition nodes (losetup -P) do not appear on this kind of VM, but plain loop devices
# at the partitions' offsets do: one per partition, read-only, at the offsets written above.
MANUAL="n/a"
if LOOP=$(losetup -f --show -r -o $((2048 * 512)) --sizelimit $((256 * 1048576)) "$W/pi.img" 2>/dev/null) &&
   LOOP2=$(losetup -f --show -r -o $((257 * 1048576)) --sizelimit $((ROOT_MB * 1048576)) "$W/pi.img" 2>/dev/null); then
    mkdir -p "$W/mnt/boot" "$W/mnt/root" "$W/manual"
    t0=$(now)
    if mount -o ro "$LOOP2" "$W/mnt/root"; then
        cp -a "$W/mnt/root" "$W/manual/root"
        umount "$W/mnt/root"
        # The boot partition: mounted where the kernel has vfat, else copied with mtools
        # straight from the image (this VM's kernel has no vfat module).
        if mount -o ro "$LOOP" "$W/mnt/boot" 2>/dev/null; then
            cp -a "$W/mnt/boot" "$W/manual/boot"; umount "$W/mnt/boot"; HOW="mount"
        else
            mkdir -p "$W/manual/boot"; mcopy -i "$W/pi.img@@1M" -s -p -m "::/*" "$W/manual/boot/"; HOW="mcopy"
        fi
        t1=$(now)
        MANUAL=$(secs "$t0" "$t1")
        echo "loop mount + cp -a of the root, $HOW of the boot partition: ${MANUAL} s"
        rm -rf "$W/manual"
    else
        echo "loop mount: mount failed on this machine"
    fi
    losetup -d "$LOOP" "$LOOP2"; LOOP=""; LOOP2=""
else
    echo "loop devices are not usable here: skipped"
fi
ROOTS=${ROOTS:-100}
echo "== $ROOTS private client roots (copy mode)"
IMG_MB=$(du -sm "$W/state/images/bench/root" | cut -f1)
mkdir -p "$W/state/roots"
t0=$(now)
for i in $(seq 1 "$ROOTS"); do
    "$PINETBOOT" client add --serial "$(printf '%08x' $((0x10000000 + i)))" --image bench --root copy \
        --address 10.0.0.$i --server-ip 10.0.0.254 --nfs-backend none --no-apply --state-dir "$W/state" >/dev/null
done
t1=$(now)
ADD=$(secs "$t0" "$t1")
BOTH_MB=$(du -sm "$W/state/images/bench/root" "$W/state/roots" | awk '{s+=$1} END {print s}')
EXTRA=$((BOTH_MB - IMG_MB))
PER=$( [ "$ROOTS" -gt 0 ] && echo "scale=1; $EXTRA / $ROOTS" | bc || echo 0)
echo "image root: ${IMG_MB} MiB; image + $ROOTS private roots: ${BOTH_MB} MiB (+${EXTRA} MiB, $PER MiB per client); full copies would be $((IMG_MB * ROOTS)) MiB"
echo "$ROOTS x client add: ${ADD} s"
echo
echo "| measurement | result |"
echo "|---|---|"
echo "| pinetboot image import (2 GiB image, $NFILES entries, $DATA MiB) | ${IMPORT} s |"
echo "| loop mount + cp -a (root), ${HOW:-mount} (boot) | ${MANUAL}$( [ "$MANUAL" = n/a ] || echo ' s') |"
echo "| image root on disk | ${IMG_MB} MiB |"
echo "| $ROOTS copy-mode roots on top of it | +${EXTRA} MiB ($PER MiB per client) |"
echo "| $ROOTS full copies would be | $((IMG_MB * ROOTS)) MiB |"
echo "| $ROOTS x client add --root copy | ${ADD} s |"
