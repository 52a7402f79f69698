#!/usr/bin/env bash
# EEPROM rollouts, the per-board deadline and the prefix modes (issue 17; docs/eeprom-rollout.md),
# against a running `serve --dhcp full` with short --return-timeout values:
#  1. d1: a board that flashes an update and never comes back (its new BOOT_ORDER has no
#     network boot: forced) is lost after the deadline and stops the rollout in wave 1,
#     named in the status, the log and the API; a board never powered on is not reached;
#     wave 2 is never offered.
#  2. d2: boards asking under their MAC (TFTP_PREFIX=2) and under a fixed prefix that names
#     no board (TFTP_PREFIX=1, identified by their DHCP lease) take the update; a board never
#     seen is reported not reached without holding the wave: wave 2 opens and the rollout
#     ends done, naming it.
#  3. d3: the SoC. The update is a BCM2711 one (target-soc 2711); a Pi 5 the registry knows
#     (discovered by its DHCP) is refused by --model pi5 and --clients, and left out by --all.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/dhcp_lab.sh"
. "$HERE/lib/boot_tree.sh"
PINETBOOT=${PINETBOOT:?}
SHARED_DIR=${SHARED_DIR:-/work/shared}
IMG="$SHARED_DIR/testdata/eeprom/pieeprom-2711-2026-05-17.bin"
lab_up rodl
ST="$W/state"
make_boot_tree "$W/root" default pi4
cat > "$W/pinetboot.toml" <<C
[tftp]
root = "$W/root"
default_dir = "default"
C
lab_bg "$SRV" "$W/serve.log" "$PINETBOOT" serve --config "$W/pinetboot.toml" --interface s0 \
    --dhcp full --range "$NET.10,$NET.250" --lease-db "$W/leases.sqlite" --state-dir "$ST"
SERVE_PID=$LAST_PID
wait_for "$W/serve.log" "serve: ready" 10 || { bad "serve start: $(tail -3 "$W/serve.log")"; finish eeprom_rollout_deadline; }
R() { "$PINETBOOT" eeprom rollout "$@" --state-dir "$ST"; }
state_is() {  # NAME REGEX SECONDS: `rollout status --json` state/wave (serve polls 1/s)
    for _ in $(seq 1 $(($3 * 5))); do
        R status "$1" --json 2>/dev/null | python3 -c "import json,sys,re; d=json.load(sys.stdin); sys.exit(0 if re.fullmatch('$2', '%s/%s' % (d['state'], d['wave'])) else 1)" && return 0
        sleep 0.2
    done
    return 1
}
board() {  # SERIAL MAC JSON [probe flags...]: one self-updating virtual Pi 4
    local serial=$1 mac=$2 json=$3; shift 3
    ip netns exec "$CLI" timeout 60 "$PINETBOOT" probe --interface c0 --model pi4 \
        --serial "$serial" --mac "$mac" --dhcp-timeout 20 --self-update --eeprom-ts 1700000000 \
        --flash-time 1 --json "$json" "$@" > "$json.out" 2>&1
}
t0=$(date +%s)

# ---- 1. d1: a lost board stops the rollout after wave 1 --------------------------------
R create d1 --image "$IMG" --set BOOT_ORDER=0xf41 --force --timestamp 1800000000 \
    --return-timeout 4 > /dev/null 2> "$W/d1.create.err" || bad "create d1: $(cat "$W/d1.create.err")"
grep -q "shorter than a real board" "$W/d1.create.err" && ok "create: a short --return-timeout is warned about" \
    || bad "no warning for --return-timeout 4: $(cat "$W/d1.create.err")"
