#!/usr/bin/env bash
# store_postgresql_nodes.sh - two `serve` nodes share one PostgreSQL store and one boot
# LAN (issue #19, several nodes). PostgreSQL is the test's own (lib/pg_server.sh, unix
# socket only); each node runs in a namespace of its own, both on one bridge in the
# probe's namespace, in full DHCP mode with the same pool and the same boot tree. A
# `probe` storm boots NBOARDS boards while one node is killed with SIGKILL by its PID:
#   - every board boots, on its first try or its second (both counts reported);
#   - the leases table never holds one address for two boards;
#   - the surviving node logs NODE_TAKEOVER and answers the dead node's boards;
#   - the killed node, started again, logs NODE_REJOIN (so does the other) and owns
#     its buckets again: a second, small storm is served by both nodes.
#
#   pg ns n1 (s0 .0.1)  ─┐
#   (unix socket)        ├─ br0 (.0.2) in ns cli: probe --count NBOARDS
#   pg ns n2 (s0 .0.3)  ─┘
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/dhcp_lab.sh"
# shellcheck source=lib/pg_server.sh
. "$HERE/lib/pg_server.sh"
PINETBOOT=${PINETBOOT:?}
unset PINETBOOT_STORE_URL PINETBOOT_STATE_DIR
T0=$(date +%s%N)
elapsed() { local ms=$(( ($(date +%s%N) - T0) / 1000000 )); printf '%d.%01d' $((ms / 1000)) $((ms % 1000 / 100)); }
# 300 boards (the issue's storm): enough that the kill lands mid-storm with boards in every phase (DHCP,
# TFTP from the killed node, waiting for admission), small enough for < 30 s on 2 cores.
NBOARDS=${PINET_NODES_BOARDS:-300}

[ "$(id -u)" = 0 ] || { echo "SKIP: needs root for network namespaces"; exit 77; }
TAG=pgn-$$
N1="pnb-$TAG-n1"; N2="pnb-$TAG-n2"; CLI="pnb-$TAG-cli"
# lab_cleanup removes $SRV, $CLI and $SITE: the two nodes are SRV and SITE here.
SRV=$N1; SITE=$N2
NET="10.79"                     # a /16 of the namespaces' own: pool room for every board
W=$(mktemp -d "/tmp/pnb-pgnodes-XXXXXX"); chmod 755 "$W"
trap 'pg_down; lab_cleanup' EXIT
for ns in "$N1" "$N2" "$CLI"; do
    ip netns add "$ns" || { echo "FAIL ip netns add $ns"; exit 1; }
    ip -n "$ns" link set lo up
done
ip link add s0 netns "$N1" type veth peer name p1 netns "$CLI" || { echo "FAIL veth"; exit 1; }
ip link add s0 netns "$N2" type veth peer name p2 netns "$CLI" || { echo "FAIL veth"; exit 1; }
ip -n "$CLI" link add br0 type bridge
ip -n "$CLI" link set br0 type bridge stp_state 0 forward_delay 0
ip -n "$CLI" link set br0 address 02:79:00:00:00:02
ip -n "$CLI" link set p1 master br0
ip -n "$CLI" link set p2 master br0
ip -n "$N1" addr add "$NET.0.1/16" dev s0
ip -n "$N2" addr add "$NET.0.3/16" dev s0
ip -n "$CLI" addr add "$NET.0.2/16" dev br0
for ns in "$N1" "$N2"; do ip -n "$ns" link set s0 up; done
ip -n "$CLI" link set p1 up; ip -n "$CLI" link set p2 up; ip -n "$CLI" link set br0 up
for _ in $(seq 1 50); do
    ip netns exec "$CLI" ping -c1 -W1 "$NET.0.1" >/dev/null 2>&1 &&
        ip netns exec "$CLI" ping -c1 -W1 "$NET.0.3" >/dev/null 2>&1 && break
    sleep 0.1
done

