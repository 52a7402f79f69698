#!/usr/bin/env bash
# store_postgresql_leases.sh - full-mode DHCP with its leases in the PostgreSQL store
# (issue #19): `serve` in a private namespace pair with [store] backend = "postgresql"
# on a server started here (lib/pg_server.sh, unix socket only). A REQUEST's lease is a
# row of the store's leases table (no SQLite lease file), survives a restart of serve,
# and no ACK leaves while the database refuses the lease's write.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/dhcp_lab.sh"
# shellcheck source=lib/pg_server.sh
. "$HERE/lib/pg_server.sh"
PINETBOOT=${PINETBOOT:?}
unset PINETBOOT_STORE_URL PINETBOOT_STATE_DIR
lab_up pgdhcp
trap 'pg_down; lab_cleanup' EXIT
mkdir -p "$W/root" "$W/state" "$W/pg"
pg_up "$W/pg" || { bad "cannot start the test's PostgreSQL server"; finish store_postgresql_leases; }
"$PG_BIN/psql" "$PG_URL" -XAtq -c "CREATE DATABASE reg"
URL="postgresql:///reg?host=$W/pg&user=pinet"
pq() { "$PG_BIN/psql" "$URL" -XAtq -v ON_ERROR_STOP=1 -c "$1"; }
cat > "$W/pinetboot.toml" <<EOT
[server]
state_dir = "$W/state"

[store]
backend = "postgresql"
url = "$URL"
EOT
SEND="/usr/bin/python3 $HERE/lib/dhcp_send.py"

printf '[server]\nstate_dir = "%s"\n' "$W/state" > "$W/nostore.toml"

# start_server N CONFIG [ENV=VALUE...]
start_server() {
    local n=$1 cfg=$2; shift 2
    lab_bg "$SRV" "$W/serve.$n.log" env "$@" "$PINETBOOT" serve --config "$cfg" \
        --interface s0 --root "$W/root" --dhcp full --range "$NET.100,$NET.150" \
        --tftp-listen "$SRV_IP:69" --http 127.0.0.1:18090
    SERVE_PID=$LAST_PID
    wait_for "$W/serve.$n.log" "serve: ready" 10 \
        || { bad "server start: $(tail -3 "$W/serve.$n.log")"; finish store_postgresql_leases; }
}
start_server 1 "$W/pinetboot.toml"
grep -q 'STORE_OPEN store="postgresql postgresql:///reg' "$W/serve.1.log" \
    && ok "serve opened the PostgreSQL store" || bad "no STORE_OPEN: $(grep STORE "$W/serve.1.log")"

M1=02:00:00:00:20:01
offer=$(ip netns exec "$CLI" $SEND c0 discover --mac $M1)
IP1=$(echo "$offer" | sed -n 's/^REPLY offer yiaddr=\([0-9.]*\).*/\1/p')
out=$(ip netns exec "$CLI" $SEND c0 request --mac $M1 --requested "$IP1" --server-id "$SRV_IP")
grep <<<"$out" -q "^REPLY ack yiaddr=$IP1 " && ok "REQUEST ACKed: $IP1" || bad "ACK: $offer / $out"
[ "$(pq "SELECT interface, ip FROM leases WHERE mac = '$M1'")" = "s0|$IP1" ] \
    && ok "the lease is a row of the store's leases table" || bad "leases: $(pq 'SELECT * FROM leases')"
[ ! -e "$W/state/dhcp-leases-s0.sqlite" ] && ok "no SQLite lease file" || bad "dhcp-leases-s0.sqlite created"

# The database refuses lease writes: no ACK; then it writes again: ACK.
pq "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN
    RAISE EXCEPTION 'injected: the store refuses lease writes'; END \$\$;
    CREATE TRIGGER refuse BEFORE INSERT OR UPDATE ON leases FOR EACH ROW EXECUTE FUNCTION refuse();"
M2=02:00:00:00:20:02
offer=$(ip netns exec "$CLI" $SEND c0 discover --mac $M2)
IP2=$(echo "$offer" | sed -n 's/^REPLY offer yiaddr=\([0-9.]*\).*/\1/p')
out=$(ip netns exec "$CLI" $SEND c0 request --mac $M2 --requested "$IP2" --server-id "$SRV_IP")
grep <<<"$out" -q "^NOREPLY" && ok "store refuses the write: no ACK for $IP2" || bad "ACK without a committed lease: $out"
grep -q "DHCP_ACK_WITHHELD interface=s0 ip=$IP2" "$W/serve.1.log" && ok "the withheld ACK is logged" \
    || bad "no DHCP_ACK_WITHHELD: $(grep -i 'lease' "$W/serve.1.log" | tail -2 | tr '\n' ' ')"
