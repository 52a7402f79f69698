#!/usr/bin/env bash
# make_pi_image.sh OUT.img WORKDIR [mbr|gpt] - builds a small but realistic
# Raspberry Pi OS-like disk image with Debian tools only:
#   partition 1: FAT32 "bootfs" (config.txt, cmdline.txt with a PARTUUID root,
#                start4.elf, fixup4.dat, CM4/Pi4 dtbs, kernel8.img, overlays/,
#                a long file name)
#   partition 2: ext4 "rootfs" built with mke2fs -d from WORKDIR/rootsrc: merged
#                /usr symlinks, a slow (>60 byte) symlink, hard links, /dev/null,
#                a FIFO, a setuid file, a file capability, a user xattr, odd
#                owners/modes, nanosecond mtimes, a sparse file.
# WORKDIR/rootsrc is left behind as the reference tree for comparisons.
# FAT_BITS=16 makes the boot partition FAT16 (MBR type 0x0e) instead of FAT32.
# ROOT_EXTRA=DIR copies DIR's tree into the root file system as well (after the
# files above, so it may replace them); unset, nothing changes.
set -euo pipefail
OUT=$1; W=$2; LABEL=${3:-mbr}
rm -rf "$W/bootsrc" "$W/rootsrc"; mkdir -p "$W/bootsrc/overlays" "$W/rootsrc"
DISKID=1234abcd

# ---- boot partition contents
B=$W/bootsrc
printf '[all]\narm_64bit=1\ndtoverlay=vc4-kms-v3d\n[cm4]\notg_mode=1\n' > "$B/config.txt"
printf 'console=serial0,115200 console=tty1 root=PARTUUID=%s-02 rootfstype=ext4 fsck.repair=yes rootwait quiet init=/usr/lib/raspberrypi-sys-mods/firstboot\n' "$DISKID" > "$B/cmdline.txt"
head -c 2800000 /dev/urandom > "$B/start4.elf"
head -c 6100 /dev/urandom > "$B/fixup4.dat"
head -c 52000 /dev/urandom > "$B/bcm2711-rpi-cm4.dtb"
head -c 51000 /dev/urandom > "$B/bcm2711-rpi-4-b.dtb"
head -c 8500000 /dev/urandom > "$B/kernel8.img"
head -c 3000 /dev/urandom > "$B/overlays/vc4-kms-v3d.dtbo"
echo "long names survive" > "$B/LongFileName-with.several.dots.txt"
echo "Raspberry Pi reference 2024-03-15" > "$B/issue.txt"

