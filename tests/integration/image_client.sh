#!/usr/bin/env bash
# image_client.sh - client add/reset/remove on an imported image, all three
# root modes: cmdline.txt rewritten to the NFS root, fstab without SD-card
# lines, hostname, ssh, MAC-form TFTP prefix, hard-linked boot files, the
# copy-mode root's private files (/usr and /etc alike), the overlay mounted
# by `nfs apply` (inside a private mount namespace), the kernel backend's
# exports file and exportfs call (a stand-in exportfs records its
# arguments: this kernel has no nfsd), and the registry listing.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/tree_compare.sh"
PINETBOOT=${PINETBOOT:?}
W=$(mktemp -d /tmp/pnb-image-client.XXXXXX)
trap 'rm -rf "$W"' EXIT
export PINETBOOT_STATE_DIR=$W/state
S=$W/state
fails=0
ok()  { echo "PASS $*"; }
bad() { echo "FAIL $*"; fails=$((fails+1)); }
expect_eq() { [ "$2" = "$3" ] && ok "$1" || bad "$1: got '$2' want '$3'"; }

bash "$HERE/lib/make_pi_image.sh" "$W/pi.img" "$W" mbr 2>/dev/null
"$PINETBOOT" image import "$W/pi.img" --name os >/dev/null
IMG=$S/images/os

# ---- copy mode, NFSv4.1, ssh, MAC prefix
out=$("$PINETBOOT" client add --serial 9FFEFDEF --mac DC:A6:32:01:36:C2 --name rack1-07 --image os \
      --root copy --model cm4 --address 10.99.0.2 --ssh --server-ip 10.99.0.1 --nfs-version 4.1 \
      --nfs-backend none 2>&1) || bad "client add copy: $out"
echo "$out"
B=$S/tftp/9ffefdef; R=$S/roots/9ffefdef
expect_eq "copy: cmdline.txt rewritten, other arguments kept" "$(cat "$B/cmdline.txt")" \
  "console=serial0,115200 console=tty1 root=/dev/nfs nfsroot=10.99.0.1:$R,vers=4.1,tcp ip=dhcp rw rootwait fsck.repair=yes quiet"
expect_eq "MAC prefix dir links to the serial dir" "$(readlink "$S/tftp/dc-a6-32-01-36-c2")" 9ffefdef
expect_eq "boot files are hard links into the image" "$(stat -c %i "$B/start4.elf")" "$(stat -c %i "$IMG/boot/start4.elf")"
[ "$(stat -c %i "$B/cmdline.txt")" != "$(stat -c %i "$IMG/boot/cmdline.txt")" ] && ok "cmdline.txt is private" || bad "cmdline.txt shared with the image"
grep -q "root=PARTUUID" "$IMG/boot/cmdline.txt" && ok "image's own cmdline.txt untouched" || bad "image cmdline modified"
[ -e "$B/ssh" ] && ok "boot/ssh marker written" || bad "no boot/ssh"
expect_eq "fstab: SD lines disabled, the rest kept" "$(grep -c '^#pinetboot-sd# PARTUUID=1234abcd-0[12]' "$R/etc/fstab") $(grep -c '^proc ' "$R/etc/fstab") $(grep -c '^tmpfs ' "$R/etc/fstab")" "2 1 1"
expect_eq "hostname" "$(cat "$R/etc/hostname")" rack1-07
grep -qP '^127\.0\.1\.1\track1-07$' "$R/etc/hosts" && ok "hosts names the client" || bad "hosts: $(cat "$R/etc/hosts")"
expect_eq "ssh enabled" "$(readlink "$R/etc/systemd/system/multi-user.target.wants/ssh.service")" /usr/lib/systemd/system/ssh.service
[ "$(stat -c %i "$R/usr/bin/busybox")" != "$(stat -c %i "$IMG/root/usr/bin/busybox")" ] && ok "/usr file is a private inode, not a link to the image" || bad "/usr/bin/busybox shares the image's inode"
[ "$(stat -c %i "$R/etc/shadow")" != "$(stat -c %i "$IMG/root/etc/shadow")" ] && ok "/etc file is a private copy" || bad "/etc/shadow shared"
expect_eq "private copy keeps mode/owner" "$(stat -c '%a %u:%g' "$R/etc/shadow")" "640 0:42"
getcap "$R/usr/bin/ping" | grep -q cap_net_raw && ok "copy keeps the file capability" || bad "copy lost caps"
# the private root equals the image root except the files pinetboot edits
filter() { grep -v -e '^\./etc/fstab ' -e '^\./etc/hostname ' -e '^\./etc/hosts ' -e '^\./etc/systemd/system/multi-user.target.wants' -e '^\./etc ' ; }
diff <(tc_listing "$IMG/root" | filter) <(tc_listing "$R" | filter) >/dev/null && ok "private root equals the image root (but for the edits)" || bad "private root differs: $(diff <(tc_listing "$IMG/root" | filter) <(tc_listing "$R" | filter) | head -5)"
diff <(tc_devs "$IMG/root") <(tc_devs "$R") >/dev/null && diff <(tc_xattrs "$IMG/root") <(tc_xattrs "$R") >/dev/null && ok "devices and xattrs copied" || bad "devices/xattrs differ"
grep -q "\"$R\" 10.99.0.2(rw,sync,no_subtree_check,no_root_squash" <<< "$out" && ok "backend none prints a rw export limited to 10.99.0.2" || bad "export line missing"

