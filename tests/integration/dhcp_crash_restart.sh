#!/usr/bin/env bash
# Crash safety (issue #13): `kill -9` of `serve --dhcp full` in the middle of a 200-board
# storm loses no lease it ACKed. The batch's lease writes are committed before any ACK of
# the batch leaves, so every ACK seen on the wire is on disk: after a restart on the same
# lease database each of those boards holds the same address. The boards cut off by the
# kill then boot again (a real Pi restarts its boot order after a failed file; `probe`
# does not model that retry, so the second boot is a second `probe` of the same 200
# boards), and the restarted daemon boots all of them, each at its old address.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/dhcp_lab.sh"
. "$HERE/lib/boot_tree.sh"
PINETBOOT=${PINETBOOT:?}
N=200
lab_up crash
make_boot_tree "$W" root pi4
serve() {  # serve LOG: starts serve on the same lease database
    lab_bg "$SRV" "$1" "$PINETBOOT" serve --interface s0 --root "$W/root" --dhcp full \
        --range "$NET.10,$NET.250" --lease-db "$W/leases.sqlite"
    SERVE_PID=$LAST_PID
    wait_for "$1" "serve: ready" 10 || { bad "serve start: $(tail -3 "$1")"; finish dhcp_crash_restart; }
}
serve "$W/serve1.log"
ip netns exec "$CLI" timeout 300 "$PINETBOOT" probe --interface c0 --model pi4 --serial 5a5a0000 \
    --mac dc:a6:32:5a:00:00 --count $N --dhcp-timeout 45 > "$W/probe.log" 2>&1 &
PROBE_PID=$!
LAB_PIDS="$LAB_PIDS $PROBE_PID"
# Mid-storm: as soon as boards hold ACKs (DHCP for 200 boards takes milliseconds, so
# most of them are then fetching files).
for _ in $(seq 1 1000); do
    grep -q 'DHCP_ACK ' "$W/serve1.log" && break
    sleep 0.01
done
kill -9 "$SERVE_PID"
wait "$SERVE_PID" 2>/dev/null
acked=$(grep -c 'DHCP_ACK ' "$W/serve1.log")
echo "    killed serve -9 after $acked ACKs were logged"
# The ACKs the first daemon logged: MAC -> address (the log comes after the send, so
# every one of them reached the wire).
grep 'DHCP_ACK ' "$W/serve1.log" | grep -o 'mac=[0-9a-f:]* .* ip=[0-9.]*' |
    sed -E 's/mac=([0-9a-f:]+) .* ip=([0-9.]+)/\1 \2/' | sort -u > "$W/acked.txt"
wait "$PROBE_PID"
grep -q "^storm: $N/$N boards booted" "$W/probe.log" \
    && bad "the kill came after the storm: $(grep '^storm:' "$W/probe.log")" \
    || ok "killed mid-storm: $(grep -o '^storm: [0-9]*/[0-9]* boards booted' "$W/probe.log")"
serve "$W/serve2.log"
ip netns exec "$CLI" timeout 300 "$PINETBOOT" probe --interface c0 --model pi4 --serial 5a5a0000 \
    --mac dc:a6:32:5a:00:00 --count $N --dhcp-timeout 45 > "$W/probe2.log" 2>&1
rc=$?
tail -1 "$W/probe2.log" | sed 's/^/    /'
grep -q "^storm: $N/$N boards booted" "$W/probe2.log" \
    && ok "the restarted daemon booted the $N boards again" \
    || bad "second boot after the restart (probe rc $rc): $(grep '^storm:' "$W/probe2.log")"
# Each board ACKed by the first daemon got the same address from the second.
grep 'DHCP_ACK ' "$W/serve2.log" | grep -o 'mac=[0-9a-f:]* .* ip=[0-9.]*' |
    sed -E 's/mac=([0-9a-f:]+) .* ip=([0-9.]+)/\1 \2/' | sort -u > "$W/acked2.txt"
same=$(join "$W/acked.txt" "$W/acked2.txt" | awk '$2 == $3' | wc -l)
[ "$same" = "$(wc -l < "$W/acked.txt")" ] && ok "all $same boards ACKed before the kill got their address again" \
    || bad "same address after the restart: $same of $(wc -l < "$W/acked.txt")"
lab_kill "$SERVE_PID"
python3 - "$W/leases.sqlite" "$W/acked.txt" <<'P' > "$W/check.txt"
import sqlite3, sys
db = dict(sqlite3.connect(sys.argv[1]).execute("SELECT mac, ip FROM leases").fetchall())
lost = moved = 0
pairs = [l.split() for l in open(sys.argv[2]) if l.strip()]
for mac, ip in pairs:
    if mac not in db:
        lost += 1
    elif db[mac] != ip:
        moved += 1
print(len(pairs), lost, moved, len(set(db.values())) == len(db))
P
read -r n lost moved distinct < "$W/check.txt"
[ "$n" -ge 1 ] && [ "$lost" = 0 ] && [ "$moved" = 0 ] \
    && ok "all $n ACKed leases survived kill -9 with the same address" \
    || bad "ACKed before the kill: $n, lost $lost, moved $moved"
[ "$distinct" = True ] && ok "no address is leased twice" || bad "an address is leased twice"
finish dhcp_crash_restart
