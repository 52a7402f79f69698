#!/usr/bin/env bash
# A small boot storm: `probe --count 25` (distinct serials and MACs, one process) against
# `pinetboot serve --dhcp full`. Every board must get its own lease and its kernel, fetched
# from its own address; the lease database then holds 25 distinct addresses with the
# boards' serials. The storm summary says who booted on the first try (all of them), and
# --json gives the same per board.
#
# Then retries, with a short --file-timeout and a TFTP server that is not there at first.
# With the default --max-attempts 1 every board fails on its file timeout; with
# --max-attempts 2 the server starts during the first attempt's back-off and every board
# boots on its second attempt, after the 2 s file timeout and the 5 s back-off.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/dhcp_lab.sh"
. "$HERE/lib/boot_tree.sh"
PINETBOOT=${PINETBOOT:?}
N=25
lab_up pstorm
# Serials 1234ab00..1234ab18 all share one tree at the root (prefix fallback), plus one
# board with its own directory.
make_boot_tree "$W" rootfiles pi4
mkdir -p "$W/root"; cp -r "$W/rootfiles/." "$W/root/"; make_boot_tree "$W/root" 1234ab00 pi4
lab_bg "$SRV" "$W/serve.log" "$PINETBOOT" serve --interface s0 --root "$W/root" --dhcp full \
    --range "$NET.10,$NET.250" --lease-db "$W/leases.sqlite"
SERVE_PID=$LAST_PID
wait_for "$W/serve.log" "serve: ready" 10 || { bad "serve start: $(tail -3 "$W/serve.log")"; finish probe_storm; }
out=$(ip netns exec "$CLI" timeout 300 "$PINETBOOT" probe --interface c0 --model pi4 --serial 1234ab00 \
        --mac dc:a6:32:00:10:00 --count $N --dhcp-timeout 30 --json "$W/storm.json" 2>&1)
rc=$?
echo "$out" | tail -5 | sed 's/^/    /'
[ $rc = 0 ] && grep <<<"$out" -q "^storm: $N/$N boards booted" && ok "$N/$N boards booted" || bad "storm (rc $rc)"
grep <<<"$out" -qE "^storm outcome: first try $N/$N \(p50 [0-9.]+ s p99 [0-9.]+ s max [0-9.]+ s\); after retries 0/$N; never booted 0/$N; max attempts 1$" \
    && ok "outcome: every board booted on the first try" || bad "outcome line: $(echo "$out" | grep '^storm outcome')"
lab_kill "$SERVE_PID"
leases=$(python3 - "$W/leases.sqlite" <<'P'
import sqlite3, sys
rows = sqlite3.connect(sys.argv[1]).execute("SELECT ip, serial FROM leases").fetchall()
print(len({r[0] for r in rows}), len({r[1] for r in rows if r[1]}))
P
)
[ "$leases" = "$N $N" ] && ok "$N distinct leases with $N distinct serials in the database" || bad "leases/serials: $leases"
# Every board is a host of its own on the wire: its kernel came from its own leased
# address (ARP answered by the probe), not from the probe namespace's one address.
srcs=$(grep -E "TFTP_DONE tftp ok ([0-9a-f]+/)?kernel8.img " "$W/serve.log" | grep -o 'client=[0-9.]*' | sort -u | wc -l)
[ "$srcs" = "$N" ] && ok "kernels went to $N distinct board addresses" || bad "distinct TFTP client addresses: $srcs"
grep -q "client=$NET.2:" "$W/serve.log" && bad "a transfer came from the namespace's own address $NET.2" \
    || ok "no transfer from the probe namespace's own address"
grep -qE "dhcp_sent_ACK $N$" "$W/serve.log" && ok "$N ACKs" || bad "ACKs: $(grep dhcp_sent_ACK "$W/serve.log")"
kernel_size=$(stat -c %s "$W/root/kernel8.img")
/usr/bin/python3 - "$W/storm.json" "$N" "$kernel_size" <<'P' && ok "--json: $N boards, 1 attempt each, kernel time and bytes per board" || bad "--json: $(head -c 300 "$W/storm.json")"
import json, sys
d = json.load(open(sys.argv[1])); n = int(sys.argv[2]); kernel = int(sys.argv[3])
assert d["boards"] == n and d["booted"] == n and d["max_attempts"] == 1, d
assert d["first_try"]["count"] == n and d["after_retries"]["count"] == 0 and d["never"]["count"] == 0, d
assert d["attempts"] == {"1": n}, d["attempts"]
assert d["first_try"]["p50_s"] <= d["first_try"]["p99_s"] <= d["first_try"]["max_s"], d["first_try"]
assert len(d["per_board"]) == n and len({b["serial"] for b in d["per_board"]}) == n
for b in d["per_board"]:
    assert b["booted"] and b["attempts"] == 1 and b["attempt_failures"] == [], b
    assert b["time_to_booted_s"] > 0 and b["booted_attempt_start_s"] == 0, b
    assert b["bytes"] > kernel, b  # the kernel and the firmware files
    assert b["verdict"].startswith("boots:"), b
