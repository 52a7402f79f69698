#!/usr/bin/env bash
# storm-bench.sh - boot storms: N virtual boards (`pinetboot probe --count N`) powered on at
# once against one server, inside two network namespaces this script creates
# (pnb-sbench-$$-srv / -cli, a veth pair, a /16) and removes again.
#
# Rows: every STORM_SIZES x KERNEL_SIZES x MODES x SERVERS:
#   tftp: pi4 boards (BOOT_ORDER 2: DHCP + TFTP, files at the TFTP root, the bootloader's
#         timeouts) against `pinetboot serve --dhcp full` with its defaults, and against
#         dnsmasq (DHCP + pxe-service + TFTP) tuned for the storm: tftp-max at the board count;
#   http: pi5 boards (`probe --mode http`: DHCP, then boot.sig + boot.img over HTTP) against
#         serve's HTTP boot (--http-boot); dnsmasq has none, so pinetboot only. Each board's
#         TCP leaves from its own lease (`probe --http-from-lease`, the pool made local to
#         the client namespace by an AnyIP route), as real boards do: from one address the
#         server's per-address limit (8 connections) would be what is measured.
# Each storm runs once with `probe --max-attempts MAX_ATTEMPTS` (2; a failed board restarts its boot order
# after the bootloader's 5 s back-off, as BOOT_ORDER 0xf.. does), which gives both counts:
# booted on the first try (attempt 1) and booted within MAX_ATTEMPTS attempts.
#
# Reported per row: booted first try / N, booted within MAX_ATTEMPTS attempts / N, time to the last
# board (power-on to kernel fetched), p50 / p99 of that time over the booted boards, the
# bytes to deliver (boards x what one boot fetches whole, from the probe's --json) and the
# capacity bound = bytes to deliver / the throughput the same server reaches with the
# same client as bench/tftp-bench.sh (build/bench/tftp_load: TP_CLIENTS lockstep clients,
# blksize 1468, fetching the row's kernel), measured in this run over the same veth:
# `pinetboot tftp` (serve's TFTP engine with the same defaults, per-source limits raised
# as tftp-bench does since all its clients share one address) or dnsmasq; for HTTP rows
# HTTP_TP_CLIENTS parallel curl downloads of boot.img from serve's HTTP boot, each from an
# address of its own.
# "last / bound" near 1 means the storm went as fast as the server can carry bytes.
#
# Usage: bench/storm-bench.sh [BUILD_DIR]
# Env: STORM_SIZES ("250 1000 2000"), KERNEL_SIZES in MB ("8 24"), MODES ("tftp http"),
#      SERVERS ("pinetboot dnsmasq"), TP_CLIENTS (64), HTTP_TP_CLIENTS (64),
#      RUN_TIMEOUT per probe run in s (900), MAX_ATTEMPTS per board (2),
#      DHCP_TIMEOUT (45) and FILE_TIMEOUT (30): the bootloader's, NEIGH_RAISE=1: raise the
#      host's net.ipv4.neigh.default.gc_thresh1..3 for the run when the largest storm does
#      not fit (restored at exit; the IPv4 neighbour table is one for all namespaces),
#      KEEP=DIR: keep the scratch directory (probe JSON, logs) there,
#      SERVE_CONFIG=FILE: a pinetboot.toml for serve (experiments: e.g. [admission]
#      enabled = false, or [tftp] reply_ports = "pool"; the rows are then not "defaults").
# Needs root, dnsmasq, curl, python3. Bounded: every probe run has RUN_TIMEOUT, tftp_load
# its --deadline-s, curl --max-time; processes are stopped by PID.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=$(cd "${1:-$HERE/../build}" && pwd)
PINETBOOT=$BUILD/pinetboot
LOAD=$BUILD/bench/tftp_load
STORM_SIZES=${STORM_SIZES:-250 1000 2000}
KERNEL_SIZES=${KERNEL_SIZES:-8 24}
MODES=${MODES:-tftp http}
SERVERS=${SERVERS:-pinetboot dnsmasq}
TP_CLIENTS=${TP_CLIENTS:-64}
HTTP_TP_CLIENTS=${HTTP_TP_CLIENTS:-64}
RUN_TIMEOUT=${RUN_TIMEOUT:-900}
DHCP_TIMEOUT=${DHCP_TIMEOUT:-45}
FILE_TIMEOUT=${FILE_TIMEOUT:-30}
MAX_ATTEMPTS=${MAX_ATTEMPTS:-2}  # a real board with BOOT_ORDER 0x...f retries for ever; the bench stops here
SRV="pnb-sbench-$$-srv"; CLI="pnb-sbench-$$-cli"
SRV_IP=10.66.0.1
# The pool: 10.66.128.0/17 (32766 addresses), clear of the two namespaces' own addresses;
# local to the client namespace (AnyIP) so that HTTP boards and curl can leave from it.
RANGE_FIRST=10.66.128.1; RANGE_LAST=10.66.255.254; POOL=10.66.128.0/17
PY=/usr/bin/python3