# ---- root file system contents
R=$W/rootsrc
mkdir -p "$R"/{etc/systemd/system/multi-user.target.wants,usr/bin,usr/lib/systemd/system,usr/share/doc/x,home/pi,root,dev,var/log,tmp,boot/firmware}
ln -s usr/bin "$R/bin"; ln -s usr/lib "$R/lib"
cat > "$R/etc/fstab" <<EOT
proc            /proc           proc    defaults          0       0
PARTUUID=$DISKID-01  /boot/firmware  vfat    defaults          0       2
PARTUUID=$DISKID-02  /               ext4    defaults,noatime  0       1
tmpfs           /var/tmp        tmpfs   defaults          0       0
# a swapfile is not a swap partition, no line here
EOT
echo raspberrypi > "$R/etc/hostname"
printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t\traspberrypi\n' > "$R/etc/hosts"
printf '[Unit]\nDescription=OpenBSD Secure Shell server\n[Service]\nExecStart=/usr/sbin/sshd -D\n[Install]\nWantedBy=multi-user.target\n' > "$R/usr/lib/systemd/system/ssh.service"
printf 'root:*:19000:0:99999:7:::\n' > "$R/etc/shadow"; chmod 0640 "$R/etc/shadow"; chown 0:42 "$R/etc/shadow"
head -c 300000 /dev/urandom > "$R/usr/bin/busybox"; chmod 0755 "$R/usr/bin/busybox"
ln "$R/usr/bin/busybox" "$R/usr/bin/sh-hardlink"
ln "$R/usr/bin/busybox" "$R/usr/bin/ls-hardlink"
head -c 4000 /dev/urandom > "$R/usr/bin/sudo"; chmod 4755 "$R/usr/bin/sudo"
head -c 5000 /dev/urandom > "$R/usr/bin/ping"; chmod 0755 "$R/usr/bin/ping"
setcap cap_net_raw+ep "$R/usr/bin/ping"
echo doc > "$R/usr/share/doc/x/README"; setfattr -n user.origin -v "debian-test" "$R/usr/share/doc/x/README"
ln -s ../../share/doc/x/README-this-is-a-deliberately-long-target-name-beyond-sixty-bytes "$R/usr/bin/slow-symlink"
ln -s README "$R/usr/share/doc/x/fast-symlink"
mknod "$R/dev/null" c 1 3; chmod 0666 "$R/dev/null"
mknod "$R/dev/sda1" b 8 1; chmod 0660 "$R/dev/sda1"; chown 0:6 "$R/dev/sda1"
mkfifo "$R/var/log/fifo"
echo "pi's file" > "$R/home/pi/notes.txt"; chown -R 1000:1000 "$R/home/pi"; chmod 0700 "$R/home/pi"
chmod 0700 "$R/root"; chmod 1777 "$R/tmp"
truncate -s 5M "$R/var/log/sparse.img"; echo tail >> "$R/var/log/sparse.img"
touch -d '2001-09-09 01:46:40.123456789' "$R/usr/share/doc/x/README"
touch -h -d '2010-01-01 00:00:00.5' "$R/usr/bin/slow-symlink"
if [ -n "${ROOT_EXTRA:-}" ]; then
    cp -a "$ROOT_EXTRA"/. "$R"/
fi

# ---- partitions
BOOT_MB=64; ROOT_MB=96
rm -f "$W/boot.part" "$W/root.part" "$OUT"
truncate -s ${BOOT_MB}M "$W/boot.part"
FAT_BITS=${FAT_BITS:-32}
mkfs.vfat -F "$FAT_BITS" -n bootfs "$W/boot.part" >/dev/null
mcopy -i "$W/boot.part" -s -p -m "$B"/* ::/
mke2fs -q -t ext4 -F -L rootfs -d "$R" "$W/root.part" ${ROOT_MB}M >/dev/null
# mke2fs -d stores whole seconds only: put nanoseconds (123456789 << 2, ext4
# "extra" time field) on one file so the import's ns handling is exercised.
debugfs -w -R "set_inode_field /usr/share/doc/x/README mtime_extra 0x1d6f3454" "$W/root.part" >/dev/null 2>&1
truncate -s $((1 + BOOT_MB + ROOT_MB))M "$OUT"
if [ "$LABEL" = gpt ]; then
    truncate -s $((2 + BOOT_MB + ROOT_MB))M "$OUT"   # room for the backup GPT
    printf 'label: gpt\nstart=2048, size=%d, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, name="bootfs"\nstart=%d, size=%d, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="rootfs"\n' \
        $((BOOT_MB*2048)) $((2048 + BOOT_MB*2048)) $((ROOT_MB*2048)) | sfdisk -q "$OUT" >/dev/null
else
    [ "$FAT_BITS" = 16 ] && BOOT_TYPE=e || BOOT_TYPE=c
    printf 'label: dos\nlabel-id: 0x%s\nstart=2048, size=%d, type=%s\nstart=%d, size=%d, type=83\n' \
        $DISKID $((BOOT_MB*2048)) $BOOT_TYPE $((2048 + BOOT_MB*2048)) $((ROOT_MB*2048)) | sfdisk -q "$OUT" >/dev/null
fi
dd if="$W/boot.part" of="$OUT" bs=1M seek=1 conv=notrunc,sparse status=none
dd if="$W/root.part" of="$OUT" bs=1M seek=$((1 + BOOT_MB)) conv=notrunc,sparse status=none
rm -f "$W/boot.part" "$W/root.part"
