#!/usr/bin/env bash
# dhcp-bench.sh - DHCP server throughput and a Pi boot storm, all inside network
# namespaces this script creates (pnb-dbench-$$-srv / -cli) and removes again.
#
#  1. perfdhcp (kea-admin) runs DORA exchanges at RATE/s with RANGE distinct clients for
#     PERIOD seconds against, in turn: pinetboot serve --dhcp full, dnsmasq, Kea
#     kea-dhcp4 (memfile). Reported: completed leases per second (ACKs / period) and drops.
#  2. Boot storm: `pinetboot probe --count STORM` against pinetboot (serve --dhcp full) and
#     against dnsmasq (DHCP + pxe-service + TFTP): time until every board has its kernel,
#     per-board kernel time p50 / p99.
#
# Usage: bench/dhcp-bench.sh [BUILD_DIR]   (env: RATE=4000 RANGE=60000 PERIOD=10 STORM=200 KERNEL_MB=8
#        PARTS="perf storm": which parts to run)
# Needs root. Everything is bounded: perfdhcp -p PERIOD, probe with its own timeouts.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-$HERE/../build}
PINETBOOT=$(cd "$BUILD" && pwd)/pinetboot
PARTS=${PARTS:-perf storm}; RATE=${RATE:-4000}; RANGE=${RANGE:-60000}; PERIOD=${PERIOD:-10}; STORM=${STORM:-200}; KERNEL_MB=${KERNEL_MB:-8}
SRV="pnb-dbench-$$-srv"; CLI="pnb-dbench-$$-cli"
W=$(mktemp -d /tmp/pnb-dbench-XXXXXX); chmod 755 "$W"
# serve keeps its registry and token in the scratch dir, not the host's /var/lib/pinetboot.
export PINETBOOT_STATE_DIR=$W/state
PIDS=""
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null; done
    sleep 0.3
    for ns in "$SRV" "$CLI"; do
        pids=$(ip netns pids "$ns" 2>/dev/null); [ -n "$pids" ] && kill -9 $pids 2>/dev/null
        ip netns del "$ns" 2>/dev/null
    done
    [ -n "${KEEP:-}" ] && cp -r "$W" "$KEEP"; rm -rf "$W"
}
trap cleanup EXIT
trap "exit 1" INT TERM
ip netns add "$SRV"; ip netns add "$CLI"
ip -n "$SRV" link set lo up; ip -n "$CLI" link set lo up
ip link add s0 netns "$SRV" type veth peer name c0 netns "$CLI"
# A /16, so the pool holds RANGE clients.
ip -n "$SRV" addr add 10.66.0.1/16 dev s0; ip -n "$CLI" addr add 10.66.0.2/16 dev c0
ip -n "$SRV" link set s0 up; ip -n "$CLI" link set c0 up
sleep 1