pq "DROP TRIGGER refuse ON leases"
out=$(ip netns exec "$CLI" $SEND c0 request --mac $M2 --requested "$IP2" --server-id "$SRV_IP")
grep <<<"$out" -q "^REPLY ack yiaddr=$IP2 " && ok "store writes again: ACK for $IP2" || bad "after recovery: $out"
[ "$(pq "SELECT ip FROM leases WHERE mac = '$M2'")" = "$IP2" ] && ok "its row is there" || bad "no row for $M2"

# A new serve process restores the leases from the store; this one is told where it is
# by PINETBOOT_STORE_URL alone (its file has no [store]).
lab_kill "$SERVE_PID"
grep -qE "dhcp_acks_withheld 1$" "$W/serve.1.log" && ok "dhcp_acks_withheld 1 at exit" \
    || bad "withheld counter: $(grep dhcp_acks "$W/serve.1.log")"
start_server 2 "$W/nostore.toml" "PINETBOOT_STORE_URL=$URL"
# A newcomer first: with the leases restored, neither stored address is free for it.
offer=$(ip netns exec "$CLI" $SEND c0 discover --mac 02:00:00:00:20:03)
IP3=$(echo "$offer" | sed -n 's/^REPLY offer yiaddr=\([0-9.]*\).*/\1/p')
[ -n "$IP3" ] && [ "$IP3" != "$IP1" ] && [ "$IP3" != "$IP2" ] \
    && ok "after a restart a new board is offered $IP3, not a stored lease's address" \
    || bad "newcomer after restart: $offer (stored: $IP1 $IP2)"
offer=$(ip netns exec "$CLI" $SEND c0 discover --mac $M1)
grep <<<"$offer" -q "^REPLY offer yiaddr=$IP1 " && ok "after a restart $M1 is offered its stored $IP1" \
    || bad "after restart: $offer"
[ ! -e "$W/state/registry.db" ] && [ ! -e "$W/state/dhcp-leases-s0.sqlite" ] \
    && ok "PINETBOOT_STORE_URL alone: no SQLite file either" || bad "SQLite files created: $(ls "$W/state")"

# The database goes away under a running serve: it says so once (log, /healthz degraded
# with 200, pinetboot_store_up 0), promises no lease it cannot commit, and recovers by
# itself when the database is back.
H() { ip netns exec "$SRV" curl -s -o "$W/h.body" -w '%{http_code}' "http://127.0.0.1:18090$1"; }
pg_down
wait_for "$W/serve.2.log" "STORE_DOWN" 5 && ok "database stopped: STORE_DOWN logged" \
    || bad "no STORE_DOWN: $(tail -3 "$W/serve.2.log")"
code=$(H /healthz)
[ "$code" = 200 ] && grep -q "^degraded: the client store cannot be read" "$W/h.body" \
    && ok "/healthz 200 degraded: $(head -c 90 "$W/h.body")" || bad "/healthz $code: $(cat "$W/h.body")"
H /metrics >/dev/null
grep -q "^pinetboot_store_up 0$" "$W/h.body" && ok "pinetboot_store_up 0" \
    || bad "store_up: $(grep store_up "$W/h.body")"
out=$(ip netns exec "$CLI" $SEND c0 request --mac $M1 --requested "$IP1" --server-id "$SRV_IP")
grep <<<"$out" -q "^NOREPLY" && ok "database down: no ACK that could not be committed" \
    || bad "ACK while the database is down: $out"
sleep 2
[ "$(grep -c STORE_DOWN "$W/serve.2.log")" = 1 ] && ok "one STORE_DOWN line, not one a second" \
    || bad "STORE_DOWN lines: $(grep -c STORE_DOWN "$W/serve.2.log")"
pg_start "$W/pg" || bad "cannot restart the test's PostgreSQL server"
wait_for "$W/serve.2.log" "STORE_UP" 10 && ok "database back: STORE_UP logged" \
    || bad "no STORE_UP: $(tail -3 "$W/serve.2.log")"
code=$(H /healthz)
[ "$code" = 200 ] && [ "$(cat "$W/h.body")" = ok ] && ok "/healthz ok again" || bad "/healthz after: $code $(cat "$W/h.body")"
out=$(ip netns exec "$CLI" $SEND c0 request --mac $M1 --requested "$IP1" --server-id "$SRV_IP")
grep <<<"$out" -q "^REPLY ack yiaddr=$IP1 " && ok "database back: ACK for $IP1" || bad "after the database came back: $out"
lab_kill "$SERVE_PID"
finish store_postgresql_leases
