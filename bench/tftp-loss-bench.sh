#!/usr/bin/env bash
# tftp-loss-bench.sh - lockstep transfers (blksize 1468, as a Pi) through a lossy
# server, with the adaptive retransmit timeout (default) and with the fixed 1 s one
# (--min-timeout-ms 1000), on the loopback of a network namespace this script makes.
# Loss: pinetboot's test hook drops every Nth outgoing datagram (this VM's kernel has
# no netem). Question answered: does an 8 MiB kernel fit the Pi's 30 s per-file
# deadline (TFTP_FILE_TIMEOUT) at 1 % or 5 % loss?
#
# Env: SIZE_MIB (8), CONC ("1 16"), DROP_EVERY ("100 20"), DEADLINE_S (120), BUILD_DIR.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD_DIR=${BUILD_DIR:-$HERE/../build}
PINETBOOT=$BUILD_DIR/pinetboot
LOAD=$BUILD_DIR/bench/tftp_load
SIZE_MIB=${SIZE_MIB:-8}
CONC=${CONC:-"1 16"}
DROP_EVERY=${DROP_EVERY:-"100 20"}
DEADLINE_S=${DEADLINE_S:-120}
NS=pnb-tftploss-$$
W=$(mktemp -d /tmp/pnb-tftploss-XXXXXX)
SPID=""
[ "$(id -u)" = 0 ] || { echo "tftp-loss-bench: needs root (network namespace)"; exit 2; }
for f in "$PINETBOOT" "$LOAD"; do [ -x "$f" ] || { echo "tftp-loss-bench: $f missing (build first)"; exit 2; }; done
cleanup() {
    [ -n "$SPID" ] && kill "$SPID" 2>/dev/null && wait "$SPID" 2>/dev/null
    ip netns del "$NS" 2>/dev/null
    rm -rf "$W"
}
trap cleanup EXIT
ip netns add "$NS" || exit 1
ip -n "$NS" link set lo up
mkdir -p "$W/root"
head -c $((SIZE_MIB * 1048576)) /dev/urandom > "$W/root/kernel8.img"

printf "| loss | retransmit timeout | clients | seconds (slowest) | MB/s | failed | within 30 s |\n"
printf "|---|---|---|---|---|---|---|\n"
for every in $DROP_EVERY; do
    for mode in adaptive fixed; do
        extra=(); label="adaptive (50 ms floor)"
        [ "$mode" = fixed ] && extra=(--min-timeout-ms 1000) && label="fixed 1 s"
        ip netns exec "$NS" "$PINETBOOT" tftp --root "$W/root" --listen 127.0.0.1:69 \
            --max-per-source 1000 --rate-per-source 100000 --test-drop-every "$every" "${extra[@]}" \
            >"$W/server.out" 2>"$W/server.log" &
        SPID=$!
        sleep 0.3
        for n in $CONC; do
            out=$(ip netns exec "$NS" "$LOAD" --server 127.0.0.1:69 --file kernel8.img --clients "$n" \
                --blksize 1468 --verify "$W/root/kernel8.img" --deadline-s "$DEADLINE_S" 2>&1)
            secs=$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' <<<"$out" | head -1)
            mbps=$(sed -n 's/.*MBps=\([0-9.]*\).*/\1/p' <<<"$out" | head -1)
            failed=$(sed -n 's/.*failed=\([0-9]*\).*/\1/p' <<<"$out" | head -1)
            fits=$(echo "${secs:-999} < 30" | bc)
            printf "| %s %% | %s | %d | %.2f | %.1f | %s | %s |\n" "$(echo "scale=1; 100 / $every" | bc)" \
                "$label" "$n" "${secs:-0}" "${mbps:-0}" "${failed:-?}" "$([ "$fits" = 1 ] && echo yes || echo no)"
        done
        kill "$SPID"; wait "$SPID" 2>/dev/null; SPID=""
    done
done
