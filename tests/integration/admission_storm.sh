#!/usr/bin/env bash
# Boot storm admission (issue #14): 300 boards power on together against `serve --dhcp full`
# with a deliberately small ceiling ([admission] max_boards = 40), and the probe keeps the
# bootloader's own timeouts (DHCP_TIMEOUT 45 s, TFTP_FILE_TIMEOUT 30 s) and makes one
# attempt per board. Every board must boot on that first attempt: boards beyond the
# ceiling are held at DHCP (no OFFER) and let in, in arrival order, as others finish.
# The API, /metrics and the log must show the holding.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/dhcp_lab.sh"
. "$HERE/lib/boot_tree.sh"
PINETBOOT=${PINETBOOT:?}
N=300
CEILING=40
lab_up admstorm
# 300 boards need more than the lab's /24: renumber the veth into a /16 of its own.
B="10.$((80 + NETN % 40))"
ip -n "$SRV" addr flush dev s0; ip -n "$SRV" addr add "$B.0.1/16" dev s0
ip -n "$CLI" addr flush dev c0; ip -n "$CLI" addr add "$B.0.2/16" dev c0
make_boot_tree "$W" root pi4
cat > "$W/pinetboot.toml" <<EOC
[admission]
max_boards = $CEILING
EOC
lab_bg "$SRV" "$W/serve.log" "$PINETBOOT" serve --config "$W/pinetboot.toml" --interface s0 \
    --root "$W/root" --dhcp full --range "$B.1.0,$B.2.255" --lease-time 600 \
    --lease-db "$W/leases.sqlite"
SERVE_PID=$LAST_PID
wait_for "$W/serve.log" "serve: ready" 10 || { bad "serve start: $(tail -3 "$W/serve.log")"; finish admission_storm; }
# Watch the queue while the storm runs (API every 200 ms, at most 300 s; killed when the
# probe is done). A sample may time out on the loaded server: `|| true` skips it, and
# the check below wants at least three.
( for _ in $(seq 1 1500); do
      ip netns exec "$SRV" curl -sf -m 1 http://127.0.0.1:8080/api/v1/admission || true
      echo
      sleep 0.2
  done ) > "$W/admission.jsonl" 2>/dev/null &
POLL_PID=$!
out=$(ip netns exec "$CLI" timeout 300 "$PINETBOOT" probe --interface c0 --model pi4 --serial 1234c000 \
        --mac dc:a6:32:00:30:00 --count $N 2>&1)
rc=$?
echo "$out" | grep '^storm' | sed 's/^/    /'
[ $rc = 0 ] && grep <<<"$out" -q "^storm: $N/$N boards booted" && ok "$N/$N boards booted on their first attempt" \
    || bad "storm (rc $rc): $(echo "$out" | grep -E '^verdict' | sed 's/[0-9a-f]\{8\}/X/; s/[0-9][0-9.]*/N/g' | sort | uniq -c | head -5)"
api=$(ip netns exec "$SRV" curl -sf http://127.0.0.1:8080/api/v1/admission)
metrics=$(ip netns exec "$SRV" curl -sf http://127.0.0.1:8080/metrics)
python3 - "$api" "$N" "$CEILING" <<'P' && ok "API: boards were held, all $N let in, waits recorded" || bad "API: $api"
import json, sys
a = json.loads(sys.argv[1]); n = int(sys.argv[2])
assert a["enabled"] is True
assert a["admissions"] >= n, a["admissions"]
assert a["held_boards"] >= n - int(sys.argv[3]) - 20, a["held_boards"]
assert a["waiting"] == 0, a["waiting"]
assert a["wait_seconds"]["count"] >= n and a["wait_seconds"]["sum"] > 0
assert a["throughput_bytes_per_second"] > 0
P
held=$(echo "$metrics" | awk '/^pinetboot_dhcp_held_total/ {print $2}')
[ "${held:-0}" -gt 0 ] 2>/dev/null && ok "/metrics: $held DISCOVERs held" || bad "/metrics pinetboot_dhcp_held_total: '$held'"
grep <<<"$metrics" -q '^pinetboot_admission_wait_seconds_bucket{le="+Inf"}' && ok "/metrics: wait histogram" \
    || bad "/metrics: no pinetboot_admission_wait_seconds histogram"
grep -q "admission: boot storm, holding boards" "$W/serve.log" && ok "log: holding started" || bad "log: no holding line"
kill "$POLL_PID" 2>/dev/null; wait "$POLL_PID" 2>/dev/null
# While it ran: boards waited, and never more than the ceiling were let in at once.
python3 - "$W/admission.jsonl" "$CEILING" <<'P' && ok "during the storm: boards waited, admitted never above $CEILING" || bad "queue samples: $(grep -c admitted "$W/admission.jsonl") samples"
import json, sys
samples = [json.loads(l) for l in open(sys.argv[1]) if l.strip().startswith("{")]
assert len(samples) >= 3, len(samples)
peak_admitted = max(s["admitted"] for s in samples)
peak_waiting = max(s["waiting"] for s in samples)
print(f"    {len(samples)} samples: peak admitted {peak_admitted}, peak waiting {peak_waiting}")
assert 0 < peak_admitted <= int(sys.argv[2]), peak_admitted
assert peak_waiting > 0
P
# The quiet period after the last board is a few seconds: the DHCP responder's ticks
# must bring the one "storm over" line.
wait_for "$W/serve.log" "admission: storm over" 15 && ok "log: storm over" \
    || bad "log: no storm-over line within 15 s of the last board"
lab_kill "$SERVE_PID"
finish admission_storm
