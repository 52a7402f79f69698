#!/usr/bin/env bash
# image_boot_layout.sh - images whose config.txt moves the boot files (issue #18,
# "Newer boot layouts"): Ubuntu 25.10's current/ new/ layout (os_prefix=current/,
# [tryboot] os_prefix=new/) and a [pi5]-only os_prefix. Built with mkfs.vfat,
# mcopy and mke2fs; imported; clients added with NFS roots. Checks that the
# cmdline the board reads (fetched over TFTP from `pinetboot tftp` on loopback)
# carries the root, that a decoy flat /cmdline.txt is not the one rewritten,
# image.json's boot_layout, and doctor's chain check naming the missing file.
set -euo pipefail
PINETBOOT=${PINETBOOT:?}
W=$(mktemp -d /tmp/pnb-boot-layout.XXXXXX)
TFTP_PID=
cleanup() {
    # The server may have ended already (a failed start): then kill and wait fail, as expected.
    if [ -n "$TFTP_PID" ]; then kill "$TFTP_PID" 2>/dev/null || true; wait "$TFTP_PID" 2>/dev/null || true; fi
    rm -rf "$W"
}
trap cleanup EXIT
export PINETBOOT_STATE_DIR=$W/state
S=$W/state
fails=0
ok()  { echo "PASS $*"; }
bad() { echo "FAIL $*"; fails=$((fails+1)); }
expect_eq() { [ "$2" = "$3" ] && ok "$1" || bad "$1: got '$2' want '$3'"; }
has() { grep -qF -- "$2" <<< "$1"; }

