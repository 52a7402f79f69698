#!/usr/bin/env bash
# nbd_root.sh - block-device roots over NBD (issue 18): two `--root nbd`
# clients on one imported image, served by the qemu-nbd processes that
# `pinetboot nbd apply` starts in the server namespace of a private lab.
# Client A writes a file through its export (from the client namespace, at
# A's address; the host has no nbd module, so the write is made with debugfs
# on a local copy and only the changed blocks are sent, as A's kernel would);
# after the exports are restarted (`nbd apply` again) A still reads it, B does
# not; the image's base is unchanged (sha256 over its size and data extents); `client reset` drops A's
# overlay. Each export lets in its board's address only: B's export, asked
# from A's address, never completes a connection. Also: cmdline.txt as
# Debian's nbd-client hook reads it, a missing qemu-nbd named with its
# package, an image in use by nbd clients cannot be removed, `--root
# nbd-image` gives the board a whole disk of its own.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/dhcp_lab.sh"
PINETBOOT=${PINETBOOT:?}
PY=/usr/bin/python3  # the Debian python3-libnbd module lives in its dist-packages
TOOL="$PY $HERE/lib/nbd_tool.py"
for p in qemu-nbd qemu-img mke2fs debugfs zstd gzip; do
    command -v "$p" >/dev/null || { echo "FAIL $p missing (scripts/setup.sh installs it)"; exit 1; }
done
$PY -c 'import nbd' 2>/dev/null || { echo "FAIL python3-libnbd missing (scripts/setup.sh)"; exit 1; }

lab_up nbd
S=$W/state
export PINETBOOT_STATE_DIR=$S
A=aaaa0001; B=bbbb0002; C=cccc0003
A_IP=$CLI_IP; B_IP=$NET.3
ip -n "$CLI" addr add "$B_IP/24" dev c0
in_cli() { ip netns exec "$CLI" "$@"; }
# Running, and not a zombie waiting for init to reap it (qemu-nbd outlives the pinetboot that started it).
alive() { local st; st=$(ps -o stat= -p "$1" 2>/dev/null); [ -n "$st" ] && [ "${st:0:1}" != Z ]; }
in_srv() { ip netns exec "$SRV" "$@"; }

bash "$HERE/lib/make_pi_image.sh" "$W/pi.img" "$W" mbr >/dev/null 2>&1
"$PINETBOOT" image import "$W/pi.img" --name os >/dev/null || { bad "image import"; finish nbd_root; }

# ---- qemu-nbd missing: apply says which package (PATH without it).
mkdir -p "$W/bin"
for t in mke2fs qemu-img; do ln -sf "$(command -v $t)" "$W/bin/$t"; done
out=$("$PINETBOOT" client add --serial $A --image os --root nbd --address "$A_IP" \
      --server-ip "$SRV_IP" --nfs-backend none --no-apply 2>&1) || bad "client add A: $out"
echo "$out"
out=$(in_srv env PATH="$W/bin" "$PINETBOOT" nbd apply 2>&1)
rc=$?
[ $rc != 0 ] && grep -q "qemu-nbd is not installed: apt install qemu-utils" <<< "$out" \
    && ok "missing qemu-nbd: fails naming qemu-utils" || bad "missing qemu-nbd: rc=$rc $out"

out=$("$PINETBOOT" client add --serial $B --image os --root nbd --address "$B_IP" --no-apply 2>&1) \
    || bad "client add B: $out"
BASE=$S/images/os/nbd-base.ext4
base_sum=$($TOOL digest "$BASE")
PA=$(cat "$S/roots/$A/port"); PB=$(cat "$S/roots/$B/port")
[ "$PA" = 10810 ] && [ "$PB" = 10811 ] && ok "ports: the lowest free ones, one per board" || bad "ports $PA $PB"
grep -q "^console=serial0,115200 console=tty1 root=/dev/nbd0 nbdroot=$SRV_IP:$PA/$A rootfstype=ext4 ip=dhcp rw rootwait fsck.repair=yes quiet$" \
    "$S/tftp/$A/cmdline.txt" && ok "cmdline.txt: nbdroot=SERVER:PORT/NAME + root=/dev/nbd0, the rest kept" \
    || bad "cmdline: $(cat "$S/tftp/$A/cmdline.txt")"