P

# ---- retries: a TFTP server that starts only during the first attempt's back-off ----
# serve hands out the leases (its own TFTP kept on loopback, off the boards' path); the
# boards' TFTP server is a `pinetboot tftp` on $NET.1:69, started late or not at all.
M=10
lab_bg "$SRV" "$W/serve2.log" "$PINETBOOT" serve --interface s0 --root "$W/root" --dhcp full \
    --range "$NET.10,$NET.250" --lease-db "$W/leases2.sqlite" --state-dir "$W/state2" \
    --tftp-listen 127.0.0.1:69 --http "127.0.0.1:$(( 20000 + ($$ % 20000) ))"
SERVE2_PID=$LAST_PID
wait_for "$W/serve2.log" "serve: ready" 10 || { bad "serve (retry) start: $(tail -3 "$W/serve2.log")"; finish probe_storm; }
probe_retry() {  # extra args...
    ip netns exec "$CLI" timeout 120 "$PINETBOOT" probe --interface c0 --model pi4 --serial 5678ab00 \
        --mac dc:a6:32:00:20:00 --count $M --dhcp-timeout 20 --file-timeout 2 "$@"
}
# No TFTP server: each board's first RRQ goes unanswered.
out=$(probe_retry --json "$W/retry1.json" 2>&1); rc=$?
echo "$out" | grep '^storm' | sed 's/^/    /'
[ $rc = 1 ] && grep <<<"$out" -q "^storm: 0/$M boards booted" \
    && grep <<<"$out" -q "; never booted $M/$M; max attempts 1$" \
    && [ "$(echo "$out" | grep -c "^verdict [0-9a-f]*: does not boot: TFTP probe 5678ab[0-9a-f]*/start4.elf from $NET.1: timeout: no complete answer within 2 s$")" = $M ] \
    && ok "max-attempts 1: all $M boards fail on the 2 s file timeout, no retry" || bad "max-attempts 1 (rc $rc): $(echo "$out" | tail -4)"
# The same with two attempts; the TFTP server starts 4.5 s in: after every first attempt
# failed (about 2 s in), before the second ones begin (about 7 s in).
probe_retry --max-attempts 2 --json "$W/retry2.json" > "$W/retry2.out" 2>&1 &
PROBE_PID=$!
sleep 4.5
lab_bg "$SRV" "$W/tftp.log" "$PINETBOOT" tftp --root "$W/root" --listen "$NET.1:69"
TFTP_PID=$LAST_PID
wait "$PROBE_PID"; rc=$?
grep '^storm' "$W/retry2.out" | sed 's/^/    /'
[ $rc = 0 ] && grep -q "^storm: $M/$M boards booted" "$W/retry2.out" \
    && grep -qE "^storm outcome: first try 0/$M; after retries $M/$M \(p50 [0-9.]+ s p99 [0-9.]+ s max [0-9.]+ s\); never booted 0/$M; max attempts 2$" "$W/retry2.out" \
    && ok "max-attempts 2: all $M boards boot on their second attempt" || bad "max-attempts 2 (rc $rc): $(tail -4 "$W/retry2.out")"
/usr/bin/python3 - "$W/retry2.json" "$M" "$NET.1" <<'P' && ok "--json: 2 attempts per board, the first failed on its file timeout, booted after file timeout + back-off" || bad "retry --json: $(head -c 400 "$W/retry2.json")"
import json, sys
d = json.load(open(sys.argv[1])); n = int(sys.argv[2]); tftp = sys.argv[3]
assert d["after_retries"]["count"] == n and d["first_try"]["count"] == 0 and d["attempts"] == {"2": n}, d
for b in d["per_board"]:
    assert b["booted"] and b["attempts"] == 2, b
    assert len(b["attempt_failures"]) == 1 and "from %s: timeout" % tftp in b["attempt_failures"][0], b
    # The second attempt began after the 2 s file timeout and the 5 s back-off.
    assert b["booted_attempt_start_s"] >= 7.0 and b["time_to_booted_s"] > b["booted_attempt_start_s"], b
    assert "; on attempt 2 (attempt 1: TFTP probe" in b["verdict"], b["verdict"]
P
lab_kill "$TFTP_PID"
lab_kill "$SERVE2_PID"
finish probe_storm