mkdir -p "$W/pg" "$W/root" "$W/state1" "$W/state2"
pg_up "$W/pg" || { bad "cannot start the test's PostgreSQL server"; finish store_postgresql_nodes; }
"$PG_BIN/psql" "$PG_URL" -XAtq -c "CREATE DATABASE reg"
URL="postgresql:///reg?host=$W/pg&user=pinet"
pq() { "$PG_BIN/psql" "$URL" -XAtq -v ON_ERROR_STOP=1 -c "$1"; }

# One boot tree, copied to each node (as rsync would), the files a Pi 4 fetches but smaller:
# 200 boards of the real sizes would be 800 MB of TFTP, not a test of the nodes. About
# 0.8 MB a board keeps the storm going for a second or two, so the kill lands while
# boards are fetching from the node that dies.
d="$W/root"; mkdir -p "$d/overlays"
echo "arm_64bit=1" > "$d/config.txt"
echo "console=serial0,115200 root=/dev/nfs ip=dhcp" > "$d/cmdline.txt"
head -c 2000 /dev/urandom > "$d/overlays/overlay_map.dtb"
head -c 450000 /dev/urandom > "$d/start4.elf"
head -c 5400 /dev/urandom > "$d/fixup4.dat"
head -c 20000 /dev/urandom > "$d/bcm2711-rpi-4-b.dtb"
head -c 300000 /dev/urandom > "$d/kernel8.img"
chmod -R a+rX "$d"
cp -a "$d" "$W/root1"; cp -a "$d" "$W/root2"

for n in 1 2; do
    cat > "$W/node$n.toml" <<EOT
[server]
state_dir = "$W/state$n"

[store]
backend = "postgresql"
url = "$URL"
node_id = "node$n"
# Trees published every second: the test changes one and asks doctor at once.
tree_check_seconds = 1

[tftp]
root = "$W/root$n"
EOT
done
"$PINETBOOT" store migrate --config "$W/node1.toml" > "$W/migrate.out" 2>&1 \
    || { bad "store migrate: $(cat "$W/migrate.out")"; finish store_postgresql_nodes; }
[ "$(pq "SELECT count(*) FROM pg_indexes WHERE indexname = 'leases_ip_key'")" = 1 ] \
    && ok "schema: the leases table has its unique address index" || bad "no leases_ip_key"

# start_node N LOGSUFFIX
start_node() {
    local n=$1 log="$W/serve.$1.$2.log" ns ip
    if [ "$n" = 1 ]; then ns=$N1; ip=$NET.0.1; else ns=$N2; ip=$NET.0.3; fi
    lab_bg "$ns" "$log" "$PINETBOOT" serve --config "$W/node$n.toml" --interface s0 \
        --dhcp full --range "$NET.1.0,$NET.4.255" \
        --tftp-listen "$ip:69" --http 127.0.0.1:18090
    eval "PID$n=$LAST_PID"
    wait_for "$log" "serve: ready" 15 \
        || { bad "node$n start: $(tail -3 "$log")"; finish store_postgresql_nodes; }
}
api() {  # api N PATH: GET from node N's dashboard (loopback of its namespace)
    local ns=$N1; [ "$1" = 2 ] && ns=$N2
    ip netns exec "$ns" curl -s --max-time 5 "http://127.0.0.1:18090$2"
}
buckets_of() {  # buckets_of N: the buckets node N says it owns
    api "$1" /api/v1/nodes | python3 -c 'import json,sys; print(json.load(sys.stdin)["buckets_owned"])'
}

start_node 1 a
start_node 2 a
grep -q "NODE_JOIN node=node1 buckets=256" "$W/serve.1.a.log" && ok "node1 joins alone: 256 buckets" \
    || bad "node1 join: $(grep NODE_ "$W/serve.1.a.log")"
grep -q "NODE_JOIN node=node2 buckets=128" "$W/serve.2.a.log" && ok "node2 joins: 128 buckets" \
    || bad "node2 join: $(grep NODE_ "$W/serve.2.a.log")"