# ---- settings persisted: no flags needed now
out=$("$PINETBOOT" client add --serial 11111111 --image os --root shared --address 10.99.0.3 2>&1) || bad "client add shared: $out"
echo "$out"
grep -q "nfsroot=10.99.0.1:$IMG/root,vers=4.1,tcp" "$S/tftp/11111111/cmdline.txt" && ok "shared: cmdline points at the image root (stored server/version reused)" || bad "shared cmdline: $(cat "$S/tftp/11111111/cmdline.txt")"
grep -q '^#pinetboot-sd# PARTUUID' "$IMG/root/etc/fstab" && ok "shared: the image root's fstab lost its SD lines" || bad "shared fstab"
grep -q "\"$IMG/root\" 10.99.0.3(ro,sync,no_subtree_check,no_root_squash" <<< "$out" && ok "shared root exported read-only" || bad "shared export line"
# Issue #15: the shared root is exported ro, and cmdline.txt mounts it ro (it said rw).
grep -q " ip=dhcp ro rootwait" "$S/tftp/11111111/cmdline.txt" && ! grep -qw rw "$S/tftp/11111111/cmdline.txt" \
    && ok "shared: cmdline.txt mounts the root ro, as exported" || bad "shared cmdline ro: $(cat "$S/tftp/11111111/cmdline.txt")"

# ---- overlay, with the boot export on
# Its nfs apply mounts the overlay (whatever the backend): in a mount namespace of its own,
# which goes with the command, and with its mount unit in $W/units, not /etc/systemd/system.
out=$(unshare --mount --propagation private "$PINETBOOT" client add --serial 22222222 --mac dc:a6:32:00:00:22 --name ov-pi --image os --root overlay --address 10.99.0.4 --boot-export --mount-unit-dir "$W/units" 2>&1) || bad "client add overlay: $out"
echo "$out"
O=$S/roots/22222222
expect_eq "overlay: hostname in the upper layer" "$(cat "$O/upper/etc/hostname")" ov-pi
grep -q "^10.99.0.1:$S/tftp/22222222 /boot/firmware nfs defaults,vers=4.1,proto=tcp,nolock 0 0" "$O/upper/etc/fstab" && ok "overlay: fstab mounts /boot/firmware from the server" || bad "overlay fstab: $(cat "$O/upper/etc/fstab")"
[ ! -e "$O/upper/usr" ] && ok "overlay: upper holds only the edits" || bad "upper has usr"
grep -q "\"$S/tftp/22222222\" 10.99.0.4(ro,sync,no_subtree_check,root_squash" <<< "$out" && ok "boot export is read-only with root squashing" || bad "boot export line: $out"

# kernel backend: exports file + exportfs -ra (stand-in), overlay mounted, all in a private mount namespace
cat > "$W/exportfs" <<EOT
#!/bin/sh
echo "\$@" >> "$W/exportfs.log"
EOT
chmod +x "$W/exportfs"
unshare --mount --propagation private bash -c "
  '$PINETBOOT' nfs apply --nfs-backend kernel --exports-file '$W/etc/exports.d/pinetboot.exports' --exportfs-command '$W/exportfs' --mount-unit-dir '$W/units' > '$W/apply.out' 2>&1 || exit 1
  cat '$O/merged/etc/hostname' > '$W/merged-hostname'
  [ -f '$O/merged/usr/bin/busybox' ] && echo yes > '$W/merged-usr'
  grep -c pinetboot-sd '$O/merged/etc/fstab' > '$W/merged-fstab'