bg() { local ns=$1 log=$2; shift 2; ip netns exec "$ns" "$@" > "$log" 2>&1 & PIDS="$PIDS $!"; LAST=$!; }
stop() { kill "$1" 2>/dev/null; for _ in $(seq 1 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done; kill -9 "$1" 2>/dev/null; wait "$1" 2>/dev/null; }

perf() {  # name
    local out
    out=$(ip netns exec "$CLI" timeout $((PERIOD + 30)) perfdhcp -4 -l c0 -B -r "$RATE" -R "$RANGE" \
            -p "$PERIOD" -W 2000000 2>&1)
    echo "$out" > "$W/perf.$1.txt"
    local sent recv drops
    # perfdhcp reports two exchanges: DISCOVER-OFFER then REQUEST-ACK.
    sent=$(echo "$out" | awk '/sent packets:/{print $3}' | sed -n 2p)
    recv=$(echo "$out" | awk '/received packets:/{print $3}' | sed -n 2p)
    drops=$(echo "$out" | awk '/drops:/{print $2}' | paste -sd/ -)
    local lps
    lps=$(echo "scale=0; ${recv:-0} / $PERIOD" | bc)
    printf '| %s | %s | %s | %s | %s | %s |\n' "$1" "$RATE" "${sent:-?}" "${recv:-?}" "$lps" "${drops:-?}"
}

mkdir -p "$W/tftp"
if [[ " $PARTS " == *" perf "* ]]; then
echo "## perfdhcp: DORA rate $RATE/s, $RANGE clients, ${PERIOD}s"
echo
echo "| server | offered rate/s | REQUESTs sent | ACKs received | leases/s | drops (DO/RA) |"
echo "|---|---|---|---|---|---|"

# perfdhcp acts as a relay agent (giaddr = its own address, replies to its port 67), and
# serve answers relayed requests only from the relays it is told of (else unknown_relay).
cat > "$W/pnb.toml" <<EOC
[[interface]]
name = "s0"
dhcp = "full"
range = ["10.66.1.0", "10.66.250.255"]
lease_time = 3600
relays = ["10.66.0.2"]
EOC
bg "$SRV" "$W/pnb.log" "$PINETBOOT" serve --config "$W/pnb.toml" --root "$W/tftp" \
    --lease-db "$W/pnb.sqlite"
P=$LAST; sleep 1.5
perf pinetboot; stop "$P"

cat > "$W/dnsmasq.conf" <<EOC
port=0
interface=s0
bind-interfaces
dhcp-range=10.66.1.0,10.66.250.255,255.255.0.0,1h
dhcp-lease-max=100000
no-ping
dhcp-leasefile=$W/dnsmasq.leases
log-facility=$W/dnsmasq.log
EOC
bg "$SRV" "$W/dnsmasq.out" dnsmasq --conf-file="$W/dnsmasq.conf" --keep-in-foreground --pid-file=
P=$LAST; sleep 1.5
perf dnsmasq; stop "$P"

cat > "$W/kea.json" <<EOC
{ "Dhcp4": {
    "interfaces-config": { "interfaces": [ "s0" ], "dhcp-socket-type": "raw" },
    "lease-database": { "type": "memfile", "persist": true, "name": "$W/kea.leases", "lfc-interval": 0 },
    "valid-lifetime": 3600,
    "subnet4": [ { "id": 1, "subnet": "10.66.0.0/16", "pools": [ { "pool": "10.66.1.0 - 10.66.250.255" } ] } ],
    "loggers": [ { "name": "kea-dhcp4", "output_options": [ { "output": "$W/kea.log" } ], "severity": "WARN" } ]
} }
EOC
KEA_PIDFILE_DIR=$W KEA_LOCKFILE_DIR=$W bg "$SRV" "$W/kea.out" env KEA_PIDFILE_DIR=$W KEA_LOCKFILE_DIR=$W kea-dhcp4 -c "$W/kea.json"
P=$LAST; sleep 2
perf kea; stop "$P"
fi

# ---- boot storm ----------------------------------------------------------------------
mkdir -p "$W/boot/overlays"
echo "arm_64bit=1" > "$W/boot/config.txt"; echo "ip=dhcp" > "$W/boot/cmdline.txt"
head -c 2300000 /dev/urandom > "$W/boot/start4.elf"; head -c 5400 /dev/urandom > "$W/boot/fixup4.dat"
head -c 55000 /dev/urandom > "$W/boot/bcm2711-rpi-4-b.dtb"; head -c 20000 /dev/urandom > "$W/boot/overlays/overlay_map.dtb"
head -c $((KERNEL_MB * 1000000)) /dev/urandom > "$W/boot/kernel8.img"
chmod -R a+rX "$W"
storm() {  # name
    local out
    out=$(ip netns exec "$CLI" timeout 600 "$PINETBOOT" probe --interface c0 --model pi4 --serial 20000000 \
            --mac dc:a6:32:20:00:00 --count "$STORM" --dhcp-timeout 60 2>&1)
    echo "$out" > "$W/storm.$1.txt"
    echo "| $1 | $(echo "$out" | grep '^storm:' | sed 's/^storm: //') |"
    # Why boards failed, grouped (numbers blanked so equal causes group together).
    echo "$out" | grep '^verdict [0-9a-f]*:' | sed 's/^verdict [0-9a-f]*: //; s/[0-9][0-9.]*/N/g' \
        | sort | uniq -c | sed "s/^/    $1 failures: /" >&2
}
if [[ " $PARTS " == *" storm "* ]]; then
echo
echo "## boot storm: probe --count $STORM (pi4, $KERNEL_MB MB kernel, files at the TFTP root)"
echo
echo "| server | result |"
echo "|---|---|"
bg "$SRV" "$W/pnb2.log" "$PINETBOOT" serve --interface s0 --root "$W/boot" --dhcp full \
    --range 10.66.1.0,10.66.250.255 --lease-db "$W/pnb2.sqlite"
P=$LAST; sleep 1.5
storm pinetboot; stop "$P"
cat > "$W/dnsmasq2.conf" <<EOC
port=0
interface=s0
bind-interfaces
dhcp-range=10.66.1.0,10.66.250.255,255.255.0.0,1h
no-ping
dhcp-leasefile=$W/dnsmasq2.leases
enable-tftp
tftp-root=$W/boot
tftp-max=1000
pxe-service=0,"Raspberry Pi Boot"
log-facility=$W/dnsmasq2.log
EOC
bg "$SRV" "$W/dnsmasq2.out" dnsmasq --conf-file="$W/dnsmasq2.conf" --keep-in-foreground --pid-file=
P=$LAST; sleep 1.5
storm dnsmasq; stop "$P"
fi