# node1 sees node2 at its next heartbeat (1 s); 5 s is generous under load.
wait_for "$W/serve.1.a.log" "NODE_JOIN node=node2 buckets=128" 5 && ok "node1 sees node2 join" \
    || bad "node1 did not see node2: $(grep NODE_ "$W/serve.1.a.log")"
b1=$(buckets_of 1); b2=$(buckets_of 2)
[ "$b1" = 128 ] && [ "$b2" = 128 ] && ok "the buckets are split 128/128" || bad "buckets: node1 $b1 node2 $b2"
echo "    setup done at $(elapsed) s"

# ---- the storm, and node2 killed in the middle of it ----
# Short timeouts so that a board caught by the kill fails its attempt soon and tries
# again (as the bootloader's boot order does): a DHCP phase of 10 s (DISCOVER every
# 4 s: two after a takeover, which comes within about 4 s of the kill), 3 s per file,
# 1 s back-off; two attempts at most.
ip netns exec "$CLI" timeout 90 "$PINETBOOT" probe --interface br0 --model pi4 --serial 4a000000 \
    --mac dc:a6:32:40:00:00 --count "$NBOARDS" --dhcp-timeout 10 --file-timeout 3 \
    --retry-backoff 1 --max-attempts 2 --json "$W/storm.json" > "$W/probe.out" 2>&1 &
PROBE=$!
# Kill node2 once its boards are fetching files from it (its first finished transfer,
# plus a little): its boards are then in DHCP, in TFTP from it, or waiting for admission.
for _ in $(seq 1 600); do
    grep -q "TFTP_DONE" "$W/serve.2.a.log" && break
    sleep 0.02
done
sleep 0.2
kill -KILL "$PID2"
wait "$PID2" 2>/dev/null
acks2=$(grep -c "DHCP_ACK" "$W/serve.2.a.log")
files2=$(grep -c "TFTP_DONE tftp ok" "$W/serve.2.a.log")
done2=$(grep -c BOOT_DONE "$W/serve.2.a.log")
T_KILL=$(elapsed)
echo "    node2 killed (SIGKILL, PID $PID2) at $T_KILL s: it had ACKed $acks2 boards, sent $files2 files, finished $done2 boots"
[ "$acks2" -ge 1 ] && [ "$files2" -ge 1 ] && [ "$done2" -lt $((NBOARDS / 2)) ] \
    && ok "node2 was killed mid-storm ($acks2 ACKs, $files2 files, $done2 of its boards booted)" \
    || bad "kill not mid-storm: node2 ACKs $acks2 files $files2 boots $done2"
wait_for "$W/serve.1.a.log" "NODE_TAKEOVER node=node2 by=node1 buckets=128" 10 \
    && ok "node1 logged NODE_TAKEOVER of node2's 128 buckets" \
    || bad "no NODE_TAKEOVER: $(grep NODE_ "$W/serve.1.a.log")"
T_TAKE=$(elapsed)
echo "    takeover seen at $T_TAKE s (kill at $T_KILL s)"
[ "$(buckets_of 1)" = 256 ] && ok "node1 owns all 256 buckets" || bad "node1 buckets after the kill: $(buckets_of 1)"

wait "$PROBE"; rc=$?
echo "    storm over at $(elapsed) s"
grep '^storm' "$W/probe.out" | sed 's/^/    /'
[ $rc = 0 ] && grep -q "^storm: $NBOARDS/$NBOARDS boards booted" "$W/probe.out" \
    && ok "every one of $NBOARDS boards booted" || bad "storm (rc $rc): $(grep '^storm' "$W/probe.out" | head -2)"
counts=$(python3 - "$W/storm.json" <<'P'
import json, sys
d = json.load(open(sys.argv[1]))
print(d["first_try"]["count"], d["after_retries"]["count"], d["never"]["count"],
      max(int(k) for k in d["attempts"]))
P
)
read -r first retried never maxatt <<<"$counts"
echo "    booted on the first try: $first, on the second: $retried, never: $never"
[ "$never" = 0 ] && [ "$maxatt" -le 2 ] && [ $((first + retried)) = "$NBOARDS" ] \
    && ok "first try $first + second try $retried = $NBOARDS (at most 2 attempts)" \
    || bad "outcome: first $first retried $retried never $never max attempts $maxatt"