R start d1 --clients d1000001 d1000002 d1000003 d1000004 --wave 50% > /dev/null || bad "start d1"
state_is d1 'running/1' 5 || bad "d1 not running"
board d1000001 dc:a6:32:00:41:01 "$W/d1.json"  # flashes 0xf41 and never netboots again
state_is d1 'stopped/1' 12 && ok "d1 stopped by itself in wave 1" || bad "d1: $(R status d1 | head -3)"
R status d1 --json > "$W/d1.status.json"
python3 - "$W/d1.status.json" "$W/d1.json" <<'P' && ok "the lost board is named (failed: did not come back), the unpowered one not reached, wave 2 never offered" || bad "d1 outcome: $(head -c 600 "$W/d1.status.json")"
import json, sys
d = json.load(open(sys.argv[1])); b = {x["serial"]: x for x in d["boards"]}
p = json.load(open(sys.argv[2]))["per_board"][0]
assert p["eeprom"]["flashes"] == 1, p["eeprom"]            # it really took the update
assert b["d1000001"]["phase"] == "failed", b["d1000001"]
assert "lost: did not come back within 4 s" in b["d1000001"]["detail"], b["d1000001"]
assert "d1000001 (lost" in d["reason"] and "wave 1 of 2" in d["reason"], d["reason"]
assert b["d1000002"]["phase"] == "not_reached" and "not seen" in b["d1000002"]["detail"], b["d1000002"]
for s in ("d1000003", "d1000004"):
    assert b[s]["phase"] == "waiting" and b[s]["sig_fetches"] == 0, b[s]
P
grep -q 'ROLLOUT_BOARD_FAILED rollout=d1 serial=d1000001' "$W/serve.log" \
    && grep -q 'ROLLOUT_BOARD_NOT_REACHED rollout=d1 serial=d1000002' "$W/serve.log" \
    && grep -q 'ROLLOUT_STATE rollout=d1 state=stopped.*d1000001' "$W/serve.log" \
    && ok "serve logs the lost board, the board not reached and the stop" || bad "log: $(grep ROLLOUT_ "$W/serve.log" | tail -4)"
ip netns exec "$SRV" curl -s http://127.0.0.1:8080/api/v1/clients > "$W/api1.json"
python3 - "$W/api1.json" <<'P' && ok "/api/v1/clients: the lost board's state and the stop's reason" || bad "api: $(head -c 400 "$W/api1.json")"
import json, sys
cl = {c["serial"]: c for c in json.load(open(sys.argv[1]))["clients"] if c.get("serial")}
e = cl["d1000001"]["eeprom"]
assert e["state"] == "failed" and "did not come back" in e["detail"], e
assert e["rollout_state"] == "stopped" and "d1000001" in e["rollout_reason"], e
P
R abort d1 > /dev/null; state_is d1 'aborted/.*' 5 || bad "d1 not aborted"

# ---- 2. d2: MAC prefix, fixed prefix, a board never seen -------------------------------
R create d2 --image "$IMG" --set BOOT_ORDER=0xf21 --timestamp 1900000000 --return-timeout 8 \
    > /dev/null 2>&1 || bad "create d2"
R start d2 --clients d2000001 d2000002 d2000003 d2000004 --wave 75% > /dev/null || bad "start d2"
state_is d2 'running/1' 5 || bad "d2 not running"
board d2000001 dc:a6:32:00:42:01 "$W/mac.json" --tftp-prefix 2 &
M=$!
board d2000002 dc:a6:32:00:42:02 "$W/str.json" --tftp-prefix 1 --tftp-prefix-str default/ &
S=$!
wait $M; wait $S
python3 - "$W/mac.json" "$W/str.json" <<'P' && ok "TFTP_PREFIX=2 and =1 boards were offered and flashed the update, then booted up to date" || bad "prefix boards: $(tail -n 3 "$W/mac.json.out" "$W/str.json.out")"
import json, sys
for f in sys.argv[1:]:
    b = json.load(open(f))["per_board"][0]
    assert b["booted"] and b["eeprom"]["flashes"] == 1 and b["eeprom"]["ts"] == 1900000000, (f, b)
