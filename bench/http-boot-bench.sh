#!/usr/bin/env bash
# http-boot-bench.sh - HTTP boot (mode 7) under a storm: N boards fetching one
# boot.img at once, against the old thread-pool listener (cpp-httplib, 128
# workers: a pinetboot-full built before issue #14, OLD=) and the new
# event-driven one (epoll + sendfile, this tree's build), in one run, on the
# loopback of a network namespace this script creates (nothing touches a real
# interface; DHCP is off, TFTP listens on the namespace's loopback).
#
# Load: build/bench/http_load (C++, one process, epoll): N clients connecting at
# once, each from its own 127.1.x.y address (the per-address cap sees N boards),
# one GET with Connection: close, status and Content-Length checked, the body
# counted (discarded in the kernel; VERIFY=1 compares every byte instead). Each
# client's receive buffer is fixed at RCVBUF bytes (default 262144, as a board's
# window; 0 lets loopback autotune it to 32 MiB, and 512 of those put the whole
# machine into TCP memory pressure).
#
# Measured per run: wall time from the first connect to the last byte, the
# median and slowest board, aggregate MB/s (1 MB = 1e6 bytes), server CPU
# seconds (utime + stime of the serve process over the run, all its threads),
# failed transfers.
#
# Env: CONC (default "16 128 512"), SIZE_MIB (24), OLD (the old binary; default
# /work/main/build/pinetboot-full), NEW (default build/pinetboot-full),
# SERVERS (default "old new"), DEADLINE_S per run (300), VERIFY (0), RCVBUF,
# PIN_SERVER / PIN_LOAD: CPU lists for taskset.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$SRC/build}
NEW=${NEW:-$BUILD_DIR/pinetboot-full}
OLD=${OLD:-/work/main/build/pinetboot-full}
LOAD=${LOAD:-$BUILD_DIR/bench/http_load}
CONC=${CONC:-"16 128 512"}
SIZE_MIB=${SIZE_MIB:-24}
SERVERS=${SERVERS:-"old new"}
DEADLINE_S=${DEADLINE_S:-300}
VERIFY=${VERIFY:-0}
RCVBUF=${RCVBUF:-262144}
PIN_S=(); PIN_L=()
[ -n "${PIN_SERVER:-}" ] && PIN_S=(taskset -c "$PIN_SERVER")
[ -n "${PIN_LOAD:-}" ] && PIN_L=(taskset -c "$PIN_LOAD")
NS=pnb-httpbench-$$
W=/tmp/pnb-httpbench-$$
SPID=""

[ "$(id -u)" = 0 ] || { echo "http-boot-bench: needs root (network namespace)"; exit 2; }
for f in "$LOAD"; do [ -x "$f" ] || { echo "http-boot-bench: $f missing (build first)"; exit 2; }; done

stop_server() {
    if [ -n "$SPID" ]; then
        kill "$SPID" 2>/dev/null
        wait "$SPID" 2>/dev/null
        SPID=""
    fi
}
cleanup() {
    stop_server
    for p in $(ip netns pids "$NS" 2>/dev/null); do kill "$p" 2>/dev/null; done
    sleep 0.2
    ip netns del "$NS" 2>/dev/null
    rm -rf "$W"
}
trap cleanup EXIT

ip netns add "$NS" || exit 1
ip -n "$NS" link set lo up
mkdir -p "$W/http/d9780558" "$W/tftp" "$W/state"
head -c $((SIZE_MIB * 1048576)) /dev/urandom > "$W/http/d9780558/boot.img"
BYTES=$((SIZE_MIB * 1048576))
cat "$W/http/d9780558/boot.img" > /dev/null  # in the page cache for both servers

# Server CPU: utime + stime (fields 14, 15 of /proc/PID/stat) in seconds.
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$SPID/stat"; }

# A port per run: sockets an older server left behind (FIN_WAIT, TIME_WAIT without
# SO_REUSEADDR) must not keep the next one from binding.
RUN=0
start_server() {  # binary
    RUN=$((RUN + 1))
    PORT=$((8080 + RUN))
    ip netns exec "$NS" "${PIN_S[@]}" "$1" serve -i lo --dhcp off --root "$W/tftp" \
        --state-dir "$W/state" --http 127.0.0.1:$((18080 + RUN)) --http-boot 127.0.0.1:$PORT \
        --boot-root "$W/http" --tftp-listen 127.0.0.1:$((18180 + RUN)) > "$W/serve.log" 2>&1 &
    SPID=$!
    for _ in $(seq 50); do
        grep -q "serve: ready" "$W/serve.log" && return 0
        sleep 0.1
    done
    echo "http-boot-bench: $1 did not start: $(tail -2 "$W/serve.log")"
    return 1
}

verify=()
[ "$VERIFY" = 1 ] && verify=(--verify "$W/http/d9780558/boot.img")
printf "| server | boards | seconds | median board s | slowest board s | MB/s | server CPU s | threads | failed |\n"
printf "|---|---|---|---|---|---|---|---|---|\n"
for s in $SERVERS; do
    bin=$OLD
    [ "$s" = new ] && bin=$NEW
    [ -x "$bin" ] || { echo "http-boot-bench: $bin missing"; continue; }
    for n in $CONC; do
        # A fresh server per run: no state (records, thread pool) carried over.
        start_server "$bin" || continue
        c0=$(cpu_s)
        out=$(ip netns exec "$NS" "${PIN_L[@]}" "$LOAD" --port "$PORT" --path /d9780558/boot.img \
            --clients "$n" --expect-size "$BYTES" --deadline-s "$DEADLINE_S" --rcvbuf "$RCVBUF" \
            "${verify[@]}" 2>&1)
        c1=$(cpu_s)
        threads=$(awk '/^Threads:/{print $2}' "/proc/$SPID/status")
        get() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" <<<"$out" | head -1; }
        printf "| %s | %d | %.2f | %.2f | %.2f | %.0f | %.2f | %s | %s |\n" "$s" "$n" \
            "$(get seconds)" "$(get p50_s)" "$(get max_s)" "$(get MBps)" \
            "$(echo "$c1 - $c0" | bc -l)" "$threads" "$(get failed)"
        grep '^failure=' <<<"$out" | sed 's/^/    /' >&2
        stop_server
    done
done