dups=$(pq "SELECT ip || ' ' || string_agg(mac, ',') FROM leases GROUP BY ip HAVING count(*) > 1")
[ -z "$dups" ] && ok "no address is held by two MACs in the leases table ($(pq 'SELECT count(*) FROM leases') leases)" \
    || bad "addresses held twice: $dups"
[ "$(pq "SELECT count(DISTINCT ip) FROM leases WHERE mac LIKE 'dc:a6:32:4%'")" -ge "$NBOARDS" ] \
    && ok "every board has a lease of its own" || bad "leases: $(pq "SELECT count(*) FROM leases")"
# node2 wrote its finished boots within 100 ms of each (kBootBatch); a SIGKILL loses
# what was queued since. The count is reported; the check comes after the rejoin.
stored2=$(pq "SELECT count(*) FROM boots WHERE node_id = 'node2'")
echo "    node2 logged $done2+ boots before the kill, $stored2 are in the boots table"

# ---- node2 comes back ----
start_node 2 b
T_BACK=$(elapsed)
grep -q "NODE_REJOIN node=node2 buckets=128" "$W/serve.2.b.log" \
    && ok "the restarted node2 logged NODE_REJOIN with 128 buckets" \
    || bad "node2 after restart: $(grep NODE_ "$W/serve.2.b.log")"
wait_for "$W/serve.1.a.log" "NODE_REJOIN node=node2 buckets=128" 5 \
    && ok "node1 saw node2 rejoin and gave its buckets back" \
    || bad "node1 rejoin: $(grep NODE_ "$W/serve.1.a.log" | tail -3)"
b1=$(buckets_of 1); b2=$(buckets_of 2)
[ "$b1" = 128 ] && [ "$b2" = 128 ] && ok "after the rejoin the buckets are 128/128 again" \
    || bad "buckets after rejoin: node1 $b1 node2 $b2"
metrics=$(api 2 /metrics)  # whole, not piped into grep -q (pipefail and SIGPIPE)
grep -q "^pinetboot_node_buckets_owned 128$" <<<"$metrics" && grep -q "^pinetboot_nodes_live 2$" <<<"$metrics" \
    && ok "metrics: pinetboot_node_buckets_owned 128, pinetboot_nodes_live 2" \
    || bad "metrics: $(grep -E '^pinetboot_node' <<<"$metrics")"
nodes=$(api 2 /api/v1/nodes)
echo "$nodes" | python3 -c '
import json, sys
d = json.load(sys.stdin)
ids = {n["node_id"]: n for n in d["nodes"]}
assert d["self"] == "node2" and d["live"] == 2, d
assert ids["node1"]["live"] and ids["node2"]["live"] and ids["node2"]["self"], d
assert ids["node1"]["buckets"] + ids["node2"]["buckets"] == 256, d' \
    && ok "GET /api/v1/nodes: both live, 256 buckets between them" || bad "/api/v1/nodes: $nodes"
# A few new boards: both nodes answer again, each its own share.
before2=$(grep -c BOOT_DONE "$W/serve.2.b.log")
before1=$(grep -c BOOT_DONE "$W/serve.1.a.log")
out=$(ip netns exec "$CLI" timeout 60 "$PINETBOOT" probe --interface br0 --model pi4 --serial 4b000000 \
    --mac dc:a6:32:50:00:00 --count 24 --dhcp-timeout 15 --file-timeout 3 2>&1); rc=$?
echo "$out" | grep '^storm:' | sed 's/^/    /'
new2=$(( $(grep -c BOOT_DONE "$W/serve.2.b.log") - before2 ))
new1=$(( $(grep -c BOOT_DONE "$W/serve.1.a.log") - before1 ))
[ $rc = 0 ] && [ "$new1" -ge 1 ] && [ "$new2" -ge 1 ] \
    && ok "after the rejoin 24 new boards boot, node1 served $new1 and node2 $new2" \
    || bad "after rejoin: rc $rc, node1 $new1, node2 $new2"

