#!/usr/bin/env bash
# Full DHCP mode with real clients (busybox udhcpc, ISC dhclient, dhcpcd) in a private
# namespace pair: every client gets a lease from the pool with options 1/3/6/15/51/54;
# leases survive a server restart (SQLite); a reservation by Pi serial (option 97) and one
# by MAC are honoured; INFORM is answered; a non-pool REQUEST is NAKed; no ACK leaves
# while the lease database refuses the lease's write.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/dhcp_lab.sh"
PINETBOOT=${PINETBOOT:?}
lab_up dfull
mkdir -p "$W/root" "$W/state"

start_server() {
    lab_bg "$SRV" "$W/serve.$1.log" "$PINETBOOT" serve --interface s0 --root "$W/root" \
        --dhcp full --range "$NET.100,$NET.150" --lease-db "$W/state/leases.sqlite" \
        --router "$SRV_IP" --dns "$SRV_IP" --domain lab.test \
        --reserve "12345678=$NET.77" --reserve "02:00:00:00:00:99=$NET.88"
    SERVE_PID=$LAST_PID
    wait_for "$W/serve.$1.log" "serve: ready" 10 || { bad "server start: $(tail -3 "$W/serve.$1.log")"; finish dhcp_full_clients; }
}
start_server 1

# busybox udhcpc: -q quit after lease; the script prints the options it got.
cat > "$W/udhcpc.sh" <<'S'
#!/bin/sh
[ "$1" = bound ] && echo "BOUND ip=$ip mask=$subnet router=$router dns=$dns domain=$domain lease=$lease serverid=$serverid"
exit 0
S
chmod +x "$W/udhcpc.sh"
out=$(ip netns exec "$CLI" timeout 20 busybox udhcpc -i c0 -f -q -n -t 5 -T 1 -s "$W/udhcpc.sh" 2>&1)
line=$(echo "$out" | grep BOUND)
if grep <<<"$line" -qE "ip=$NET\.(1[0-4][0-9]|150) mask=255.255.255.0 router=$SRV_IP dns=$SRV_IP domain=lab.test lease=3600 serverid=$SRV_IP"; then
    ok "udhcpc: $line"
else
    bad "udhcpc: $out"
fi
UDHCPC_IP=$(echo "$line" | sed -n 's/.*BOUND ip=\([0-9.]*\).*/\1/p')

# ISC dhclient: different MAC via a macvlan would change the link; use the client id of
# the same MAC instead: it simply renews the same lease (same chaddr) - check the address.
lab_bg "$CLI" "$W/dhclient.out" dhclient -4 -d -1 -v -sf /bin/true -lf "$W/dhclient.leases" \
    -pf "$W/dhclient.pid" c0
DHC=$LAST_PID
if wait_for "$W/dhclient.out" "bound to" 20; then
    ok "dhclient: $(grep -m1 'bound to' "$W/dhclient.out")"
    grep -q "bound to $UDHCPC_IP" "$W/dhclient.out" && ok "dhclient got the same lease as udhcpc (same MAC)" \
        || bad "dhclient address differs from the existing lease of this MAC"
else
    bad "dhclient: $(tail -3 "$W/dhclient.out" | tr '\n' ' ')"
fi
lab_kill "$DHC"

# dhcpcd (oneshot, no configure).
printf 'noconfigure\nnoarp\nscript /bin/true\n' > "$W/dhcpcd.conf"
out=$(ip netns exec "$CLI" timeout 30 dhcpcd -f "$W/dhcpcd.conf" -4 -1 -B -t 10 -c /bin/true c0 2>&1)
rm -f /var/lib/dhcpcd/c0.lease /var/lib/dhcpcd/c0.lease.* 2>/dev/null
grep <<<"$out" -q "leased" && ok "dhcpcd: $(echo "$out" | grep -m1 leased)" || bad "dhcpcd: $(echo "$out" | tail -3 | tr '\n' ' ')"