[ "$(id -u)" = 0 ] || { echo "storm-bench: needs root (network namespaces)"; exit 2; }
for f in "$PINETBOOT" "$LOAD"; do [ -x "$f" ] || { echo "storm-bench: $f missing (build first)"; exit 2; }; done
for p in dnsmasq curl; do command -v "$p" >/dev/null || { echo "storm-bench: $p missing"; exit 2; }; done

W=$(mktemp -d /tmp/pnb-sbench-XXXXXX); chmod 755 "$W"
PIDS=""
NEIGH_SAVED=""
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null; done
    sleep 0.3
    for ns in "$SRV" "$CLI"; do
        pids=$(ip netns pids "$ns" 2>/dev/null); [ -n "$pids" ] && kill -9 $pids 2>/dev/null
        ip netns del "$ns" 2>/dev/null
    done
    if [ -n "$NEIGH_SAVED" ]; then
        read -r t1 t2 t3 <<<"$NEIGH_SAVED"
        sysctl -q -w net.ipv4.neigh.default.gc_thresh1="$t1" net.ipv4.neigh.default.gc_thresh2="$t2" \
            net.ipv4.neigh.default.gc_thresh3="$t3"
    fi
    [ -n "${KEEP:-}" ] && mkdir -p "$KEEP" && cp -r "$W/." "$KEEP/"
    rm -rf "$W"
}
trap cleanup EXIT
trap "exit 1" INT TERM
ulimit -n 65536 2>/dev/null

# The neighbour table is shared by every namespace: the largest storm must fit on the host.
max_n=0; for n in $STORM_SIZES; do [ "$n" -gt "$max_n" ] && max_n=$n; done
t3=$(cat /proc/sys/net/ipv4/neigh/default/gc_thresh3)
if [ $((max_n + 128)) -gt "$t3" ]; then
    if [ "${NEIGH_RAISE:-0}" = 1 ]; then
        NEIGH_SAVED="$(cat /proc/sys/net/ipv4/neigh/default/gc_thresh1) $(cat /proc/sys/net/ipv4/neigh/default/gc_thresh2) $t3"
        want=4096; while [ "$want" -lt $((2 * (max_n + 128))) ]; do want=$((want * 2)); done
        sysctl -q -w net.ipv4.neigh.default.gc_thresh1=$((want / 4)) net.ipv4.neigh.default.gc_thresh2=$((want / 2)) \
            net.ipv4.neigh.default.gc_thresh3=$want
        echo "note: gc_thresh3 raised from $t3 to $want for this run (restored at exit)"
    else
        echo "note: gc_thresh3 is $t3: too small for $max_n boards at once (the server's ARP entries overflow;" \
             "see \`pinetboot doctor --boards $max_n\`); NEIGH_RAISE=1 raises it for the run"
    fi
fi

ip netns add "$SRV" || exit 1; ip netns add "$CLI" || exit 1
ip -n "$SRV" link set lo up; ip -n "$CLI" link set lo up
ip link add s0 netns "$SRV" type veth peer name c0 netns "$CLI" || exit 1
ip -n "$SRV" addr add "$SRV_IP/16" dev s0; ip -n "$CLI" addr add 10.66.0.2/16 dev c0
ip -n "$SRV" link set s0 up; ip -n "$CLI" link set c0 up
for _ in $(seq 1 50); do ip netns exec "$CLI" ping -c1 -W1 "$SRV_IP" >/dev/null 2>&1 && break; sleep 0.1; done
[[ " $MODES " == *" http "* ]] && ip -n "$CLI" route add local "$POOL" dev c0

