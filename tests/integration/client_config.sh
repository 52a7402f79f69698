#!/usr/bin/env bash
# client_config.sh - `client`, `nfs` and `doctor` read the pinetboot.toml that
# `serve --config` reads: [server] state_dir, the [nfs] keys (server, version,
# backend) and the first [[interface]]'s name. Precedence: flags > file >
# stored settings > defaults; what a command used is stored for the next one.
# A bad file is refused with FILE:LINE and nothing is written. Loopback only:
# every server address is in 127/8 (nfs status and doctor ping it), backend
# "none" only prints exports, doctor runs without its DHCP probe.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
PINETBOOT=${PINETBOOT:?}
W=$(mktemp -d /tmp/pnb-client-config.XXXXXX)
trap 'rm -rf "$W"' EXIT
unset PINETBOOT_STATE_DIR
S=$W/state
fails=0
ok()  { echo "PASS $*"; }
bad() { echo "FAIL $*"; fails=$((fails+1)); }
expect_eq() { [ "$2" = "$3" ] && ok "$1" || bad "$1: got '$2' want '$3'"; }

cat > "$W/pinetboot.toml" <<EOT
[server]
state_dir = "$S"

[[interface]]
name = "pnbcfgnoif0"

[nfs]
server = "127.0.0.1"
version = "4.1"
backend = "external"
EOT
CFG=$W/pinetboot.toml
# serve's checker accepts the file's keys; the one error is its interface, absent here.
out=$("$PINETBOOT" check-config --no-dhcp-probe "$CFG" 2>&1) || true
grep -q "interface pnbcfgnoif0: no such interface" <<<"$out" && grep -q ": 1 error$" <<<"$out" \
  && ok "serve's checker accepts the file but for its absent interface" || bad "check-config: $out"

bash "$HERE/lib/make_pi_image.sh" "$W/pi.img" "$W" mbr 2>/dev/null
"$PINETBOOT" image import "$W/pi.img" --name os --state-dir "$S" >/dev/null
IMG=$S/images/os

# ---- the file alone: server and version from [nfs], state dir from [server]
out=$("$PINETBOOT" client add --serial 12345678 --image os --root shared --address 10.98.0.2 \
      --config "$CFG" 2>&1) || bad "client add --config: $out"
echo "$out"
grep -q "nfsroot=127.0.0.1:$IMG/root,vers=4.1,tcp" "$S/tftp/12345678/cmdline.txt" \
  && ok "cmdline.txt: server and version from the config file" \
  || bad "cmdline: $(cat "$S/tftp/12345678/cmdline.txt" 2>&1)"
grep -q "\"$IMG/root\" 10.98.0.2(ro," <<< "$out" \
  && ok "backend \"external\" = none: exports printed, no server touched" || bad "no export line"
expect_eq "state_dir from [server]: client list --config sees the client" \
  "$("$PINETBOOT" client list --json --config "$CFG" | python3 -c 'import json,sys; print([c["serial"] for c in json.load(sys.stdin)])')" \
  "['12345678']"

# ---- flags beat the file
out=$("$PINETBOOT" client add --serial 22345678 --image os --root shared --address 10.98.0.3 \
      --config "$CFG" --nfs-version 3 --server-ip 127.0.0.9 --nfs-backend kernel --no-apply 2>&1) \
  || bad "client add flags+config: $out"
grep -q "nfsroot=127.0.0.9:$IMG/root,vers=3,tcp" "$S/tftp/22345678/cmdline.txt" \
  && ok "flags override the config file" || bad "cmdline: $(cat "$S/tftp/22345678/cmdline.txt" 2>&1)"

# ---- stored: without --config the last used settings are kept
out=$("$PINETBOOT" client add --serial 32345678 --image os --root shared --address 10.98.0.4 \
      --state-dir "$S" --no-apply 2>&1) || bad "client add stored: $out"
grep -q "nfsroot=127.0.0.9:$IMG/root,vers=3,tcp" "$S/tftp/32345678/cmdline.txt" \
  && ok "stored settings used without --config" || bad "cmdline: $(cat "$S/tftp/32345678/cmdline.txt" 2>&1)"
expect_eq "nfs status without --config: stored backend" \
  "$("$PINETBOOT" nfs status --state-dir "$S" --exportfs-command true 2>&1 | sed -n 's/^backend: //p')" kernel

# ---- the file beats stored settings (and is stored in turn)
out=$("$PINETBOOT" nfs status --config "$CFG" 2>&1) || true
expect_eq "nfs status --config: backend from the file over the stored one" \
  "$(echo "$out" | sed -n 's/^backend: //p')" none
out=$("$PINETBOOT" client add --serial 52345678 --image os --root shared --address 10.98.0.6 \
      --state-dir "$S" --no-apply 2>&1) || bad "client add after nfs status: $out"
# nfs status is a check (issue #15): the file counted for that run only, nothing was stored.
grep -q "nfsroot=127.0.0.9:$IMG/root,vers=3,tcp" "$S/tftp/52345678/cmdline.txt" \
  && ok "nfs status --config stored nothing (the stored settings stay)" \
  || bad "cmdline: $(cat "$S/tftp/52345678/cmdline.txt" 2>&1)"

# ---- doctor checks the config's interface
# stdout only: the JSON (a log line on stderr must not break the parse)
out=$("$PINETBOOT" doctor --config "$CFG" --no-dhcp-probe --json 2>"$W/doctor.err") || true
echo "$out" | python3 -c '
import json, sys
f = [x for x in json.load(sys.stdin) if x["check"] == "interface"]
sys.exit(0 if f and "pnbcfgnoif0" in f[0]["message"] else 1)' \
  && ok "doctor --config checks the first [[interface]]" || bad "doctor interface: $out $(cat "$W/doctor.err")"
out=$("$PINETBOOT" doctor --config "$CFG" --interface pnbcfgflag0 --no-dhcp-probe --json 2>&1) || true
grep -q "pnbcfgflag0 not found" <<< "$out" && ok "doctor --interface beats the file" || bad "doctor flag: $out"

# ---- a bad file: FILE:LINE, non-zero exit, nothing written
printf '[nfs]\nserver = "127.0.0.1"\nversion = 4\n' > "$W/bad.toml"
before=$(ls "$S/tftp")
for cmd in "client add --serial 42345678 --image os --address 10.98.0.5" "client list" \
           "nfs apply" "nfs status" "doctor --no-dhcp-probe"; do
  # shellcheck disable=SC2086
  if err=$("$PINETBOOT" $cmd --config "$W/bad.toml" --state-dir "$S" 2>&1 >/dev/null); then
    bad "$cmd accepted a bad config"
  else
    expect_eq "$cmd refuses the bad file with FILE:LINE" "$err" \
      "$W/bad.toml:3: nfs.version: 4 is not \"3\" or \"4.1\""
  fi
done
expect_eq "nothing enrolled from the bad file" "$(ls "$S/tftp")" "$before"
err=$("$PINETBOOT" client list --config "$W/missing.toml" 2>&1 >/dev/null) && bad "missing config accepted" \
  || expect_eq "missing config file named" "$err" "$W/missing.toml: cannot read the file"

[ $fails = 0 ] && { echo "PASS client_config"; exit 0; }
echo "FAIL client_config ($fails)"; exit 1
