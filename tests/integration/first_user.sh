#!/usr/bin/env bash
# first_user.sh - the traps a first-time user hit (issue #15), each as it
# was met: `client add` reporting one missing flag per run, the README's
# `client add` line, `doctor --server-ip` storing what it was only asked to
# check, `client remove` deleting a private root unasked and failing when
# only its nfs apply did, `client set` changing a client without losing its
# root, and the terminal output of `client show` and an empty `image list`.
# No NFS server is touched: the backend is "none" (exports printed), and
# every address is a documentation or loopback one; doctor runs without its
# DHCP probe.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
PINETBOOT=${PINETBOOT:?}
SOURCE_DIR=${SOURCE_DIR:-$(cd "$HERE/../.." && pwd)}
W=$(mktemp -d /tmp/pnb-first-user.XXXXXX)
trap 'rm -rf "$W"' EXIT
export PINETBOOT_STATE_DIR=$W/state
S=$W/state
fails=0
ok()  { echo "PASS $*"; }
bad() { echo "FAIL $*"; fails=$((fails+1)); }
expect_eq() { [ "$2" = "$3" ] && ok "$1" || bad "$1: got '$2' want '$3'"; }
# A here-string, not `echo | grep -q`: with pipefail, grep -q leaving early makes echo
# fail with SIGPIPE, and the match counted as a miss now and then.
has() { grep -qF -- "$2" <<< "$1"; }
stored() { "$PINETBOOT" settings show --json | python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

# ---- an empty image list says what to do
expect_eq "empty image list says how to import" "$("$PINETBOOT" image list)" \
  "no images yet: pinetboot image import FILE --name NAME"

# ---- client add with nothing: every missing input in one run
err=$("$PINETBOOT" client add --server-ip 192.0.2.10 2>&1 >/dev/null) && bad "client add without inputs accepted" || true
echo "$err"
has "$err" "client add needs 3 more things:" && ok "one run reports all three missing inputs" || bad "count: $err"
for want in "--serial SERIAL" "--address A.B.C.D" "--image NAME" "no images imported yet: pinetboot image import"; do
  has "$err" "$want" && ok "missing input named: $want" || bad "not named: $want"
done
has "$err" "--server-ip" && bad "--server-ip reported missing although given" || ok "--server-ip was given: not reported"
err=$("$PINETBOOT" client add 2>&1 >/dev/null) || true
has "$err" "client add needs 4 more things:" && has "$err" "--server-ip A.B.C.D" \
  && ok "without --server-ip: four, the server address among them" || bad "four: $err"
expect_eq "a failed client add stored nothing" "$(stored server_ip)" ""

# ---- the README: settings stored once, then its `client add` line works
bash "$HERE/lib/make_pi_image.sh" "$W/pi.img" "$W" mbr 2>/dev/null
"$PINETBOOT" image import "$W/pi.img" --name bookworm >/dev/null
"$PINETBOOT" image import "$W/pi.img" --name trixie >/dev/null
settings_line=$(grep -m1 '^pinetboot settings set ' "$SOURCE_DIR/README.md" | sed 's/ *#.*//')
add_line=$(grep -m1 '^pinetboot client add --serial 1234abcd' "$SOURCE_DIR/README.md" | sed 's/ *#.*//')
[ -n "$settings_line" ] && [ -n "$add_line" ] || bad "README lines not found"
echo "README: $settings_line"; echo "README: $add_line"
# shellcheck disable=SC2086
out=$("$PINETBOOT" ${settings_line#pinetboot } 2>&1) && ok "README settings line: $(echo $out)" || bad "README settings line: $out"
# shellcheck disable=SC2086
out=$("$PINETBOOT" ${add_line#pinetboot } 2>&1) && ok "the README's client add line works" || bad "README client add: $out"
echo "$out"
R=$S/roots/1234abcd
grep -q "nfsroot=$(stored server_ip):$R," "$S/tftp/1234abcd/cmdline.txt" \
  && ok "cmdline.txt names the stored server" || bad "cmdline: $(cat "$S/tftp/1234abcd/cmdline.txt" 2>&1)"
SERVER=$(stored server_ip)

# ---- doctor is read-only, and its fixes do not destroy data
out=$("$PINETBOOT" doctor --no-dhcp-probe --server-ip 198.51.100.7 2>&1) || true
expect_eq "doctor --server-ip did not store it" "$(stored server_ip)" "$SERVER"
has "$out" "--server-ip 198.51.100.7 is used for this check only" && ok "doctor says the flag is for this check" || bad "doctor note: $out"
echo "my work" > "$R/home/pi/work.txt"
"$PINETBOOT" settings set --server-ip 198.51.100.7 >/dev/null   # a wrong value, stored
out=$("$PINETBOOT" doctor --no-dhcp-probe 2>&1) || true
line=$(echo "$out" | grep -A1 "cmdline.txt points at server $SERVER but the server is 198.51.100.7" || true)
echo "$line"
has "$line" "pinetboot settings set --server-ip $SERVER" && has "$line" "pinetboot client set 1234abcd" \
  && ok "a wrong stored value: the fix names the commands that set it" || bad "doctor fix: $out"
has "$out" "re-add" && bad "doctor still suggests re-adding a client" || ok "no fix says re-add (which deletes the root)"
"$PINETBOOT" settings set --server-ip "$SERVER" >/dev/null
out=$("$PINETBOOT" doctor --no-dhcp-probe 2>&1) || true
has "$out" "cmdline.txt points at server" && bad "mismatch still reported after the fix: $out" || ok "after the fix doctor is content with cmdline.txt"

# ---- client set: the root is kept unless asked
"$PINETBOOT" settings set --server-ip 192.0.2.99 >/dev/null
out=$("$PINETBOOT" client set 1234abcd --name lab-pi --notes "rack 3" --no-apply 2>&1) && ok "client set --name --notes" || bad "client set: $out"
expect_eq "set: hostname written into the root" "$(cat "$R/etc/hostname")" lab-pi
expect_eq "set: the board's files are kept" "$(cat "$R/home/pi/work.txt" 2>&1)" "my work"
grep -q "nfsroot=192.0.2.99:$R," "$S/tftp/1234abcd/cmdline.txt" && ok "set: cmdline.txt rewritten for the current server" || bad "set cmdline: $(cat "$S/tftp/1234abcd/cmdline.txt")"
expect_eq "set: notes and name in the registry" \
  "$("$PINETBOOT" client show 1234abcd --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["name"], "/", d["notes"])')" "lab-pi / rack 3"
err=$("$PINETBOOT" client set 1234abcd --image trixie --no-apply 2>&1) && bad "image change of a copy root without --reset-root" || true
has "$err" "--reset-root" && ok "image change of a copy root needs --reset-root: $err" || bad "no reset-root hint: $err"
expect_eq "refused set changed nothing" "$(cat "$R/home/pi/work.txt" 2>&1) $("$PINETBOOT" client show 1234abcd --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["image"])')" "my work bookworm"
out=$("$PINETBOOT" client set 1234abcd --image trixie --reset-root --no-apply 2>&1) && ok "set --image --reset-root" || bad "reset-root: $out"
[ ! -e "$R/home/pi/work.txt" ] && [ "$(cat "$R/etc/hostname")" = lab-pi ] && ok "reset-root: fresh root from the new image, name kept" || bad "reset-root root"
"$PINETBOOT" client add --serial 5678abcd --image bookworm --root shared --no-apply >/dev/null
out=$("$PINETBOOT" client set 5678abcd --image trixie --no-apply 2>&1) && ok "a shared root's image changes without --reset-root" || bad "shared set: $out"
grep -q "nfsroot=192.0.2.99:$S/images/trixie/root," "$S/tftp/5678abcd/cmdline.txt" && ok "shared: cmdline.txt names the new image root" || bad "shared cmdline"

# ---- client show for a person
show=$("$PINETBOOT" client show 5678abcd)
echo "$show"
has "$show" "first_seen:  never seen" && ok "client show: first_seen never seen" || bad "first_seen: $show"
has "$show" "mac:         unknown" && ok "client show: no MAC is unknown" || bad "mac: $show"
has "$show" "null" && bad "client show prints null" || ok "client show prints no null"
expect_eq "client show --json keeps the raw values" \
  "$("$PINETBOOT" client show 5678abcd --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["mac"], d["first_seen"])')" "None 0"

# ---- client remove: a private root is not deleted unasked
echo "more work" > "$R/home/pi/work2.txt"
err=$("$PINETBOOT" client remove 1234abcd --no-apply 2>&1 </dev/null) && bad "remove of a private root without --yes (no terminal)" || rc=$?
expect_eq "no terminal, no --yes: usage error" "${rc:-0}" 2
has "$err" "--yes" && has "$err" "--keep-root" && ok "refusal names --yes and --keep-root: $err" || bad "refusal: $err"
[ -e "$R/home/pi/work2.txt" ] && "$PINETBOOT" client show 1234abcd >/dev/null && ok "nothing removed" || bad "removed anyway"
# a terminal: `script` gives the command one; "n" keeps everything
if command -v script >/dev/null; then
  printf 'n\n' | script -qec "$PINETBOOT client remove 1234abcd --no-apply" /dev/null > "$W/tty.out" 2>&1 || true
  grep -q "Delete it?" "$W/tty.out" && [ -e "$R/home/pi/work2.txt" ] && ok "on a terminal it asks, and 'n' keeps the client" \
    || bad "tty prompt: $(cat "$W/tty.out")"
else
  bad "script (util-linux) missing: the terminal prompt is untested"
fi
out=$("$PINETBOOT" client remove 1234abcd --keep-root --no-apply 2>&1) && ok "remove --keep-root" || bad "keep-root: $out"
kept=$(ls -d "$S"/roots/1234abcd.kept-* 2>/dev/null | head -1)
[ -n "$kept" ] && [ "$(cat "$kept/home/pi/work2.txt")" = "more work" ] && [ ! -e "$R" ] \
  && ok "the root is kept aside at $kept" || bad "kept root: $(ls "$S/roots")"
"$PINETBOOT" client show 1234abcd >/dev/null 2>&1 && bad "client still registered" || ok "client gone from the registry"

# only the follow-up nfs apply fails (a tampered row makes buildExports fail): exit 0, a warning
"$PINETBOOT" client add --serial 9abc0001 --image bookworm --root copy --no-apply >/dev/null
"$PINETBOOT" client add --serial 9abc0002 --image bookworm --root shared --no-apply >/dev/null
python3 - "$S/registry.db" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1]); db.execute("UPDATE clients SET address = '' WHERE serial = '9abc0002'"); db.commit()
EOF
set +e; out=$("$PINETBOOT" client remove 9abc0001 --yes 2>&1); rc=$?; set -e
echo "$out"
expect_eq "remove worked, nfs apply failed: exit 0" "$rc" 0
has "$out" "warning: the client is removed, but nfs apply failed" && has "$out" "fix:" \
  && ok "the nfs apply failure is a warning with its fix" || bad "warning: $out"
[ ! -e "$S/roots/9abc0001" ] && ok "--yes deleted the private root" || bad "root left"
python3 - "$S/registry.db" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1]); db.execute("DELETE FROM clients WHERE serial = '9abc0002'"); db.commit()
EOF

# ---- --root overlay with the default backend "none": nfs apply mounts it
# (the user's own NFS server exports merged/, empty until mounted) and writes
# a systemd mount unit so it is mounted again at boot; doctor agrees. In a
# mount namespace of its own: the mount goes with it.
"$PINETBOOT" client add --serial 0e0e0001 --image bookworm --root overlay --name ov-one --no-apply >/dev/null
O=$S/roots/0e0e0001/merged
unshare --mount --propagation private bash -c "
  '$PINETBOOT' nfs apply --mount-unit-dir '$W/units' > '$W/ov-apply.out' 2>&1 || exit 1
  cat '$O/etc/hostname' > '$W/ov-hostname'
  '$PINETBOOT' doctor --no-dhcp-probe --mount-unit-dir '$W/units' > '$W/ov-doctor.out' 2>&1
  exit 0" || bad "nfs apply with an overlay and backend none: $(cat "$W/ov-apply.out")"
cat "$W/ov-apply.out"
expect_eq "backend none: nfs apply mounted the overlay (the board's hostname shows through merged/)" \
  "$(cat "$W/ov-hostname" 2>/dev/null)" ov-one
UNIT=$W/units/$(systemd-escape --path "$O").mount
[ -f "$UNIT" ] && grep -q "^Where=$O$" "$UNIT" && grep -q "^Type=overlay$" "$UNIT" \
  && ok "mount unit written: $(basename "$UNIT")" || bad "no mount unit $UNIT: $(ls "$W/units" 2>&1)"
[ "$(readlink "$W/units/multi-user.target.wants/$(basename "$UNIT")")" = "../$(basename "$UNIT")" ] \
  && ok "mount unit enabled (multi-user.target.wants link)" || bad "wants link"
out=$(systemd-analyze verify "$UNIT" 2>&1) && ok "systemd-analyze verify accepts the unit" || bad "verify: $out"
doc=$(grep "client 0e0e0001" "$W/ov-doctor.out" 2>&1)
echo "$doc"
has "$doc" "cmdline.txt -> " && ! has "$doc" "not mounted" && ! has "$doc" "no mount unit" \
  && ok "doctor: the overlay is mounted and has its unit" || bad "doctor (after apply): $doc"
grep -q "$O" /proc/self/mountinfo && bad "overlay mount leaked to the host namespace" || ok "no mount left here"
"$PINETBOOT" client remove 0e0e0001 --yes --no-apply >/dev/null
out=$("$PINETBOOT" nfs apply --mount-unit-dir "$W/units" 2>&1) || bad "nfs apply after the removal: $out"
has "$out" "mount unit $UNIT removed" && [ ! -e "$UNIT" ] && [ ! -L "$W/units/multi-user.target.wants/$(basename "$UNIT")" ] \
  && ok "the removed client's mount unit and link are gone" || bad "unit not removed: $out"

[ $fails = 0 ] && { echo "PASS first_user"; exit 0; }
echo "FAIL first_user ($fails)"; exit 1
