#!/usr/bin/env bash
# make_disk.sh ROOT.part OUT.img - a minimal Pi-style disk image around a
# root file system the caller made (mke2fs, debugfs): an MBR with an 8 MiB
# FAT16 boot partition (config.txt only) and ROOT.part as partition 2.
set -euo pipefail
ROOT=$1; OUT=$2
W=$(mktemp -d /tmp/pnb-make-disk.XXXXXX)
trap 'rm -rf "$W"' EXIT
BOOT_MB=8
ROOT_MB=$(( ($(stat -c %s "$ROOT") + 1048575) / 1048576 ))
truncate -s ${BOOT_MB}M "$W/boot.part"
mkfs.vfat -n BOOTFS "$W/boot.part" >/dev/null
printf 'arm_64bit=1\n' > "$W/config.txt"
mcopy -i "$W/boot.part" "$W/config.txt" ::/
rm -f "$OUT"
truncate -s $((1 + BOOT_MB + ROOT_MB))M "$OUT"
printf 'label: dos\nlabel-id: 0x5ca1ab1e\nstart=2048, size=%d, type=c\nstart=%d, size=%d, type=83\n' \
    $((BOOT_MB*2048)) $((2048 + BOOT_MB*2048)) $((ROOT_MB*2048)) | sfdisk -q "$OUT" >/dev/null
dd if="$W/boot.part" of="$OUT" bs=1M seek=1 conv=notrunc,sparse status=none
dd if="$ROOT" of="$OUT" bs=1M seek=$((1 + BOOT_MB)) conv=notrunc,sparse status=none