# Reservation by serial: a Pi DISCOVER carrying option 97 with serial 12345678 and a
# MAC that is not reserved gets .77; reservation by MAC 02:00:00:00:00:99 gets .88.
# udhcpc -x adds raw options: 0x61 = 97 (GUID: 00 'RPi4' rev 4 mac-lsb 4 serial LE).
guid="00525069344031c0000a0b0c0d78563412"
out=$(ip netns exec "$CLI" timeout 20 busybox udhcpc -i c0 -f -q -n -t 5 -T 1 -s "$W/udhcpc.sh" \
        -V "PXEClient:Arch:00000:UNDI:002001" -x "0x61:$guid" 2>&1)
grep <<<"$out" -q "BOUND ip=$NET.77 " && ok "reservation by serial 12345678 -> $NET.77" \
    || bad "reservation by serial: $out"

# Leases survive a restart: stop, start, same MAC gets the same address without DISCOVER
# state (new process), and the database file is in WAL mode.
lab_kill "$SERVE_PID"
grep -q "dhcp_sent_ACK" "$W/serve.1.log" && ok "counters printed at exit: $(grep dhcp_sent_ACK "$W/serve.1.log")" \
    || bad "no ACK counter at exit"
start_server 2
out=$(ip netns exec "$CLI" timeout 20 busybox udhcpc -i c0 -f -q -n -t 5 -T 1 -s "$W/udhcpc.sh" 2>&1)
# The reservation client above moved this MAC to .77 (serial reservation follows the board);
# the lease table must say so after the restart, and plain udhcpc (no option 97) now gets
# the lease stored for its MAC.
stored=$(echo "$out" | sed -n 's/.*BOUND ip=\([0-9.]*\).*/\1/p')
[ "$stored" = "$NET.77" ] && ok "lease survived restart ($stored from the database)" \
    || bad "after restart got '$stored', expected $NET.77 from the database: $out"
mode=$(python3 - "$W/state/leases.sqlite" <<'P' 2>&1
import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute("PRAGMA journal_mode").fetchone()[0])
P
)
[ "$mode" = wal ] && ok "lease database in WAL mode" || bad "journal_mode=$mode"

SEND="/usr/bin/python3 $HERE/lib/dhcp_send.py"
# INIT-REBOOT REQUEST (no server id) for an address outside the pool: NAK.
out=$(ip netns exec "$CLI" $SEND c0 request --mac 02:00:00:00:10:01 --requested "$NET.250")
grep <<<"$out" -q "^REPLY nak" && ok "REQUEST for $NET.250 (outside pool) -> NAK" || bad "out-of-pool REQUEST: $out"
# SELECTING REQUEST naming another server: no reply at all.
out=$(ip netns exec "$CLI" $SEND c0 request --mac 02:00:00:00:10:02 --requested "$NET.120" --server-id "$NET.9")
grep <<<"$out" -q "^NOREPLY" && ok "REQUEST for another server ignored" || bad "REQUEST for another server: $out"
# INFORM from a configured client: ACK with options, no lease time (51 absent).
out=$(ip netns exec "$CLI" $SEND c0 inform --mac 02:00:00:00:10:03 --ciaddr "$CLI_IP")
if grep <<<"$out" -q "^REPLY ack yiaddr=0.0.0.0" && ! grep <<<"$out" -q "lease_time"; then
    ok "INFORM -> ACK without lease ($out)"
else
    bad "INFORM: $out"
fi
# Reservation by MAC.
out=$(ip netns exec "$CLI" $SEND c0 discover --mac 02:00:00:00:00:99)
grep <<<"$out" -q "yiaddr=$NET.88 " && ok "reservation by MAC -> $NET.88" || bad "reservation by MAC: $out"
# No ACK without a committed lease (issue #19): while the lease database refuses writes
# (a trigger aborts them, as a full disk or a lost database would), a REQUEST gets no
# ACK; once it writes again, the retransmitted REQUEST gets its lease.
lease_triggers() {
    python3 - "$W/state/leases.sqlite" "$1" <<'P'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=5)