# make_image OUT BOOTDIR: FAT32 boot partition from BOOTDIR, a tiny ext4 root.
make_image() {
    local out=$1 boot=$2 r=$W/rootsrc
    rm -rf "$r"; mkdir -p "$r/etc" "$r/usr/bin"
    printf 'LABEL=writable / ext4 defaults 0 1\nLABEL=system-boot /boot/firmware vfat defaults 0 1\n' > "$r/etc/fstab"
    echo ubuntu > "$r/etc/hostname"
    printf '127.0.0.1\tlocalhost\n' > "$r/etc/hosts"
    truncate -s 40M "$W/boot.part"
    mkfs.vfat -F 32 -n SYSTEM-BOOT "$W/boot.part" >/dev/null
    mcopy -i "$W/boot.part" -s -p -m "$boot"/* ::/
    mke2fs -q -t ext4 -F -L writable -d "$r" "$W/root.part" 16M >/dev/null
    truncate -s 57M "$out"
    printf 'label: dos\nlabel-id: 0x0badf00d\nstart=2048, size=%d, type=c\nstart=%d, size=%d, type=83\n' \
        $((40*2048)) $((2048 + 40*2048)) $((16*2048)) | sfdisk -q "$out" >/dev/null
    dd if="$W/boot.part" of="$out" bs=1M seek=1 conv=notrunc,sparse status=none
    dd if="$W/root.part" of="$out" bs=1M seek=41 conv=notrunc,sparse status=none
    rm -f "$W/boot.part" "$W/root.part"
}

# ---- Ubuntu 25.10 layout (piboot-try): boot assets in current/, a decoy at the top
U=$W/ubuntu; mkdir -p "$U/current/overlays"
cat > "$U/config.txt" <<'EOT'
[all]
kernel=vmlinuz
cmdline=cmdline.txt
initramfs initrd.img followkernel

[pi4]
max_framebuffers=2

[all]
dtparam=watchdog=on
os_prefix=current/

[tryboot]
os_prefix=new/
[all]
EOT
head -c 6000 /dev/urandom > "$U/start4.elf"; head -c 600 /dev/urandom > "$U/fixup4.dat"
for f in vmlinuz initrd.img bcm2711-rpi-4-b.dtb bcm2712-rpi-5-b.dtb; do head -c 3000 /dev/urandom > "$U/current/$f"; done
echo "README" > "$U/current/overlays/README"
echo "console=serial0,115200 multipath=off dwc_otg.lpm_enable=0 console=tty1 root=LABEL=writable rootfstype=ext4 rootwait fixrtc quiet splash panic=10" > "$U/current/cmdline.txt"
echo "console=tty1 root=LABEL=decoy rootwait" > "$U/cmdline.txt"
make_image "$W/ubuntu.img" "$U"

out=$("$PINETBOOT" image import "$W/ubuntu.img" --name ubu 2>&1) || bad "import ubuntu: $out"
echo "$out"
has "$out" "boot layout: current-new-old, with tryboot" && ok "import reports the current/new/old layout" || bad "import output: $out"
J=$S/images/ubu/image.json
expect_eq "image.json boot_layout" "$(jq -r .boot_layout "$J")" current-new-old
expect_eq "image.json boot_tryboot" "$(jq -r .boot_tryboot "$J")" true
expect_eq "image.json: Pi 4 chain reads current/cmdline.txt" "$(jq -r '.boot_chains.pi4.cmdline' "$J")" current/cmdline.txt
expect_eq "image.json: Pi 5 kernel under the prefix" "$(jq -r '.boot_chains.pi5.kernel' "$J")" current/vmlinuz
expect_eq "image.json: models found through os_prefix" "$(jq -r .models "$J")" "pi4 pi5"

out=$("$PINETBOOT" client add --serial 9FFEFDEF --name ubu-pi4 --image ubu --root copy --model pi4 \
      --address 10.99.0.2 --server-ip 10.99.0.1 --nfs-version 4.1 --nfs-backend none 2>&1) || bad "client add pi4: $out"
echo "$out"
B=$S/tftp/9ffefdef; R=$S/roots/9ffefdef
V=4.1
has "$out" "current/cmdline.txt -> nfsroot=10.99.0.1:$R" && ok "client add names the cmdline it rewrote" || bad "client add message: $out"
expect_eq "current/cmdline.txt: root replaced, every other argument kept" "$(cat "$B/current/cmdline.txt")" \
  "console=serial0,115200 multipath=off dwc_otg.lpm_enable=0 console=tty1 root=/dev/nfs nfsroot=10.99.0.1:$R,vers=$V,tcp ip=dhcp rw rootwait fixrtc quiet splash panic=10"
expect_eq "the decoy /cmdline.txt is not rewritten" "$(cat "$B/cmdline.txt")" "console=tty1 root=LABEL=decoy rootwait"
expect_eq "the decoy stays a link to the image's file" "$(stat -c %i "$B/cmdline.txt")" "$(stat -c %i "$S/images/ubu/boot/cmdline.txt")"
grep -q "root=LABEL=writable" "$S/images/ubu/boot/current/cmdline.txt" && ok "the image's own current/cmdline.txt untouched" || bad "image cmdline modified"
[ ! -e "$B/new" ] && ok "no new/ made up (the tryboot prefix is not viable without it)" || bad "new/ appeared"

# What the board reads, over TFTP from `pinetboot tftp` on loopback.
if command -v curl >/dev/null; then
    "$PINETBOOT" tftp --root "$S/tftp" --listen 127.0.0.1:0 > "$W/listen.txt" 2> "$W/tftp.log" &
    TFTP_PID=$!
    for _ in $(seq 50); do grep -q '^listening on ' "$W/listen.txt" && break; sleep 0.1; done
    PORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$W/listen.txt")
    got=$(curl -s --max-time 5 "tftp://127.0.0.1:$PORT/9ffefdef/current/cmdline.txt")
    has "$got" "nfsroot=10.99.0.1:$R,vers=$V,tcp" && ok "TFTP: the cmdline the board reads carries the NFS root" || bad "TFTP fetch: '$got' $(tail -3 "$W/tftp.log")"
    got=$(curl -s --max-time 5 "tftp://127.0.0.1:$PORT/9ffefdef/cmdline.txt")
    expect_eq "TFTP: the decoy is served unchanged" "$got" "console=tty1 root=LABEL=decoy rootwait"
    kill "$TFTP_PID"; wait "$TFTP_PID" 2>/dev/null || true; TFTP_PID=
else
    bad "curl is not installed (apt install curl): the TFTP fetch was not checked"
fi

# doctor follows the chain: config.txt -> os_prefix=current/ -> kernel, dtb, cmdline.
# In a network namespace of its own (only lo): nothing reaches a real interface.
# Its exit status is 1 whenever anything fails (no NFS server here): the findings are read below.
doctor() { unshare --net "$PINETBOOT" doctor --no-dhcp-probe --json || true; }
d=$(doctor)
msg=$(jq -r '.[] | select(.check=="client 9ffefdef") | .message' <<< "$d")
has "$msg" "boot tree complete for pi4" && has "$msg" "current/cmdline.txt via os_prefix=current/" \
    && ok "doctor: chain complete via os_prefix=current/" || bad "doctor chain: $msg"
rm "$B/current/vmlinuz"
d=$(doctor)
msg=$(jq -r '.[] | select(.check=="client 9ffefdef" and .severity=="FAIL") | .message + " | fix: " + .fix' <<< "$d")
has "$msg" "lacks current/vmlinuz (config.txt sets os_prefix=current/: without current/vmlinuz the firmware ignores the prefix and reads vmlinuz, bcm2711-rpi-4-b.dtb and cmdline.txt from the top)" \
    && has "$msg" "fix: put current/ back into the image's boot partition" && ok "doctor names the missing kernel under the prefix, with a fix" || bad "doctor missing kernel: $msg"

# ---- the same image served in place (image add --in-place, a --root nbd client): the
# board's generated current/cmdline.txt is the only file in its folder; over TFTP
# (`pinetboot tftp --in-place`, serve's file source) the rest comes out of the image.
out=$("$PINETBOOT" image add "$W/ubuntu.img" --name ubu-ip --in-place 2>&1) || bad "image add --in-place ubuntu: $out"
J=$S/images/ubu-ip/image.json
expect_eq "in place: image.json boot_layout" "$(jq -r .boot_layout "$J")" current-new-old
expect_eq "in place: image.json: Pi 4 chain reads current/cmdline.txt" "$(jq -r '.boot_chains.pi4.cmdline' "$J")" current/cmdline.txt
out=$("$PINETBOOT" client add --serial 77777777 --image ubu-ip --root nbd --model pi4 --address 10.99.0.9 --no-apply 2>&1) \
    || bad "client add on the in-place image: $out"
B7=$S/tftp/77777777
grep -q "root=/dev/nbd0p2 nbdroot=10.99.0.1:[0-9]*/77777777 " "$B7/current/cmdline.txt" \
    && grep -q "^console=serial0,115200 multipath=off .* fixrtc quiet splash panic=10$" "$B7/current/cmdline.txt" \
    && ok "in place: current/cmdline.txt generated with the NBD root, every other argument kept" \
    || bad "in place cmdline: $(cat "$B7/current/cmdline.txt" 2>&1)"
expect_eq "in place: the board's folder holds only the generated cmdline" "$(cd "$B7" && find . -type f | sort | tr '\n' ' ')" "./current/cmdline.txt "
"$PINETBOOT" tftp --root "$S/tftp" --listen 127.0.0.1:0 --in-place 77777777=ubu-ip > "$W/listen7.txt" 2> "$W/tftp7.log" &
TFTP_PID=$!
for _ in $(seq 50); do grep -q '^listening on ' "$W/listen7.txt" && break; sleep 0.1; done
PORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$W/listen7.txt")
got=$(curl -s --max-time 5 "tftp://127.0.0.1:$PORT/77777777/current/cmdline.txt") || true  # checked below
has "$got" "nbdroot=10.99.0.1:" && ok "in place, TFTP: the cmdline the board reads carries the NBD root" || bad "in place TFTP cmdline: '$got' $(tail -3 "$W/tftp7.log")"
got=$(curl -s --max-time 5 "tftp://127.0.0.1:$PORT/77777777/cmdline.txt") || true  # checked below
expect_eq "in place, TFTP: the decoy comes from the image, unchanged" "$got" "console=tty1 root=LABEL=decoy rootwait"
curl -s --max-time 5 -o "$W/vmlinuz7" "tftp://127.0.0.1:$PORT/77777777/current/vmlinuz" || true  # compared below
cmp -s "$W/vmlinuz7" "$U/current/vmlinuz" && ok "in place, TFTP: current/vmlinuz out of the image" || bad "in place vmlinuz"
kill "$TFTP_PID"; wait "$TFTP_PID" 2>/dev/null || true; TFTP_PID=
# doctor reads an in-place board's tree as TFTP serves it: its folder, then the image.
d=$(doctor)
msg=$(jq -r '.[] | select(.check=="client 77777777") | .severity + " " + .message' <<< "$d")
echo "$msg" | sed 's/^/    /'
has "$msg" "ok boot tree complete for pi4 ($B7): current/vmlinuz, current/bcm2711-rpi-4-b.dtb, current/cmdline.txt via os_prefix=current/" \
    && ok "doctor: the in-place board's chain is complete through the image's files" || bad "doctor in place chain: $msg"
has "$msg" "ok cmdline.txt: nbdroot=10.99.0.1:" && ok "doctor: the in-place board's cmdline names its partition root and export" \
    || bad "doctor in place cmdline: $msg"
has "$msg" "initrd.img (in image ubu-ip) cannot mount an NBD root" || has "$msg" "cannot read initrd.img (in image ubu-ip)" \
    && ok "doctor: the initramfs is looked into out of the image" || bad "doctor in place initramfs: $msg"
rc=0; out=$("$PINETBOOT" tftp --root "$S/tftp" --listen 127.0.0.1:0 --in-place x=nosuch --in-place y=ubu 2>&1) || rc=$?
[ $rc != 0 ] && has "$out" "x=nosuch" && has "$out" "image ubu was imported, not added in place" \
    && ok "tftp --in-place: every bad argument named at once, not started (exit $rc)" || bad "tftp --in-place errors (rc $rc): $out"

# ---- the same layout after flash-kernel wrote new/: a tryboot boot reads new/cmdline.txt
cp -r "$U/current" "$U/new"
make_image "$W/ubuntu-new.img" "$U"
"$PINETBOOT" image import "$W/ubuntu-new.img" --name ubu-new >/dev/null 2>&1 || bad "import ubuntu-new"
out=$("$PINETBOOT" client add --serial 33333333 --image ubu-new --root copy --model pi5 --address 10.99.0.5 2>&1) || bad "client add pi5 tryboot: $out"
B3=$S/tftp/33333333
grep -q "nfsroot=10.99.0.1:$S/roots/33333333," "$B3/current/cmdline.txt" && grep -q "nfsroot=10.99.0.1:$S/roots/33333333," "$B3/new/cmdline.txt" \
    && ok "normal and tryboot cmdlines (current/, new/) both carry the root" || bad "tryboot targets: $(cat "$B3/current/cmdline.txt" "$B3/new/cmdline.txt")"
expect_eq "decoy still untouched with new/ present" "$(cat "$B3/cmdline.txt")" "console=tty1 root=LABEL=decoy rootwait"
d=$(doctor)
has "$(jq -r '.[] | select(.check=="client 33333333") | .message' <<< "$d")" "tryboot boot reads new/cmdline.txt, which names the root" \
    && ok "doctor checks the tryboot chain's cmdline" || bad "doctor tryboot: $d"

# ---- a [pi5]-only os_prefix: Pi 4 flat, Pi 5 under pi5/
P=$W/pi5pre; mkdir -p "$P/pi5"
printf '[all]\narm_64bit=1\n[pi5]\nos_prefix=pi5/\n[all]\n' > "$P/config.txt"
head -c 6000 /dev/urandom > "$P/start4.elf"; head -c 600 /dev/urandom > "$P/fixup4.dat"
head -c 3000 /dev/urandom > "$P/kernel8.img"; head -c 3000 /dev/urandom > "$P/bcm2711-rpi-4-b.dtb"
head -c 3000 /dev/urandom > "$P/pi5/kernel_2712.img"; head -c 3000 /dev/urandom > "$P/pi5/bcm2712-rpi-5-b.dtb"
echo "console=tty1 root=PARTUUID=0badf00d-02 rootwait flat" > "$P/cmdline.txt"
echo "console=ttyAMA10 root=PARTUUID=0badf00d-02 rootwait five" > "$P/pi5/cmdline.txt"
make_image "$W/pi5pre.img" "$P"
out=$("$PINETBOOT" image import "$W/pi5pre.img" --name p5 2>&1) || bad "import p5: $out"
expect_eq "image.json boot_layout os_prefix" "$(jq -r .boot_layout "$S/images/p5/image.json")" os_prefix
expect_eq "image.json: no tryboot chain" "$(jq -r .boot_tryboot "$S/images/p5/image.json")" false

"$PINETBOOT" client add --serial 55555555 --image p5 --root copy --model pi5 --address 10.99.0.6 >/dev/null 2>&1 || bad "client add p5 pi5"
B5=$S/tftp/55555555
grep -q "nfsroot=10.99.0.1:$S/roots/55555555," "$B5/pi5/cmdline.txt" && grep -q "console=ttyAMA10 .* five$" "$B5/pi5/cmdline.txt" && ok "pi5: pi5/cmdline.txt rewritten, its own arguments kept" || bad "pi5 cmdline: $(cat "$B5/pi5/cmdline.txt")"
expect_eq "pi5: the flat cmdline.txt untouched" "$(cat "$B5/cmdline.txt")" "console=tty1 root=PARTUUID=0badf00d-02 rootwait flat"
"$PINETBOOT" client add --serial 44444444 --image p5 --root copy --model pi4 --address 10.99.0.7 >/dev/null 2>&1 || bad "client add p5 pi4"
B4=$S/tftp/44444444
grep -q "nfsroot=10.99.0.1:$S/roots/44444444," "$B4/cmdline.txt" && grep -q " flat$" "$B4/cmdline.txt" && ok "pi4: the flat cmdline.txt rewritten" || bad "pi4 cmdline: $(cat "$B4/cmdline.txt")"
expect_eq "pi4: pi5/cmdline.txt untouched" "$(cat "$B4/pi5/cmdline.txt")" "console=ttyAMA10 root=PARTUUID=0badf00d-02 rootwait five"
"$PINETBOOT" client add --serial 66666666 --image p5 --root copy --address 10.99.0.8 >/dev/null 2>&1 || bad "client add p5 unknown model"
B6=$S/tftp/66666666
grep -q "nfsroot=" "$B6/cmdline.txt" && grep -q "nfsroot=" "$B6/pi5/cmdline.txt" \
    && ok "unknown model: both chains' cmdlines rewritten" || bad "unknown model targets"

echo "$fails failure(s)"
[ "$fails" = 0 ]
