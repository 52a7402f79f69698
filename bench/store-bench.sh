#!/usr/bin/env bash
# store-bench.sh - DHCP leases per second by store (issue #19), in one run, inside network
# namespaces this script creates (pnb-stbench-$$-*) and removes again:
#   sqlite: one `serve --dhcp full` node, leases in its SQLite file (the default);
#   pg:     one node on a PostgreSQL 15 store started here (leases in its `leases` table);
#   pg2:    two nodes on one PostgreSQL store, sharing the pool by the RFC 3074 hash of
#           the MAC ([store] node_id n1 / n2), on one bridge with the client.
# perfdhcp (kea-admin) runs DORA at RATE/s with RANGE distinct MACs for PERIOD s from the
# client namespace; leases/s = ACKs received / PERIOD.
#
# PostgreSQL runs durable here (fsync and synchronous_commit on, as a real store does),
# unlike the tests' throwaway servers; PG_FAST=1 turns both off to see what the disk costs.
# The SQLite lease store runs in WAL mode with synchronous=NORMAL (src/io/dhcp/).
#
# Usage: bench/store-bench.sh [BUILD_DIR]
# Env: RATE (4000), RANGE (60000), PERIOD (10), PARTS ("sqlite pg pg2"), PG_FAST, KEEP=DIR.
# Needs root. Bounded: perfdhcp -p PERIOD under a timeout; every process stopped by PID.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-$HERE/../build}
PINETBOOT=$(cd "$BUILD" && pwd)/pinetboot
RATE=${RATE:-4000}; RANGE=${RANGE:-60000}; PERIOD=${PERIOD:-10}; PARTS=${PARTS:-sqlite pg pg2}
S1="pnb-stbench-$$-s1"; S2="pnb-stbench-$$-s2"; CLI="pnb-stbench-$$-cli"
W=$(mktemp -d /tmp/pnb-stbench-XXXXXX); chmod 755 "$W"
PIDS=""
# shellcheck source=../tests/integration/lib/pg_server.sh
source "$HERE/../tests/integration/lib/pg_server.sh"
cleanup() {
    local p ns pids
    for p in $PIDS; do kill "$p" 2>/dev/null; done
    pg_down
    sleep 0.3
    for ns in "$S1" "$S2" "$CLI"; do
        pids=$(ip netns pids "$ns" 2>/dev/null)
        [ -n "$pids" ] && kill -9 $pids 2>/dev/null
        ip netns del "$ns" 2>/dev/null
    done
    [ -n "${KEEP:-}" ] && cp -r "$W" "$KEEP"
    rm -rf "$W"
}
trap cleanup EXIT
trap "exit 1" INT TERM
command -v perfdhcp >/dev/null || { echo "store-bench: perfdhcp not found: apt-get install kea-admin" >&2; exit 1; }

for ns in "$S1" "$S2" "$CLI"; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
ip -n "$CLI" link add br0 type bridge
ip -n "$CLI" link set br0 type bridge stp_state 0 forward_delay 0
ip link add s0 netns "$S1" type veth peer name c0 netns "$CLI"
ip link add s0 netns "$S2" type veth peer name c1 netns "$CLI"
ip -n "$CLI" link set c0 master br0; ip -n "$CLI" link set c1 master br0
# A /16, so the pool holds RANGE clients.
ip -n "$S1" addr add 10.67.0.1/16 dev s0; ip -n "$S2" addr add 10.67.0.3/16 dev s0
ip -n "$CLI" addr add 10.67.0.2/16 dev br0
for l in "$S1 s0" "$S2 s0" "$CLI c0" "$CLI c1" "$CLI br0"; do
    set -- $l; ip -n "$1" link set "$2" up
done
sleep 1
mkdir -p "$W/tftp" "$W/pg"
chmod 755 "$W/pg"