[ "$(qemu-img info --output=json "$S/roots/$A/root.qcow2" | $PY -c 'import json,sys; print(json.load(sys.stdin)["backing-filename"])')" = "$BASE" ] \
    && ok "A's root is a qcow2 overlay over the image's base" || bad "overlay backing"
debugfs -R "cat /etc/fstab" "$BASE" 2>/dev/null | grep -q '^#pinetboot-sd# PARTUUID=1234abcd-02' \
    && ok "base: fstab has its SD-card lines disabled" || bad "base fstab"

# ---- serve
out=$(in_srv "$PINETBOOT" nbd apply 2>&1) || bad "nbd apply: $out"
echo "$out"
pids1=$(cat "$S/nbd/$A.pid")
[ -n "$pids1" ] && alive "$pids1" && ok "apply started qemu-nbd for A" || bad "no qemu-nbd for A"

# A writes /pinet-a.txt through its export
in_cli $TOOL get "$SRV_IP" "$PA" $A "$A_IP" "$W/a0.img" || bad "get A"
cp --sparse=always "$W/a0.img" "$W/a1.img"
echo "written by board A" > "$W/a.txt"
debugfs -w -R "write $W/a.txt pinet-a.txt" "$W/a1.img" >/dev/null 2>&1
out=$(in_cli $TOOL put "$SRV_IP" "$PA" $A "$A_IP" "$W/a0.img" "$W/a1.img" 2>&1) || bad "put A: $out"
echo "A: $out"

# ---- restart the exports, read back
out=$(in_srv "$PINETBOOT" nbd apply 2>&1) || bad "nbd apply again: $out"
pids2=$(cat "$S/nbd/$A.pid")
[ "$pids1" != "$pids2" ] && ! alive "$pids1" && ok "apply again restarted A's qemu-nbd" || bad "not restarted ($pids1 $pids2)"
rm -f "$W/a2.img"
in_cli $TOOL get "$SRV_IP" "$PA" $A "$A_IP" "$W/a2.img" || bad "get A again"
[ "$(debugfs -R "cat /pinet-a.txt" "$W/a2.img" 2>/dev/null)" = "written by board A" ] \
    && ok "after the restart A still reads its file" || bad "A lost its file"
in_cli $TOOL get "$SRV_IP" "$PB" $B "$B_IP" "$W/b.img" || bad "get B"
debugfs -R "stat /pinet-a.txt" "$W/b.img" 2>&1 | grep -q "File not found" \
    && ok "B does not see A's file" || bad "B sees A's file"
[ "$(debugfs -R "cat /etc/hostname" "$W/b.img" 2>/dev/null)" = "$(debugfs -R "cat /etc/hostname" "$BASE" 2>/dev/null)" ] \
    && ok "B reads the base through its own overlay" || bad "B's root unreadable"
[ "$($TOOL digest "$BASE")" = "$base_sum" ] && ok "the base image is unchanged" || bad "base changed"

# ---- the address restriction
out=$(in_cli $TOOL probe "$SRV_IP" "$PB" $B "$A_IP" 1.5 2>&1)
[ $? != 0 ] && ok "B's export refuses A's address ($out)" || bad "B's export let A in: $out"
out=$(in_cli $TOOL probe "$SRV_IP" "$PA" $A "$B_IP" 1.5 2>&1)
[ $? != 0 ] && ok "A's export refuses B's address" || bad "A's export let B in: $out"
out=$(in_cli $TOOL probe "$SRV_IP" "$PB" $B "$B_IP" 1.5 2>&1)
[ $? = 0 ] && ok "B's export lets B in" || bad "B refused at its own address: $out"

out=$(in_srv "$PINETBOOT" nbd status 2>&1) || bad "nbd status: $out"
echo "$out"
grep -q "$A nbd .*$SRV_IP:$PA for $A_IP .*qemu-nbd pid" <<< "$out" && ok "status lists A's running export" || bad "status"