# Every node's boots in the store, with the node that served each.
sleep 1.5  # node2's last 100 ms batch, then node1's next read of the store (1 s)
by=$(pq "SELECT node_id || '=' || count(*) FROM boots WHERE outcome = 'kernel_loaded' GROUP BY node_id ORDER BY node_id" | tr '\n' ' ')
echo "$by" | grep -q "node1=" && echo "$by" | grep -q "node2=" \
    && ok "the boots table says which node served which board: $by" || bad "boots by node: $by"
api 1 "/api/v1/nodes/boots?limit=500" > "$W/boots.json"
python3 - "$W/boots.json" <<'P2' && ok "GET /api/v1/nodes/boots on node1: boots served by both nodes" \
    || bad "/api/v1/nodes/boots: $(head -c 300 "$W/boots.json")"
import json, sys
b = json.load(open(sys.argv[1]))["boots"]
assert {x["node_id"] for x in b} >= {"node1", "node2"}, {x["node_id"] for x in b}
assert all(x["serial"] and x["ip"] for x in b if x["outcome"] == "kernel_loaded")
P2

# Boot trees (issue #19): doctor on node1 compares its trees with node2's, published by
# node2's serve; then node2's copy is changed and doctor names the files.
doctor1() { "$PINETBOOT" doctor --config "$W/node1.toml" --no-dhcp-probe 2>&1; }
out=$(doctor1)
grep -q "trees: boot trees the same on 2 nodes (node1, node2)" <<<"$out" \
    && ok "doctor: the boot trees are the same on both nodes" \
    || bad "doctor trees (same): $(grep -i tree <<<"$out")"
head -c 1000 /dev/urandom >> "$W/root2/kernel8.img"
rm "$W/root2/overlays/overlay_map.dtb"
sleep 2.5  # node2 walks its tree every second
out=$(doctor1); rc=$?
top=$(grep "trees: the files at the top of the TFTP root differ between node1, node2" <<<"$out")
ovl=$(grep "trees: boot tree overlays differs between node1, node2" <<<"$out")
grep -q "kernel8.img (node1 [0-9a-f]* 300000 B, node2 [0-9a-f]* 301000 B)" <<<"$top" \
    && grep -q "overlay_map.dtb (node1 [0-9a-f]* 2000 B, node2 missing)" <<<"$ovl" \
    && ok "doctor names the files that differ on node2: kernel8.img, overlays/overlay_map.dtb" \
    || bad "doctor trees (differ): $(grep 'trees:' <<<"$out")"
[ "$rc" != 0 ] && ok "doctor fails (exit $rc) while the trees differ" || bad "doctor exit 0"
grep -q "rsync -a --delete --checksum" <<<"$out" && ok "its fix says how to make them the same" \
    || bad "no fix: $(grep -A1 'trees:' <<<"$out")"
grep -q "TREES_PUBLISHED node=node2" "$W"/serve.2.*.log && ok "node2 logged TREES_PUBLISHED" \
    || bad "no TREES_PUBLISHED in node2's log"

lab_kill "$PID2"
lab_kill "$PID1"
other=$(grep -hoE "dhcp_dropped_other_node [0-9]+" "$W/serve.1.a.log" | awk '{print $2}')
[ "${other:-0}" -gt 0 ] && ok "node1 dropped $other packets of node2's boards (other_node)" \
    || bad "no other_node drops counted on node1"
conf=$(grep -hoE "dhcp_lease_conflicts [0-9]+" "$W"/serve.*.log | awk '{s+=$2} END {print s+0}')
echo "    lease conflicts NAKed (both nodes, all runs): $conf; kill at $T_KILL s, rejoin at $T_BACK s"
echo "    total $(elapsed) s"
finish store_postgresql_nodes