if sys.argv[2] == "on":
    for op in ("INSERT", "UPDATE"):
        db.execute(f"CREATE TRIGGER pnb_refuse_{op.lower()} BEFORE {op} ON leases "
                   "BEGIN SELECT RAISE(ABORT, 'injected: lease store refuses writes'); END")
else:
    db.execute("DROP TRIGGER pnb_refuse_insert"); db.execute("DROP TRIGGER pnb_refuse_update")
db.commit()
P
}
WMAC=02:00:00:00:10:05
offer=$(ip netns exec "$CLI" $SEND c0 discover --mac $WMAC)
WIP=$(echo "$offer" | sed -n 's/^REPLY offer yiaddr=\([0-9.]*\).*/\1/p')
lease_triggers on
out=$(ip netns exec "$CLI" $SEND c0 request --mac $WMAC --requested "$WIP" --server-id "$SRV_IP")
grep <<<"$out" -q "^NOREPLY" && ok "lease write refused: no ACK for $WIP" || bad "ACK without a committed lease: $out"
grep -q "DHCP_ACK_WITHHELD interface=s0 ip=$WIP" "$W/serve.2.log" && ok "the withheld ACK is logged" \
    || bad "no DHCP_ACK_WITHHELD line: $(grep -i lease "$W/serve.2.log" | tail -3 | tr '\n' ' ')"
lease_triggers off
out=$(ip netns exec "$CLI" $SEND c0 request --mac $WMAC --requested "$WIP" --server-id "$SRV_IP")
grep <<<"$out" -q "^REPLY ack yiaddr=$WIP " && ok "store writes again: the REQUEST is ACKed ($WIP)" || bad "after recovery: $out"
got=$(python3 - "$W/state/leases.sqlite" <<'P'
import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute("SELECT ip FROM leases WHERE mac = '02:00:00:00:10:05'").fetchone())
P
)
[ "$got" = "('$WIP',)" ] && ok "the ACKed lease is in the database" || bad "lease row after ACK: $got"
# Malformed datagrams are dropped and counted: truncated, bad option length, bad overload,
# absurd hops (hex built here: 236-byte header + cookie + options).
hdr() { printf '010106%02x' "$1"; printf '%08x' 305419896; printf '0%.0s' $(seq 1 40); printf '020000000001'; printf '0%.0s' $(seq 1 404); }
ip netns exec "$CLI" $SEND raw c0 "$SRV_IP" "0101060000" >/dev/null
ip netns exec "$CLI" $SEND raw c0 "$SRV_IP" "$(hdr 0)6382536335010137ff" >/dev/null
ip netns exec "$CLI" $SEND raw c0 "$SRV_IP" "$(hdr 0)63825363350101340107ff" >/dev/null
ip netns exec "$CLI" $SEND raw c0 "$SRV_IP" "$(hdr 40)63825363350101ff" >/dev/null
sleep 0.5
lab_kill "$SERVE_PID"
grep -qE "dhcp_sent_NAK [1-9]" "$W/serve.2.log" && ok "NAK counted" \
    || bad "no NAK counted: $(grep dhcp_ "$W/serve.2.log" | tr '\n' ' ')"
for r in truncated bad_option_length bad_overload absurd_hops; do
    grep -qE "dhcp_dropped_$r 1" "$W/serve.2.log" && ok "malformed packet dropped and counted: $r" \
        || bad "no drop counted for $r: $(grep dhcp_dropped "$W/serve.2.log" | tr '\n' ' ')"
done
grep -qE "dhcp_malformed 4" "$W/serve.2.log" && ok "dhcp_malformed 4" || bad "malformed total: $(grep dhcp_malformed "$W/serve.2.log")"
grep -qE "dhcp_acks_withheld 1$" "$W/serve.2.log" && ok "dhcp_acks_withheld 1 counted" \
    || bad "withheld ACKs: $(grep dhcp_acks "$W/serve.2.log")"
finish dhcp_full_clients