# ---- doctor: the initramfs must carry Debian's nbd-client hook
mk_initramfs() {  # OUT COMPRESSOR NAME... : a newc archive of empty members
    $PY - "$@" <<'PYEOF'
import subprocess, sys
out, comp, names = sys.argv[1], sys.argv[2], sys.argv[3:] + ["TRAILER!!!"]
data = b""
for i, n in enumerate(names):
    h = "070701" + "".join("%08x" % v for v in (i + 1, 0o100755, 0, 0, 1, 0, 0, 0, 0, 0, 0, len(n) + 1, 0))
    e = h.encode() + n.encode() + b"\0"
    data += e + b"\0" * (-len(e) % 4)
data = subprocess.run([comp, "-c"], input=data, capture_output=True, check=True).stdout
open(out, "wb").write(data)
PYEOF
}
doc() { in_srv "$PINETBOOT" doctor --interface s0 --no-dhcp-probe 2>&1; }
# put_file PATH TEXT: a new file over PATH (boot files are hard links into the image:
# never written in place)
put_file() { printf '%b' "$2" > "$1.new" && mv "$1.new" "$1"; }
out=$(doc)
# The generated image's config.txt has no initramfs line: the board loads none.
grep -q "client $A.*config.txt loads no initramfs" <<< "$out" && grep -q "apt install nbd-client" <<< "$out" \
    && ok "doctor: config.txt loads no initramfs, with the fix" || bad "doctor no initramfs line: $(grep "client $A" <<< "$out")"
put_file "$S/tftp/$A/config.txt" '[all]\narm_64bit=1\nauto_initramfs=1\n'
out=$(doc)
grep -q "client $A.*asks for an initramfs for kernel8.img (auto_initramfs=1) that is not in the boot tree" <<< "$out" \
    && ok "doctor: auto_initramfs=1 without initramfs8, with the fix" || bad "doctor no initramfs: $(grep "client $A" <<< "$out")"
grep -q "client $A.*cmdline.txt: nbdroot=$SRV_IP:$PA/$A" <<< "$out" && ok "doctor: cmdline names the export" || bad "doctor cmdline"
grep -q "client $A.*nfsroot" <<< "$out" && bad "doctor checks an nbd client's nfsroot" || ok "doctor: no NFS checks for an nbd client"
mk_initramfs "$S/tftp/$A/initramfs8" zstd init usr/bin/busybox
out=$(doc)
grep -q "initramfs8 cannot mount an NBD root: no sbin/nbd-client" <<< "$out" \
    && ok "doctor: a zstd initramfs without nbd-client is found out" || bad "doctor zstd: $(grep "client $A" <<< "$out")"
rm -f "$S/tftp/$A/initramfs8"
mk_initramfs "$S/tftp/$A/initramfs8" gzip init usr/sbin/nbd-client scripts/local-top/nbd
out=$(doc)
grep -q "client $A.*initramfs8 has nbd-client and its boot script" <<< "$out" \
    && ok "doctor: a gzip initramfs with the hook passes" || bad "doctor gzip: $(grep "client $A" <<< "$out")"
# os_prefix (Ubuntu's current/ layout): the board loads current/initramfs8, not the one at
# the top, so the good one at the top does not make it pass.
mkdir -p "$S/tftp/$A/current"
for f in kernel8.img bcm2711-rpi-4-b.dtb bcm2711-rpi-cm4.dtb cmdline.txt; do
    [ -e "$S/tftp/$A/$f" ] && cp "$S/tftp/$A/$f" "$S/tftp/$A/current/$f"
done
put_file "$S/tftp/$A/config.txt" '[all]\narm_64bit=1\nos_prefix=current/\nauto_initramfs=1\n'
out=$(doc)
grep -q "client $A.*config.txt asks for an initramfs for current/kernel8.img (auto_initramfs=1) that is not in the boot tree" <<< "$out" \
    && ok "doctor: under os_prefix the initramfs is looked for under current/" \
    || bad "doctor os_prefix initramfs: $(grep "client $A" <<< "$out")"
