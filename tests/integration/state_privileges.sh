#!/usr/bin/env bash
# state_privileges.sh - issue #13 items 3, 4 and 8: what an imported image and
# the registry can do to the host.
#  3. the state directory, images/ and roots/ are mode 0700: an unprivileged
#     user (nobody, and uid 1000 = the image's "pi") reaches none of the
#     image's setuid binaries, device nodes or its own files in it;
#  4. copy-mode roots: no regular file shares an inode (st_dev:st_ino) with
#     the image or another client, and a write as root in one client's /usr
#     shows neither in the image nor in another client;
#  8. nfs apply/status as root: command paths stored in registry.db are not
#     run, a root_export outside roots/ and images/ (or a symlink out of
#     them) is not exported, and a registry not owned by root is refused.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
PINETBOOT=${PINETBOOT:?}
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
command -v sqlite3 >/dev/null || { echo "SKIP: needs sqlite3"; exit 77; }
W=$(mktemp -d /tmp/pnb-state-priv.XXXXXX)
trap 'rm -rf "$W"' EXIT
chmod 0755 "$W"   # the scratch dir itself is open, as /var/lib is: the state dir must not be
S=$W/state
export PINETBOOT_STATE_DIR=$S
fails=0
ok()  { echo "PASS $*"; }
bad() { echo "FAIL $*"; fails=$((fails+1)); }
expect_eq() { [ "$2" = "$3" ] && ok "$1" || bad "$1: got '$2' want '$3'"; }
as_user() { local u=$1; shift; setpriv --reuid="$u" --regid="$u" --clear-groups "$@"; }

bash "$HERE/lib/make_pi_image.sh" "$W/pi.img" "$W" mbr 2>/dev/null
"$PINETBOOT" image import "$W/pi.img" --name os >/dev/null
IMG=$S/images/os
for serial in aaaa0001 aaaa0002; do
    "$PINETBOOT" client add --serial $serial --image os --root copy --address 10.98.0.${serial: -1} \
        --server-ip 10.98.0.254 --nfs-backend none --no-apply >/dev/null
done
"$PINETBOOT" client add --serial aaaa0003 --image os --root shared --address 10.98.0.3 --no-apply >/dev/null

# ---- item 3: root only
expect_eq "state dir, images/, roots/ are 0700 root:root" \
  "$(stat -c '%a %u' "$S") $(stat -c '%a %u' "$S/images") $(stat -c '%a %u' "$S/roots")" "700 0 700 0 700 0"
[ -u "$IMG/root/usr/bin/sudo" ] && [ -u "$S/roots/aaaa0001/usr/bin/sudo" ] && ok "clients keep their setuid bits" || bad "setuid bit lost"
for u in 65534 1000; do
    as_user $u test -e "$IMG/root/usr/bin/sudo" && bad "uid $u reaches the image's setuid sudo" || ok "uid $u cannot reach the image's setuid sudo"
    as_user $u test -e "$S/roots/aaaa0001/usr/bin/sudo" && bad "uid $u reaches a client's setuid sudo" || ok "uid $u cannot reach a client's setuid sudo"
    as_user $u test -e "$S/roots/aaaa0001/dev/sda1" && bad "uid $u reaches a client's block device node" || ok "uid $u cannot reach the device nodes"
    as_user $u sh -c "echo x >> '$S/roots/aaaa0001/home/pi/notes.txt'" 2>/dev/null && bad "uid $u edits a client's /home/pi" || ok "uid $u cannot edit the image user's files"
done
# an older pinetboot's 0755 directories are tightened by the next import/add
chmod 0755 "$S/images" "$S/roots"
"$PINETBOOT" client add --serial aaaa0004 --image os --root overlay --address 10.98.0.4 --no-apply >/dev/null
expect_eq "client add tightens an open roots/" "$(stat -c %a "$S/roots")" 700

# ---- item 4: no shared inodes in copy-mode roots
inodes() { find "$1" -xdev -type f -printf '%D:%i\n' | sort -u; }
inodes "$IMG/root" > "$W/img.ino"
inodes "$S/roots/aaaa0001" > "$W/c1.ino"
inodes "$S/roots/aaaa0002" > "$W/c2.ino"
[ -s "$W/c1.ino" ] && [ -s "$W/c2.ino" ] || bad "no files listed"
expect_eq "client 1 shares no inode with the image" "$(comm -12 "$W/img.ino" "$W/c1.ino" | wc -l)" 0
expect_eq "client 2 shares no inode with the image" "$(comm -12 "$W/img.ino" "$W/c2.ino" | wc -l)" 0
expect_eq "the two clients share no inode" "$(comm -12 "$W/c1.ino" "$W/c2.ino" | wc -l)" 0
cp "$IMG/root/usr/bin/busybox" "$W/busybox.orig"
echo "rootkit" > "$S/roots/aaaa0001/usr/bin/busybox"     # root on board 1 edits in place
cmp -s "$IMG/root/usr/bin/busybox" "$W/busybox.orig" && ok "an in-place edit in client 1's /usr leaves the image alone" || bad "client 1 rewrote the image's busybox"
cmp -s "$S/roots/aaaa0002/usr/bin/busybox" "$W/busybox.orig" && ok "... and client 2's copy" || bad "client 1 rewrote client 2's busybox"
[ "$(du -k "$S/roots/aaaa0002/var/log/sparse.img" | cut -f1)" -lt 1024 ] && ok "the copy keeps the 5 MiB sparse file's hole" || bad "sparse file filled: $(du -k "$S/roots/aaaa0002/var/log/sparse.img")"
getcap "$S/roots/aaaa0002/usr/bin/ping" | grep -q cap_net_raw && ok "copies keep file capabilities" || bad "caps lost"
expect_eq "in-tree hard links survive the copy" "$(stat -c %h "$S/roots/aaaa0002/usr/bin/busybox") $(stat -c %h "$IMG/root/usr/bin/busybox")" \
  "$(stat -c %h "$IMG/root/usr/bin/busybox") $(stat -c %h "$IMG/root/usr/bin/busybox")"