P
grep -q 'TFTP_DONE .*dc-a6-32-00-42-01/pieeprom.upd' "$W/serve.log" \
    && grep -Eq 'TFTP_DONE .*"?default/pieeprom.upd' "$W/serve.log" \
    && ok "the update went out under the MAC prefix and under default/" || bad "paths: $(grep -E 'TFTP_DONE.*pieeprom' "$W/serve.log" | tail -4)"
state_is d2 'running/2' 12 && ok "the board never seen did not hold wave 1: wave 2 open" || bad "d2: $(R status d2 | head -4)"
board d2000004 dc:a6:32:00:42:04 "$W/z.json"
state_is d2 'done/2' 10 && ok "d2 done" || bad "d2 after wave 2: $(R status d2 | head -4)"
R status d2 --json > "$W/d2.status.json"
python3 - "$W/d2.status.json" <<'P' && ok "d2: three up to date with one fetch each, the fourth not reached and named" || bad "d2 outcome: $(head -c 600 "$W/d2.status.json")"
import json, sys
d = json.load(open(sys.argv[1])); b = {x["serial"]: x for x in d["boards"]}
for s in ("d2000001", "d2000002", "d2000004"):
    assert b[s]["phase"] == "up_to_date" and b[s]["update_fetches"] == 1, b[s]
assert b["d2000003"]["phase"] == "not_reached", b["d2000003"]
assert "1 board not reached" in d["reason"] and "d2000003" in d["reason"], d["reason"]
assert d["soc"] == 2711, d
P
# ---- 3. d3: boards of the update's SoC only ---------------------------------------------
ip netns exec "$CLI" timeout 30 "$PINETBOOT" probe --interface c0 --model pi5 --serial d3000005 \
    --mac 2c:cf:67:00:43:05 --dhcp-timeout 10 --file-timeout 5 > "$W/pi5.out" 2>&1
for _ in $(seq 1 30); do
    "$PINETBOOT" client show d3000005 --state-dir "$ST" --json 2> /dev/null | grep -q '"pi5"' && break
    sleep 0.2
done
R create d3 --image "$IMG" --set BOOT_ORDER=0xf21 --timestamp 2000000000 > /dev/null 2>&1 || bad "create d3"
grep -q 'target-soc: 2711' "$ST/rollouts/d3/pieeprom.sig" && ok "pieeprom.sig says target-soc: 2711" || bad "d3 sig: $(cat "$ST/rollouts/d3/pieeprom.sig")"
R start d3 --model pi5 > "$W/d3a.out" 2>&1; rc=$?
[ $rc != 0 ] && grep -q "BCM2711 update" "$W/d3a.out" && ok "start --model pi5 refused for a BCM2711 update" || bad "--model pi5: rc $rc $(cat "$W/d3a.out")"
R start d3 --clients d2000001 d3000005 > "$W/d3b.out" 2>&1; rc=$?
[ $rc != 0 ] && grep -q "d3000005 (pi5)" "$W/d3b.out" && ok "start --clients refuses the Pi 5, naming it" || bad "--clients: rc $rc $(cat "$W/d3b.out")"
R start d3 --all --wave 100% > "$W/d3c.out" 2>&1 || bad "start d3 --all: $(cat "$W/d3c.out")"
R status d3 --json > "$W/d3.status.json"
python3 - "$W/d3.status.json" <<'P' && grep -q "left out 1 board of the other SoC" "$W/d3c.out" && ok "start --all takes the Pi 4 boards only and says it left the Pi 5 out" || bad "d3 --all: $(cat "$W/d3c.out") $(head -c 300 "$W/d3.status.json")"
import json, sys
d = json.load(open(sys.argv[1])); serials = {b["serial"] for b in d["boards"]}
assert "d3000005" not in serials and "d2000001" in serials and "d1000001" in serials, serials
P
R abort d3 > /dev/null

echo "    run time $(( $(date +%s) - t0 )) s"
lab_kill "$SERVE_PID"
finish eeprom_rollout_deadline
