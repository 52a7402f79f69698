#!/usr/bin/env bash
# pinetboot flash --dry-run must write exactly what `pinetboot eeprom apply/set`
# + `pinetboot eeprom digest` write for the same inputs, and both must match
# the shared rpi-eeprom vectors. Also checks the no-device paths of usbboot and
# flash (this machine has no USB: they must fail with one clear line and leave
# no temporary recovery folder behind).
set -euo pipefail
: "${PINETBOOT:?}" "${SHARED_DIR:?}"
TD="$SHARED_DIR/testdata/eeprom"
work=$(mktemp -d /tmp/pnb-usbflash-$$.XXXXXX)
trap 'rm -rf "$work"' EXIT
export SOURCE_DATE_EPOCH=1700000000
fail() { echo "FAIL: $*" >&2; exit 1; }

# A stand-in for recovery.bin: the host never runs it, but flash checks that it names the
# files a real one asks for (pieeprom.sig ...).
{ head -c 20000 /dev/urandom; printf 'pieeprom.sig\0pieeprom.bin\0'; head -c 20000 /dev/urandom; } > "$work/recovery.bin"
# Random bytes are refused, naming where recovery.bin comes from.
head -c 40000 /dev/urandom | tr -d 'p' > "$work/junk.bin"
err=$("$PINETBOOT" flash --image "$TD/pieeprom-2711-2026-05-17.bin" --bootcode "$work/junk.bin" \
        --dry-run "$work/junk-folder" 2>&1 >/dev/null) && fail "flash accepted random bytes as recovery.bin"
grep -q "does not look like a recovery.bin" <<<"$err" && grep -q "rpi-eeprom" <<<"$err" ||
    fail "no recovery.bin message: $err"

for img in pieeprom-2711-2026-05-17 pieeprom-2712-2026-05-26; do
    d="$work/$img"
    mkdir -p "$d"
    "$PINETBOOT" flash --image "$TD/$img.bin" --config "$TD/boot.conf" \
        --bootcode "$work/recovery.bin" --dry-run "$d/folder" > "$d/plan.txt"
    "$PINETBOOT" eeprom apply "$TD/$img.bin" --config "$TD/boot.conf" -o "$d/ref.bin"
    "$PINETBOOT" eeprom digest "$d/ref.bin" -o "$d/ref.sig"
    cmp "$d/folder/pieeprom.bin" "$d/ref.bin" || fail "$img: pieeprom.bin differs from eeprom apply"
    cmp "$d/folder/pieeprom.sig" "$d/ref.sig" || fail "$img: pieeprom.sig differs from eeprom digest"
    # ... and from the real rpi-eeprom-digest output in the shared vectors.
    cmp "$d/folder/pieeprom.sig" "$TD/$img.netboot.sig" || fail "$img: .sig differs from vector"
    case $img in
        *2711*) boot=bootcode4.bin ;;
        *) boot=bootcode5.bin ;;
    esac
    cmp "$d/folder/$boot" "$work/recovery.bin" || fail "$img: $boot is not recovery.bin"
    test -s "$d/folder/config.txt" || fail "$img: no config.txt"
    grep -q "dry run: USB not touched" "$d/plan.txt" || fail "$img: no dry-run line"
    grep -q "sha256 $(sha256sum < "$d/ref.bin" | cut -d' ' -f1)" "$d/plan.txt" ||
        fail "$img: plan does not show the image sha256"
done

# --set edits like `eeprom set`; --key signs like `eeprom digest -k`.
img="$TD/pieeprom-2711-2021-07-06.bin"
"$PINETBOOT" flash --image "$img" --bootcode "$work/recovery.bin" \
    --set BOOT_ORDER=0xf21 --set TFTP_PREFIX=2 --key "$TD/test-key-shared.private.pem" \
    --dry-run "$work/set/folder" > /dev/null
"$PINETBOOT" eeprom set "$img" BOOT_ORDER=0xf21 TFTP_PREFIX=2 -o "$work/set/ref.bin"
"$PINETBOOT" eeprom digest "$work/set/ref.bin" -k "$TD/test-key-shared.private.pem" \
    -o "$work/set/ref.sig"
cmp "$work/set/folder/pieeprom.bin" "$work/set/ref.bin" || fail "--set differs from eeprom set"
cmp "$work/set/folder/pieeprom.sig" "$work/set/ref.sig" || fail "--key differs from digest -k"
grep -q '^rsa2048: [0-9a-f]\{512\}$' "$work/set/folder/pieeprom.sig" || fail "no rsa2048 line"
"$PINETBOOT" eeprom verify "$work/set/folder/pieeprom.bin" "$work/set/folder/pieeprom.sig" \
    -k "$TD/test-key-shared.public.pem" > /dev/null || fail "eeprom verify rejects the flash .sig"

# Bad input: one line naming the file, non-zero exit, no output folder.
set +e
err=$("$PINETBOOT" flash --image "$work/nope.bin" --bootcode "$work/recovery.bin" \
    --dry-run "$work/bad" 2>&1 >/dev/null)
rc=$?
set -e
[ $rc -ne 0 ] || fail "missing image accepted"
[ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] || fail "expected one error line, got: $err"
grep -q "nope.bin" <<<"$err" || fail "error does not name the file: $err"
[ ! -e "$work/bad" ] || fail "a folder was written for bad input"

# No USB device here: clear message and exit 1 within the timeout; the flash
# temp folder is removed.
mkdir -p "$work/tmp"
set +e
err=$(TMPDIR="$work/tmp" timeout 60 "$PINETBOOT" flash --image "$TD/pieeprom-2711-2026-05-17.bin" \
    --bootcode "$work/recovery.bin" --timeout 1 2>&1 >/dev/null)
rc=$?
set -e
[ $rc -eq 1 ] || fail "flash without a device: exit $rc"
grep -q "no Raspberry Pi in USB boot mode appeared within 1 s" <<<"$err" || fail "message: $err"
[ -z "$(ls -A "$work/tmp")" ] || fail "temporary recovery folder left behind"
set +e
err=$(timeout 60 "$PINETBOOT" usbboot -d "$work/set/folder" --timeout 1 2>&1 >/dev/null)
rc=$?
set -e
[ $rc -eq 1 ] || fail "usbboot without a device: exit $rc"
grep -q "no Raspberry Pi in USB boot mode appeared" <<<"$err" || fail "message: $err"
echo "usbboot_flash_cli: ok"
