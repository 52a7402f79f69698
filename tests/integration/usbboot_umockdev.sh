#!/usr/bin/env bash
# libusb enumeration, open and claim against umockdev-emulated devices
# (testlab README section 6: this kernel has no USB; umockdev covers
# enumeration/open/claim, not transfers). Two devices: a BCM2711 boot ROM
# (iSerialNumber index 3) at 1-1 and a BCM2712 second stage (index 1) at 1-2.
# Transfers fail with LIBUSB_ERROR_IO under umockdev, which checks that the
# failure path ends with one clear line per board and a non-zero exit.
set -euo pipefail
: "${PINETBOOT:?}"
command -v umockdev-run >/dev/null || { echo "umockdev-run missing (scripts/setup.sh)"; exit 77; }
work=$(mktemp -d /tmp/pnb-umockdev-$$.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# device(port devnum product serialIndex): sysfs record with a descriptor blob:
# device descriptor, one configuration, one vendor interface, bulk EP 0x01/0x81.
device() {
    local port=$1 devnum=$2 product=$3 sidx=$4
    local lo=${product:2:2} hi=${product:0:2}
    # device: USB 2.0, class 0, EP0 64 bytes, 0a5c:PRODUCT, strings 1/2/sidx, 1 config
    local desc="12010002000000405C0A${lo}${hi}00000102$(printf '%02X' "$sidx")01"
    desc+="0902200001010080FA"                       # configuration, 32 bytes in total
    desc+="0904000002FF000000"                       # interface 0: 2 endpoints, vendor class
    desc+="07050102000200" ; desc+="07058102000200"  # bulk OUT 0x01, bulk IN 0x81, 512 bytes
    cat <<EOR
P: /devices/pci0000:00/0000:00:14.0/usb1/$port
N: bus/usb/001/$(printf '%03d' "$devnum")
E: DEVNAME=/dev/bus/usb/001/$(printf '%03d' "$devnum")
E: DEVTYPE=usb_device
E: DRIVER=usb
E: PRODUCT=a5c/$product/0
E: TYPE=0/0/0
E: BUSNUM=001
E: DEVNUM=$(printf '%03d' "$devnum")
E: MAJOR=189
E: MINOR=$((devnum - 1))
E: SUBSYSTEM=usb
A: bConfigurationValue=1
A: bDeviceClass=00
A: bNumConfigurations=1
A: bNumInterfaces= 1
A: busnum=1
A: devnum=$devnum
A: idProduct=$product
A: idVendor=0a5c
A: speed=480
H: descriptors=$desc

EOR
}
{ device 1-1 2 2711 3; device 1-2 3 2712 1; } > "$work/pis.umockdev"

out=$(timeout 60 umockdev-run -d "$work/pis.umockdev" -- "$PINETBOOT" usbboot --list)
echo "$out"
grep -q "^1-1 0a5c:2711 bus 1 address 2 serial-index 3 rom (bootcode4.bin)$" <<<"$out" ||
    fail "2711 ROM not listed"
grep -q "^1-2 0a5c:2712 bus 1 address 3 serial-index 1 second-stage (bootcode5.bin)$" <<<"$out" ||
    fail "2712 second stage not listed"

mkdir -p "$work/boot"
head -c 5000 /dev/urandom > "$work/boot/bootcode4.bin"
set +e
out=$(timeout 120 umockdev-run -d "$work/pis.umockdev" -- \
    "$PINETBOOT" usbboot -d "$work/boot" --timeout 10 2>&1)
rc=$?
set -e
echo "$out"
[ $rc -eq 1 ] || fail "usbboot exit $rc (want 1: the ROM transfer cannot work under umockdev)"
grep -q "^\[1-1 2711\] found 0a5c:2711 (rom)$" <<<"$out" || fail "ROM device not found"
grep -q "^\[1-1 2711\] rom: sending bootcode4.bin (5000 bytes)$" <<<"$out" ||
    fail "ROM device was not opened and claimed"
grep -q "^\[1-1 2711\] rom: failed: boot message: control OUT: .*(io)$" <<<"$out" ||
    fail "no clear ROM failure line"
grep -q "^\[1-2 2712\] second stage: serving files$" <<<"$out" ||
    fail "second-stage device was not opened and claimed"
echo "usbboot_umockdev: ok"