" || bad "nfs apply (kernel): $(cat "$W/apply.out")"
cat "$W/apply.out"
expect_eq "overlay mounted by nfs apply shows the client's hostname" "$(cat "$W/merged-hostname" 2>/dev/null)" ov-pi
expect_eq "overlay shows the image's /usr" "$(cat "$W/merged-usr" 2>/dev/null)" yes
expect_eq "exportfs called with -ra" "$(cat "$W/exportfs.log" 2>/dev/null)" "-ra"
EX=$W/etc/exports.d/pinetboot.exports
grep -q "^\"$R\" 10.99.0.2(rw,sync,no_subtree_check,no_root_squash,fsid=" "$EX" && ok "kernel exports: copy root rw to its client" || bad "exports: $(cat "$EX")"
grep -q "^\"$IMG/root\" 10.99.0.3(ro," "$EX" && ok "kernel exports: shared root ro" || bad "exports shared"
grep -q "^\"$O/merged\" 10.99.0.4(rw," "$EX" && ok "kernel exports: overlay merged dir" || bad "exports overlay"
! grep -q '\*' "$EX" && ok "no export is open to everyone" || bad "wildcard export"
[ "$(grep -o 'fsid=[0-9]*' "$EX" | sort | uniq -d)" = "" ] && ok "fsid values unique" || bad "duplicate fsid"
grep -qF "$O/merged" /proc/self/mountinfo && bad "overlay mount leaked to the host namespace" || ok "no mount left in the host namespace"

# ---- reset
echo junk > "$R/root/junk"; echo changed > "$R/etc/hostname"
"$PINETBOOT" client reset 9ffefdef --no-apply >/dev/null && [ ! -e "$R/root/junk" ] && [ "$(cat "$R/etc/hostname")" = rack1-07 ] \
    && ok "reset: private root back to the image, edits re-applied" || bad "reset copy"
[ -L "$R/etc/systemd/system/multi-user.target.wants/ssh.service" ] && ok "reset keeps ssh enabled" || bad "reset lost ssh"
echo junk > "$O/upper/junk"
"$PINETBOOT" client reset 22222222 --no-apply >/dev/null && [ ! -e "$O/upper/junk" ] && [ "$(cat "$O/upper/etc/hostname")" = ov-pi ] \
    && ok "reset: overlay upper cleared and re-edited" || bad "reset overlay"
out=$("$PINETBOOT" client reset 11111111 2>&1) && bad "reset of a shared root accepted" || ok "reset of a shared root refused: $out"

# ---- registry views
expect_eq "client list --json has 3 clients" "$("$PINETBOOT" client list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" 3
expect_eq "client show by MAC" "$("$PINETBOOT" client show dc-a6-32-01-36-c2 --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["serial"], d["root_mode"], d["state"])')" "9ffefdef copy enrolled"

# ---- refusals
out=$("$PINETBOOT" client add --serial 9ffefdef --image os --address 10.99.0.9 --no-apply 2>&1) && bad "duplicate add accepted" || ok "duplicate add refused: $out"
out=$("$PINETBOOT" client add --serial xyz --image os --address 10.99.0.9 --no-apply 2>&1) && bad "bad serial accepted" || ok "bad serial refused: $out"
out=$("$PINETBOOT" client add --serial 33333333 --image os --no-apply 2>&1) && bad "add without address accepted" || ok "add without an address refused: $out"
out=$("$PINETBOOT" client add --serial 33333333 --image nope --address 10.99.0.9 --no-apply 2>&1) && bad "unknown image accepted" || ok "unknown image refused: $out"
out=$("$PINETBOOT" client add --serial 44444444 --mac dc:a6:32:01:36:c2 --image os --address 10.99.0.9 --no-apply 2>&1) && bad "MAC reuse accepted" || ok "MAC reuse refused: $out"
out=$("$PINETBOOT" image remove os 2>&1) && bad "image in use removed" || ok "removing an image in use refused: $out"

# ---- remove
"$PINETBOOT" client remove 9ffefdef --no-apply --yes >/dev/null
[ ! -e "$B" ] && [ ! -e "$R" ] && [ ! -L "$S/tftp/dc-a6-32-01-36-c2" ] && ok "remove cleans boot dir, root and MAC link" || bad "remove left files"
"$PINETBOOT" client show 9ffefdef >/dev/null 2>&1 && bad "removed client still in the registry" || ok "removed from the registry"
"$PINETBOOT" client remove 22222222 --no-apply --yes >/dev/null && "$PINETBOOT" client remove 11111111 --no-apply >/dev/null
expect_eq "state dir clean after removing every client" "$(ls -A "$S/roots") $(ls -A "$S/tftp")" " "

[ $fails = 0 ] && { echo "PASS image_client"; exit 0; }
echo "FAIL image_client ($fails)"; exit 1