# ---- item 8: the root CLI does not trust what the daemon can write
DB=$S/registry.db
cat > "$W/evil" <<EOT
#!/bin/sh
touch "$W/evil-ran"
EOT
chmod +x "$W/evil"
mkdir -p "$W/bin"
cat > "$W/bin/exportfs" <<EOT
#!/bin/sh
echo "\$@" >> "$W/exportfs.log"
EOT
chmod +x "$W/bin/exportfs"
sqlite3 "$DB" "INSERT OR REPLACE INTO settings(key, value) VALUES
  ('exportfs_command', '$W/evil'), ('ganesha_command', '$W/evil'),
  ('kernel_exports_file', '$W/evil-exports');
  UPDATE clients SET root_export = '/' WHERE serial = 'aaaa0001';
  UPDATE clients SET root_export = '$S/images/../../../etc', root_mode = 'copy' WHERE serial = 'aaaa0003';"
mkdir -p "$W/outside"; ln -s "$W/outside" "$S/roots/escape"
sqlite3 "$DB" "UPDATE clients SET root_export = '$S/roots/escape' WHERE serial = 'aaaa0002';"
# The default exportfs (no --exportfs-command) is found on PATH: the stand-in. The exports
# file is given by flag (the default is the host's /etc/exports.d).
EX=$W/etc/pinetboot.exports
out=$(PATH="$W/bin:$PATH" unshare --mount --propagation private "$PINETBOOT" nfs apply \
      --nfs-backend kernel --exports-file "$EX" 2>&1) && bad "apply with tampered rows succeeded" || ok "nfs apply fails loudly on tampered rows"
echo "$out"
[ ! -e "$W/evil-ran" ] && ok "stored exportfs_command was not run" || bad "a program stored in registry.db ran as root"
expect_eq "the compiled-in exportfs ran" "$(cat "$W/exportfs.log" 2>/dev/null)" "-ra"
grep -q "aaaa0001.*not beneath" <<< "$out" && ok "export of / refused" || bad "no refusal for /"
grep -q "aaaa0002.*not beneath" <<< "$out" && ok "symlink out of roots/ refused" || bad "no refusal for the symlink"
grep -q "aaaa0003.*not beneath" <<< "$out" && ok "copy-mode row pointing at images/../.. refused" || bad "no refusal for aaaa0003"
grep -q "^\"$S/roots/aaaa0004/merged\" 10.98.0.4(rw" "$EX" 2>/dev/null && ok "the untouched client is still exported" || bad "honest export missing: $(cat "$EX" 2>&1)"
expect_eq "no tampered path exported" "$(grep -c -e '^"/"' -e escape -e 'etc"' "$EX" 2>/dev/null || true)" 0
out=$(PATH="$W/bin:$PATH" "$PINETBOOT" nfs status --nfs-backend kernel 2>&1) || true
echo "$out" | sed -n '/^exports (/,/^answers:/p' | grep -q -e '^  / ' -e escape -e '/etc ' && bad "nfs status lists a tampered export: $out" || ok "nfs status lists no tampered export"
[ ! -e "$W/evil-ran" ] && ok "nfs status ran no stored program" || bad "nfs status ran the stored program"

# a registry (or state dir) another user owns is refused when running as root
chown 1000 "$DB"
out=$("$PINETBOOT" nfs status --nfs-backend none 2>&1) && bad "registry owned by uid 1000 accepted" || ok "registry owned by uid 1000 refused"
grep -q "not root" <<< "$out" && grep -q "chown root" <<< "$out" && ok "the refusal says how to fix it: $out" || bad "refusal text: $out"
chown 0 "$DB"; chmod g+w "$DB"
out=$("$PINETBOOT" client list 2>&1) && bad "group-writable registry accepted" || ok "group-writable registry refused"
chmod g-w "$DB"; chown 1000 "$S"
out=$("$PINETBOOT" client list 2>&1) && bad "state dir owned by uid 1000 accepted" || ok "state dir owned by uid 1000 refused"
chown 0 "$S"
"$PINETBOOT" client list >/dev/null && ok "root-owned registry accepted again" || bad "root-owned registry refused"

# ---- the shipped unit agrees: the daemon (root, one capability) owns nothing another uid can write
UNIT=${SOURCE_DIR:-$HERE/../..}/packaging/systemd/pinetboot.service
key() { sed -n "s/^$1=//p" "$UNIT" | tail -1; }
expect_eq "unit: no DynamicUser (its uid would own registry.db)" "$(key DynamicUser)" ""
expect_eq "unit: runs as root" "$(key User)" root
expect_eq "unit: state directory 0700" "$(key StateDirectory) $(key StateDirectoryMode)" "pinetboot 0700"
expect_eq "unit: bounding set is port binding only" "$(key CapabilityBoundingSet)" CAP_NET_BIND_SERVICE
key RestrictAddressFamilies | grep -q AF_PACKET && bad "unit: serve allowed AF_PACKET" || ok "unit: no raw packet sockets"

[ $fails = 0 ] && { echo "PASS state_privileges"; exit 0; }
echo "FAIL state_privileges ($fails)"; exit 1