bg() { local ns=$1 log=$2; shift 2; ip netns exec "$ns" "$@" > "$log" 2>&1 & PIDS="$PIDS $!"; LAST=$!; }
stop() { kill "$1" 2>/dev/null; for _ in $(seq 1 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done; kill -9 "$1" 2>/dev/null; wait "$1" 2>/dev/null; }
ready() {  # LOG: wait for serve's ready line, at most 10 s
    for _ in $(seq 1 100); do grep -q "serve: ready" "$1" && return 0; sleep 0.1; done
    echo "store-bench: serve not ready: $(tail -3 "$1")" >&2; return 1
}
# node_config FILE [NODE_ID]: one node on the pool. perfdhcp acts as a relay agent (it
# sets giaddr to its own address, 10.67.0.2, and listens on port 67 for the replies), and
# serve answers relayed requests only from the relays it is told of (unknown_relay).
node_config() {
    {
        [ -n "${2:-}" ] && printf '[store]\nnode_id = "%s"\n\n' "$2"
        printf '[[interface]]\nname = "s0"\ndhcp = "full"\n'
        printf 'range = ["10.67.1.0", "10.67.250.255"]\nlease_time = 3600\nrelays = ["10.67.0.2"]\n'
    } > "$1"
}
# serve NAME NS CONFIG [URL]
serve_node() {
    local name=$1 ns=$2 config=$3 url=${4:-}
    mkdir -p "$W/state-$name"
    local env=(env PINETBOOT_STATE_DIR="$W/state-$name")
    [ -n "$url" ] && env+=(PINETBOOT_STORE_URL="$url")
    bg "$ns" "$W/serve-$name.log" "${env[@]}" "$PINETBOOT" serve --config "$config" \
        --root "$W/tftp" --http 127.0.0.1:18091
}
# acks LOG: the ACKs a node sent, from the counters serve prints when it stops
acks() { awk '/^dhcp_sent_ACK /{print $2}' "$1" | tail -1; }
perf() {  # NAME NODES
    local out sent recv drops lps
    out=$(ip netns exec "$CLI" timeout $((PERIOD + 30)) perfdhcp -4 -l br0 -B -r "$RATE" -R "$RANGE" \
            -p "$PERIOD" -W 2000000 2>&1)
    echo "$out" > "$W/perf.$1.txt"
    # perfdhcp reports two exchanges: DISCOVER-OFFER then REQUEST-ACK.
    sent=$(awk '/sent packets:/{print $3}' <<<"$out" | sed -n 2p)
    recv=$(awk '/received packets:/{print $3}' <<<"$out" | sed -n 2p)
    drops=$(awk '/drops:/{print $2}' <<<"$out" | paste -sd/ -)
    lps=$(echo "scale=0; ${recv:-0} / $PERIOD" | bc)
    printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$2" "$RATE" "${sent:-?}" "${recv:-?}" "$lps" "${drops:-?}"
}
# Leases the store holds, and addresses held by more than one MAC (must be 0).
pg_leases() {  # DB
    psql -X -A -t "postgresql:///$1?host=$W/pg&user=pinet" -c \
        "select count(*), count(*) - count(distinct ip) from leases" | tr '|' ' '
}

echo "## DHCP leases/s by store: perfdhcp DORA rate $RATE/s, $RANGE clients, ${PERIOD}s"
echo
echo "| store | nodes | offered rate/s | REQUESTs sent | ACKs received | leases/s | drops (DO/RA) |"
echo "|---|---|---|---|---|---|---|"
node_config "$W/one.toml"

if [[ " $PARTS " == *" sqlite "* ]]; then
    serve_node sqlite "$S1" "$W/one.toml"; P=$LAST
    ready "$W/serve-sqlite.log" && perf sqlite 1
    stop "$P"
fi

if [[ " $PARTS " == *" pg "* || " $PARTS " == *" pg2 "* ]]; then
    if [ "${PG_FAST:-0}" = 1 ]; then
        pg_up "$W/pg" || exit 1
    else
        # pg_up's server is the tests' (fsync off); a durable one for the figures.
        PG_DURABLE=1 pg_up "$W/pg" || exit 1
    fi
    for db in b1 b2; do psql -X -q "$PG_URL" -c "create database $db" || exit 1; done
fi

if [[ " $PARTS " == *" pg "* ]]; then
    URL="postgresql:///b1?host=$W/pg&user=pinet"
    serve_node pg "$S1" "$W/one.toml" "$URL"; P=$LAST
    ready "$W/serve-pg.log" && perf postgresql 1
    stop "$P"
    read -r n dup <<<"$(pg_leases b1)"
    echo "    postgresql: $n leases stored, $dup addresses held twice" >&2
fi

if [[ " $PARTS " == *" pg2 "* ]]; then
    URL="postgresql:///b2?host=$W/pg&user=pinet"
    node_config "$W/n1.toml" n1
    node_config "$W/n2.toml" n2
    serve_node n1 "$S1" "$W/n1.toml" "$URL"; P1=$LAST
    serve_node n2 "$S2" "$W/n2.toml" "$URL"; P2=$LAST
    # Both ready and each seeing the other live (heartbeats) before the load starts.
    if ready "$W/serve-n1.log" && ready "$W/serve-n2.log"; then
        sleep 4
        perf "postgresql" 2
    fi
    stop "$P1"; stop "$P2"
    a1=$(acks "$W/serve-n1.log"); a2=$(acks "$W/serve-n2.log")
    read -r n dup <<<"$(pg_leases b2)"
    echo "    postgresql, 2 nodes: $n leases stored, $dup addresses held twice;" \
         "ACKs sent by node: n1 $a1, n2 $a2" >&2
fi
