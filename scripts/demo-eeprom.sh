#!/usr/bin/env bash
# demo-eeprom.sh - a short, non-interactive walk through `pinetboot eeprom`:
# inspect a stock Pi 5 bootloader image, change its BOOT_ORDER to network boot,
# check the result, then write and verify a .sig for it.
# Needs build/pinetboot and ../shared/testdata/eeprom; works from any directory
# and writes only into a temporary directory that it removes.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
pinetboot=${PINETBOOT:-$root/build/pinetboot}
data=$(cd "${SHARED_DIR:-$root/../shared}/testdata/eeprom" && pwd)
image=$data/pieeprom-2712-2026-05-26.bin
[ -x "$pinetboot" ] || { echo "demo-eeprom.sh: $pinetboot not built (run scripts/build.sh)" >&2; exit 1; }
[ -f "$image" ] || { echo "demo-eeprom.sh: $image not found" >&2; exit 1; }
work=$(mktemp -d /tmp/pinet-demo-eeprom.XXXXXX)
trap 'rm -rf "$work"' EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*" | sed "s|$data/||g; s|$work/||g; s|$pinetboot|pinetboot|g"; "$@"; }

step "1. What is in a stock Pi 5 (BCM2712) bootloader image?"
run "$pinetboot" eeprom info "$image" | sed -n '1,5p'

step "2. Its embedded bootconf.txt (what rpi-eeprom-config IMAGE prints)"
run "$pinetboot" eeprom show "$image"

step "3. What does BOOT_ORDER=0xf21 mean?"
run "$pinetboot" eeprom boot-order 0xf21

step "4. Set BOOT_ORDER=0xf21 (SD card, then network) in a new image; the input is untouched"
before=$(sha256sum "$image" | cut -d' ' -f1)
run "$pinetboot" eeprom set "$image" BOOT_ORDER=0xf21 -o "$work/pieeprom.bin"
[ "$(sha256sum "$image" | cut -d' ' -f1)" = "$before" ] && echo "input image unchanged"

step "5. Read the new config back and lint it"
run "$pinetboot" eeprom show "$work/pieeprom.bin"
"$pinetboot" eeprom show "$work/pieeprom.bin" -o "$work/bootconf.txt"
run "$pinetboot" eeprom lint "$work/bootconf.txt"
grep -qx 'BOOT_ORDER=0xf21' "$work/bootconf.txt" && echo "BOOT_ORDER reads back as 0xf21"

step "6. Write pieeprom.sig (as rpi-eeprom-digest -c 2712) and verify it"
run "$pinetboot" eeprom digest "$work/pieeprom.bin" --soc 2712 --timestamp 1700000000 -o "$work/pieeprom.sig"
cat "$work/pieeprom.sig"
run "$pinetboot" eeprom verify "$work/pieeprom.bin" "$work/pieeprom.sig"

step "7. Sign it with the shared TEST key (RSA-2048, never for real devices) and verify"
run "$pinetboot" eeprom digest "$work/pieeprom.bin" --timestamp 1700000000 \
    --key "$data/test-key-shared.private.pem" -o "$work/pieeprom.rsa.sig"
cut -c1-80 "$work/pieeprom.rsa.sig"
run "$pinetboot" eeprom verify "$work/pieeprom.bin" "$work/pieeprom.rsa.sig" \
    --pubkey "$data/test-key-shared.public.pem"

step "8. A modified image no longer matches its .sig"
cp "$work/pieeprom.bin" "$work/tampered.bin"
printf 'X' | dd of="$work/tampered.bin" bs=1 seek=100 conv=notrunc status=none
if "$pinetboot" eeprom verify "$work/tampered.bin" "$work/pieeprom.sig" 2>&1; then
    echo "demo-eeprom.sh: tampered image verified?!" >&2; exit 1
fi
echo "(exit 1, as expected)"

step "Done; temporary files removed."