bg() { local ns=$1 log=$2; shift 2; ip netns exec "$ns" "$@" > "$log" 2>&1 & PIDS="$PIDS $!"; LAST=$!; }
stop() {
    kill "$1" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$1" 2>/dev/null; wait "$1" 2>/dev/null
    PIDS=$(for p in $PIDS; do [ "$p" != "$1" ] && echo "$p"; done)
}
# wait_for FILE REGEX SECONDS
wait_for() { for _ in $(seq 1 $(($3 * 10))); do grep -qE "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; return 1; }

# ---- boot trees, one per kernel size ----------------------------------------------------
# TFTP (pi4): the files of spec §4.3 at the TFTP root (every board falls back to the root,
# as in bench/dhcp-bench.sh). HTTP (pi5): boot.img (FAT, `pinetboot image bootimg`) of a
# pi5 boot folder with a kernel of that size, and its unsigned boot.sig (sha256).
for k in $KERNEL_SIZES; do
    t="$W/tftp-$k"; mkdir -p "$t/overlays"
    echo "arm_64bit=1" > "$t/config.txt"; echo "console=serial0,115200 root=/dev/nfs ip=dhcp" > "$t/cmdline.txt"
    head -c 2300000 /dev/urandom > "$t/start4.elf"; head -c 5400 /dev/urandom > "$t/fixup4.dat"
    head -c 55000 /dev/urandom > "$t/bcm2711-rpi-4-b.dtb"; head -c 20000 /dev/urandom > "$t/overlays/overlay_map.dtb"
    head -c $((k * 1000000)) /dev/urandom > "$t/kernel8.img"
    if [[ " $MODES " == *" http "* ]]; then
        s="$W/pi5src-$k"; mkdir -p "$s/overlays" "$W/http-$k/storm"
        cp "$t/config.txt" "$t/cmdline.txt" "$s/"; head -c 80000 /dev/urandom > "$s/bcm2712-rpi-5-b.dtb"
        head -c 20000 /dev/urandom > "$s/overlays/overlay_map.dtb"; head -c $((k * 1000000)) /dev/urandom > "$s/kernel_2712.img"
        "$PINETBOOT" image bootimg "$s" -o "$W/http-$k/storm/boot.img" > "$W/bootimg-$k.log" 2>&1 \
            || { echo "storm-bench: bootimg failed: $(tail -2 "$W/bootimg-$k.log")"; exit 1; }
    fi
done
chmod -R a+rX "$W"

# ---- servers ------------------------------------------------------------------------------
start_pinetboot() {  # mode kernel: serve --dhcp full, its defaults; HTTP boot for http rows
    local mode=$1 k=$2 extra=()
    [ "$mode" = http ] && extra=(--http-boot "$SRV_IP:8080" --boot-root "$W/http-$k")
    # The log goes first: wait_for must not find the last serve's "ready" in it.
    rm -rf "$W/state" "$W/pnb.sqlite"* "$W/serve.log"
    bg "$SRV" "$W/serve.log" "$PINETBOOT" serve --interface s0 --root "$W/tftp-$k" --dhcp full \
        --range "$RANGE_FIRST,$RANGE_LAST" --lease-db "$W/pnb.sqlite" --state-dir "$W/state" \
        --http "127.0.0.1:$((20000 + $$ % 20000))" ${SERVE_CONFIG:+--config "$SERVE_CONFIG"} "${extra[@]}"
    SPID=$LAST
    wait_for "$W/serve.log" "serve: ready" 20 || { echo "storm-bench: serve did not start: $(tail -3 "$W/serve.log")" >&2; return 1; }
}
start_dnsmasq() {  # boards kernel: DHCP + pxe-service + TFTP, tftp-max at the board count
    local n=$1 k=$2
    rm -f "$W/dnsmasq.leases"
    cat > "$W/dnsmasq.conf" <<EOC
port=0
interface=s0
bind-interfaces
dhcp-range=$RANGE_FIRST,$RANGE_LAST,255.255.0.0,1h
dhcp-lease-max=100000
no-ping
dhcp-leasefile=$W/dnsmasq.leases
enable-tftp
tftp-root=$W/tftp-$k
tftp-max=$n
pxe-service=0,"Raspberry Pi Boot"
quiet-dhcp
quiet-tftp
log-facility=$W/dnsmasq.log
EOC
    bg "$SRV" "$W/dnsmasq.out" dnsmasq --conf-file="$W/dnsmasq.conf" --keep-in-foreground --pid-file=
    SPID=$LAST; sleep 1.5
    kill -0 "$SPID" 2>/dev/null || { echo "storm-bench: dnsmasq did not start: $(tail -3 "$W/dnsmasq.out")" >&2; return 1; }
}

# ---- throughput: the same server, the same client as bench/tftp-bench.sh -----------------
declare -A TP
tftp_throughput() {  # server kernel -> MB/s (1 MB = 1e6 bytes)
    local s=$1 k=$2 pid out
    if [ "$s" = pinetboot ]; then
        bg "$SRV" "$W/tp.log" "$PINETBOOT" tftp --root "$W/tftp-$k" --listen "$SRV_IP:69" \
            --max-per-source 100000 --rate-per-source 1000000 --max-transfers 100000
    else
        bg "$SRV" "$W/tp.log" dnsmasq --keep-in-foreground --conf-file=/dev/null --port=0 \
            --listen-address="$SRV_IP" --bind-interfaces --enable-tftp --tftp-root="$W/tftp-$k" \
            --tftp-max=1000 --quiet-tftp --pid-file= --log-facility="$W/tp-dnsmasq.log"
    fi
    pid=$LAST; sleep 1
    out=$(ip netns exec "$CLI" "$LOAD" --server "$SRV_IP:69" --file kernel8.img --clients "$TP_CLIENTS" \
            --blksize 1468 --verify "$W/tftp-$k/kernel8.img" --deadline-s 300 2>&1)
    stop "$pid"
    echo "$out" > "$W/tp-$s-$k.txt"
    sed -n 's/.*MBps=\([0-9.]*\).*/\1/p' <<<"$out" | head -1
}
http_throughput() {  # kernel -> MB/s: HTTP_TP_CLIENTS parallel GETs of boot.img, with serve up
    local k=$1 img="$W/http-$k/storm/boot.img" t0 t1 size
    size=$(stat -c %s "$img")
    t0=$(date +%s.%N)
    # Each from its own address of the (local) pool's top: 10.66.255.1, .2, ...
    seq 1 "$HTTP_TP_CLIENTS" | ip netns exec "$CLI" xargs -P "$HTTP_TP_CLIENTS" -I{} \
        curl -sS -f --max-time 300 --interface "10.66.255.{}" -o /dev/null "http://$SRV_IP:8080/storm/boot.img" \
        2>> "$W/http-tp.log" || { echo "storm-bench: HTTP throughput: $(sort "$W/http-tp.log" | uniq -c | head -3)" >&2; echo 0; return; }
    t1=$(date +%s.%N)
    echo "scale=1; $HTTP_TP_CLIENTS * $size / ($t1 - $t0) / 1000000" | bc
}

# ---- one storm ------------------------------------------------------------------------------
row() {  # mode server boards kernel
    local mode=$1 s=$2 n=$3 k=$4 args=() rc
    if [ "$mode" = http ]; then
        args=(--model pi5 --serial 50000000 --mac 2c:cf:67:50:00:00 --mode http --http-host "$SRV_IP:8080"
              --http-path storm --http-from-lease)
    else
        args=(--model pi4 --serial 20000000 --mac dc:a6:32:20:00:00)
    fi
    local json="$W/storm-$mode-$s-$n-$k.json"
    ip netns exec "$CLI" timeout "$RUN_TIMEOUT" "$PINETBOOT" probe --interface c0 "${args[@]}" --count "$n" \
        --dhcp-timeout "$DHCP_TIMEOUT" --file-timeout "$FILE_TIMEOUT" --max-attempts "$MAX_ATTEMPTS" --json "$json" \
        > "$W/storm-$mode-$s-$n-$k.txt" 2>&1
    rc=$?
    if [ ! -s "$json" ]; then
        printf '| %s | %s | %d | %d MB | probe ended without a report (rc %d%s) | | | | | | | | |\n' \
            "$mode" "$s" "$n" "$k" "$rc" "$([ $rc = 124 ] && echo ", RUN_TIMEOUT ${RUN_TIMEOUT}s")"
        return
    fi
    $PY - "$json" "$mode" "$s" "$n" "$k" "${TP[$s-$mode-$k]:-0}" "$W/tftp-$k" "$W/http-$k/storm" <<'P'
import json, os, sys
d = json.load(open(sys.argv[1]))
mode, server, n, k, tp = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6] or 0)
booted = [b for b in d["per_board"] if b["booted"]]
first = sum(1 for b in booted if b["attempts"] == 1)
times = sorted(b["time_to_booted_s"] for b in booted)
def pct(p):
    if not times:
        return 0.0
    r = max(1, min(len(times), -(-p * len(times) // 100)))  # nearest rank, as probe
    return times[int(r) - 1]
# What one boot fetches whole: the probe's own count, or the files' sizes if none booted.
if booted:
    per = max(b["bytes"] for b in booted)
elif mode == "http":
    per = sum(os.path.getsize(os.path.join(sys.argv[8], f)) for f in ("boot.img", "boot.sig"))
else:
    t = sys.argv[7]
    per = sum(os.path.getsize(os.path.join(t, f)) for f in ("start4.elf", "fixup4.dat",
              "bcm2711-rpi-4-b.dtb", "overlays/overlay_map.dtb", "cmdline.txt", "kernel8.img"))
    per += 2 * os.path.getsize(os.path.join(t, "config.txt"))
total = n * per
bound = total / (tp * 1e6) if tp > 0 else 0.0
last = times[-1] if times else 0.0
ratio = "%.2f" % (last / bound) if bound > 0 and times else "-"
print("| %s | %s | %d | %d MB | %d/%d | %d/%d | %.1f s | %.1f s | %.1f s | %.2f GB | %.0f MB/s | %.1f s | %s |" % (
    mode, server, n, k, first, n, len(booted), n, last, pct(50), pct(99), total / 1e9, tp, bound, ratio))
P
    # Why boards failed (their last attempt), grouped with the numbers blanked.
    grep '^verdict [0-9a-f]*:' "$W/storm-$mode-$s-$n-$k.txt" | sed 's/^verdict [0-9a-f]*: //; s/[0-9][0-9.]*/N/g' \
        | sort | uniq -c | sed "s/^/    $mode $s $n ${k}MB never booted: /" >&2
    $PY - "$json" "$mode $s $n ${k}MB" <<'P' >&2
import collections, json, re, sys
d = json.load(open(sys.argv[1]))
c = collections.Counter(re.sub(r"[0-9][0-9.]*", "N", b["attempt_failures"][0])
                        for b in d["per_board"] if b["attempt_failures"])
for why, count in c.most_common(5):
    print("    %s first attempt failed: %d x %s" % (sys.argv[2], count, why))
P
}

# ---- the run ---------------------------------------------------------------------------------
echo "## boot storm: probe --count N --max-attempts $MAX_ATTEMPTS (DHCP_TIMEOUT ${DHCP_TIMEOUT} s, TFTP_FILE_TIMEOUT ${FILE_TIMEOUT} s)"
echo
echo "Throughput for the capacity bound: tftp_load, $TP_CLIENTS clients, blksize 1468 (TFTP); $HTTP_TP_CLIENTS x curl, one address each (HTTP)."
echo
echo "| mode | server | boards | kernel | booted first try | booted within $MAX_ATTEMPTS attempts | time to last board | p50 | p99 | to deliver | throughput | capacity bound | last / bound |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for mode in $MODES; do
    for s in $SERVERS; do
        [ "$mode" = http ] && [ "$s" != pinetboot ] && continue  # dnsmasq has no HTTP boot
        for k in $KERNEL_SIZES; do
            if [ "$mode" = tftp ]; then
                TP[$s-$mode-$k]=$(tftp_throughput "$s" "$k")
            fi
            for n in $STORM_SIZES; do
                # Rows hand out the same addresses to other MACs: the server side's
                # neighbour entries of the last row would send this row's replies to boards
                # that are gone until they expire (tens of seconds).
                ip -n "$SRV" neigh flush all 2>/dev/null
                if [ "$s" = pinetboot ]; then start_pinetboot "$mode" "$k" || continue
                else start_dnsmasq "$n" "$k" || continue; fi
                if [ "$mode" = http ] && [ -z "${TP[$s-$mode-$k]:-}" ]; then
                    TP[$s-$mode-$k]=$(http_throughput "$k")
                fi
                row "$mode" "$s" "$n" "$k"
                [ "$s" = pinetboot ] && grep -h "NEIGHBOUR_TABLE_SMALL" "$W/serve.log" | head -1 | cut -c1-200 | sed 's/^/    serve: /' >&2
                stop "$SPID"
            done
        done
    done
done
# The rows are the result; the last stop() must not be the exit status.
exit 0