mk_initramfs "$S/tftp/$A/current/initramfs8" gzip init usr/sbin/nbd-client scripts/local-top/nbd
out=$(doc)
grep -q "client $A.*current/initramfs8 has nbd-client and its boot script" <<< "$out" \
    && ok "doctor: current/initramfs8 with the hook passes" || bad "doctor os_prefix gzip: $(grep "client $A" <<< "$out")"

# ---- an image in use by nbd clients cannot be removed
out=$("$PINETBOOT" image remove os 2>&1)
[ $? != 0 ] && [ -f "$BASE" ] && ok "image in use by nbd clients is not removed" || bad "image removed: $out"

# ---- A's overlay deleted by hand under its running export: status says so, apply
# starts nothing over the missing disk, reset makes a fresh one (below)
size_before=$(du -k "$S/roots/$A/root.qcow2" | cut -f1)
cp "$S/roots/$A/root.qcow2" "$W/a-overlay.qcow2"
pidA=$(cat "$S/nbd/$A.pid")
rm "$S/roots/$A/root.qcow2"
rc=0; out=$(in_srv "$PINETBOOT" nbd status 2>&1) || rc=$?
[ $rc != 0 ] && grep -q "$A .*its disk $S/roots/$A/root.qcow2 was deleted while qemu-nbd (pid $pidA) serves it.*client reset $A" <<< "$out" \
    && ok "status: A's overlay deleted under its running export, with the fix (exit $rc)" || bad "status after rm (rc $rc): $out"
rc=0; out=$(in_srv "$PINETBOOT" nbd apply 2>&1) || rc=$?
[ $rc != 0 ] && grep -q "client $A: $S/roots/$A/root.qcow2 or its base is missing (pinetboot client reset $A" <<< "$out" \
    && [ ! -e "$S/roots/$A/root.qcow2" ] && alive "$(cat "$S/nbd/$B.pid")" \
    && ok "apply refuses A's missing disk, makes none, B still served (exit $rc)" || bad "apply after rm (rc $rc): $out"
# Back as it was, for the reset below to show it drops A's writes.
mv "$W/a-overlay.qcow2" "$S/roots/$A/root.qcow2"

# ---- reset drops A's overlay
out=$(in_srv "$PINETBOOT" client reset $A 2>&1) || bad "client reset: $out"
echo "$out"
rm -f "$W/a3.img"
in_cli $TOOL get "$SRV_IP" "$PA" $A "$A_IP" "$W/a3.img" || bad "get A after reset"
debugfs -R "stat /pinet-a.txt" "$W/a3.img" 2>&1 | grep -q "File not found" \
    && ok "client reset dropped A's overlay (file gone, $size_before KiB before)" || bad "file survived reset"
[ "$(cat "$S/roots/$A/port")" = "$PA" ] && ok "reset kept A's port" || bad "port changed"

# ---- nbd-image: a whole disk of the board's own
out=$(in_srv "$PINETBOOT" client add --serial $C --image os --root nbd-image --address "$NET.4" 2>&1) \
    || bad "client add nbd-image: $out"
[ "$($TOOL digest "$S/roots/$C/root.img")" = "$base_sum" ] && [ "$(stat -c %i "$S/roots/$C/root.img")" != "$(stat -c %i "$BASE")" ] \
    && ok "nbd-image: a private copy of the base" || bad "nbd-image disk"
grep -q "nbdroot=$SRV_IP:10812/$C" "$S/tftp/$C/cmdline.txt" && ok "nbd-image: its own port" || bad "nbd-image cmdline"
[ -n "$(cat "$S/nbd/$C.pid" 2>/dev/null)" ] && alive "$(cat "$S/nbd/$C.pid")" \
    && ok "client add started its export" || bad "add did not start C's export"

# ---- remove follows the existing rules; its export stops
pidB=$(cat "$S/nbd/$B.pid")
out=$(in_srv "$PINETBOOT" client remove $B --yes 2>&1) || bad "client remove: $out"
! alive "$pidB" && [ ! -e "$S/roots/$B" ] && ok "remove stopped B's export and deleted its overlay" || bad "remove: $out"
alive "$(cat "$S/nbd/$A.pid")" && ok "A's export kept running" || bad "A stopped by B's removal"

in_srv "$PINETBOOT" nbd stop >/dev/null
finish nbd_root
