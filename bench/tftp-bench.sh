#!/usr/bin/env bash
# tftp-bench.sh - the same TFTP load against pinetboot, dnsmasq and tftpd-hpa,
# in one run, on the loopback of a network namespace this script creates
# (so port 69 is private to the run and nothing touches a real interface).
#
# Load: build/bench/tftp_load (C++, one process, epoll): N concurrent lockstep
# clients (blksize 1468, tsize 0, as a Pi) each fetching the same file, every
# byte compared with the original. pinetboot is run again with windowsize 16.
#
# Measured per run: wall time, aggregate MB/s (1 MB = 1e6 bytes), server CPU
# seconds (cpuacct cgroup of the server: includes tftpd-hpa's forked children
# and kernel time in the server's syscalls), CPU seconds per GiB served,
# failed transfers. Per server: peak RSS = VmHWM of the main process, and for
# tftpd-hpa also the largest sampled sum of VmRSS over its processes.
#
# Env: CONC (default "1 16 64 256"), SIZE_MIB (default 32), BUILD_DIR (default
# build), TFTPD_HPA (default /opt/pinetboot-peers/tftpd-hpa/usr/sbin/in.tftpd),
# SERVERS (default "pinetboot dnsmasq tftpd-hpa"), DEADLINE_S per run (600),
# WINDOWS for pinetboot (default "1 16"), PIN_SERVER / PIN_LOAD: CPU lists for
# taskset (e.g. PIN_SERVER=1 PIN_LOAD=0 gives each its own CPU, so that other
# work on the machine and the load client do not take the server's CPU).
# SERVERS may also name pinetboot-inplace: pinetboot serving the same file from inside
# a raw disk image registered with `image add --in-place` (its FAT boot partition, the
# file written there by mcopy), fetched as img/big.bin (issue #18: files served out of an
# image at the speed of files from a folder).
# Packages: dnsmasq, tftpd-hpa (unpacked by scripts/setup.sh), iproute2; for
# pinetboot-inplace also fdisk (sfdisk), dosfstools, mtools.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$SRC/build}
PINETBOOT=${PINETBOOT:-$BUILD_DIR/pinetboot}
LOAD=${LOAD:-$BUILD_DIR/bench/tftp_load}
TFTPD_HPA=${TFTPD_HPA:-/opt/pinetboot-peers/tftpd-hpa/usr/sbin/in.tftpd}
CONC=${CONC:-"1 16 64 256"}
SIZE_MIB=${SIZE_MIB:-32}
SERVERS=${SERVERS:-"pinetboot dnsmasq tftpd-hpa"}
DEADLINE_S=${DEADLINE_S:-600}
WINDOWS=${WINDOWS:-"1 16"}
PIN_S=(); PIN_L=()
[ -n "${PIN_SERVER:-}" ] && PIN_S=(taskset -c "$PIN_SERVER")
[ -n "${PIN_LOAD:-}" ] && PIN_L=(taskset -c "$PIN_LOAD")
NS=pnb-tftpbench-$$
W=/tmp/pnb-tftpbench-$$
CG=/sys/fs/cgroup/cpuacct/pnb-tftpbench-$$
SPID=""
SAMPLER=""

[ "$(id -u)" = 0 ] || { echo "tftp-bench: needs root (network namespace, cgroup)"; exit 2; }
for f in "$PINETBOOT" "$LOAD"; do [ -x "$f" ] || { echo "tftp-bench: $f missing (build first)"; exit 2; }; done

stop_server() {
    [ -n "$SAMPLER" ] && kill "$SAMPLER" 2>/dev/null && wait "$SAMPLER" 2>/dev/null
    SAMPLER=""
    if [ -n "$SPID" ]; then
        kill "$SPID" 2>/dev/null
        wait "$SPID" 2>/dev/null
        SPID=""
    fi
    # tftpd-hpa children still running (none normally): end them by PID.
    if [ -f "$CG/cgroup.procs" ]; then
        for p in $(cat "$CG/cgroup.procs"); do kill "$p" 2>/dev/null; done
    fi
}
cleanup() {
    stop_server
    for p in $(ip netns pids "$NS" 2>/dev/null); do kill "$p" 2>/dev/null; done
    sleep 0.2
    ip netns del "$NS" 2>/dev/null
    [ -d "$CG" ] && rmdir "$CG" 2>/dev/null
    rm -rf "$W"
}
trap cleanup EXIT

ip netns add "$NS" || exit 1
ip -n "$NS" link set lo up
# tftpd-hpa resolves its -a address with AI_ADDRCONFIG, which ignores loopback:
# give the namespace one non-loopback IPv4 address (a veth pair inside it).
ip -n "$NS" link add pnb0 type veth peer name pnb1
ip -n "$NS" addr add 10.251.0.1/24 dev pnb0
ip -n "$NS" link set pnb0 up
ip -n "$NS" link set pnb1 up
mkdir -p "$W/root" "$CG"
head -c $((SIZE_MIB * 1048576)) /dev/urandom > "$W/root/big.bin"
chmod -R a+rX "$W"
BYTES=$((SIZE_MIB * 1048576))
if [[ " $SERVERS " == *" pinetboot-inplace "* ]]; then
    # A disk image: an MBR, one FAT partition at 1 MiB holding big.bin, nothing else.
    fat_mib=$((SIZE_MIB + SIZE_MIB / 4 + 40))
    truncate -s $(( (fat_mib + 1) * 1048576 )) "$W/disk.img"
    echo "2048,$((fat_mib * 2048)),c" | sfdisk -q "$W/disk.img" || exit 1
    mkfs.vfat -F 32 --offset 2048 "$W/disk.img" $((fat_mib * 1024)) >/dev/null || exit 1
    mcopy -i "$W/disk.img@@1M" "$W/root/big.bin" ::big.bin || exit 1
    PINETBOOT_STATE_DIR=$W/state "$PINETBOOT" image add "$W/disk.img" --name bench --in-place >/dev/null || exit 1
fi

cg_ns() { cat "$CG/cpuacct.usage"; }

start_server() {
    case $1 in
    pinetboot)
        # Limits raised: all bench clients share one source address.
        ip netns exec "$NS" "${PIN_S[@]}" "$PINETBOOT" tftp --root "$W/root" --listen 127.0.0.1:69 \
            --max-per-source 100000 --rate-per-source 1000000 --max-transfers 100000 ${PINETBOOT_ARGS:-} \
            >"$W/pinetboot.out" 2>"$W/pinetboot.log" &
        SPID=$! ;;
    pinetboot-inplace)
        ip netns exec "$NS" "${PIN_S[@]}" "$PINETBOOT" tftp --root "$W/root" --listen 127.0.0.1:69 \
            --max-per-source 100000 --rate-per-source 1000000 --max-transfers 100000 \
            --state-dir "$W/state" --in-place img=bench ${PINETBOOT_ARGS:-} \
            >"$W/pinetboot.out" 2>"$W/pinetboot.log" &
        SPID=$! ;;
    dnsmasq)
        ip netns exec "$NS" "${PIN_S[@]}" dnsmasq --keep-in-foreground --conf-file=/dev/null --port=0 \
            --listen-address=127.0.0.1 --bind-interfaces --enable-tftp --tftp-root="$W/root" \
            --tftp-max=1000 --pid-file="$W/dnsmasq.pid" --log-facility="$W/dnsmasq.log" &
        SPID=$! ;;
    tftpd-hpa)
        # -L: standalone, foreground; forks one child per transfer.
        ip netns exec "$NS" "${PIN_S[@]}" "$TFTPD_HPA" -4 -L -a 127.0.0.1:69 -u nobody -s "$W/root" &
        SPID=$! ;;
    esac
    echo "$SPID" > "$CG/cgroup.procs"
    sleep 0.5
    kill -0 "$SPID" 2>/dev/null || { echo "tftp-bench: $1 did not start"; return 1; }
    # Peak of summed RSS over the server's processes (for tftpd-hpa's children).
    ( peak=0
      while :; do
          s=0
          for p in $(cat "$CG/cgroup.procs" 2>/dev/null); do
              r=$(awk '/^VmRSS:/{print $2}' "/proc/$p/status" 2>/dev/null); s=$((s + ${r:-0}))
          done
          [ "$s" -gt "$peak" ] && peak=$s && echo "$peak" > "$W/rss-sum"
          sleep 0.2
      done ) &
    SAMPLER=$!
}

printf "| server | clients | blksize | window | seconds | MB/s | server CPU s | CPU s / GiB | failed |\n"
printf "|---|---|---|---|---|---|---|---|---|\n"
declare -A PEAK
for s in $SERVERS; do
    rm -f "$W/rss-sum"
    start_server "$s" || continue
    wins="1"
    [ "${s%-inplace}" = pinetboot ] && wins="$WINDOWS"
    file=big.bin
    [ "$s" = pinetboot-inplace ] && file=img/big.bin
    for win in $wins; do
        for n in $CONC; do
            c0=$(cg_ns)
            out=$(ip netns exec "$NS" "${PIN_L[@]}" "$LOAD" --server 127.0.0.1:69 --file "$file" --clients "$n" \
                --blksize 1468 --windowsize "$win" --verify "$W/root/big.bin" \
                --deadline-s "$DEADLINE_S" 2>&1)
            c1=$(cg_ns)
            secs=$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' <<<"$out" | head -1)
            mbps=$(sed -n 's/.*MBps=\([0-9.]*\).*/\1/p' <<<"$out" | head -1)
            failed=$(sed -n 's/.*failed=\([0-9]*\).*/\1/p' <<<"$out" | head -1)
            bytes=$(sed -n 's/.*bytes=\([0-9]*\).*/\1/p' <<<"$out" | head -1)
            cpu=$(echo "($c1 - $c0) / 1000000000" | bc -l)
            gib=$(echo "${bytes:-0} / 1073741824" | bc -l)
            per=$( [ "$(echo "$gib > 0" | bc)" = 1 ] && echo "$cpu / $gib" | bc -l || echo 0)
            printf "| %s | %d | 1468 | %d | %.2f | %.1f | %.2f | %.2f | %s |\n" \
                "$s" "$n" "$win" "${secs:-0}" "${mbps:-0}" "$cpu" "$per" "${failed:-?}"
            grep -q '^failure=' <<<"$out" && grep '^failure=' <<<"$out" | sed 's/^/    /' >&2
        done
    done
    hwm=$(awk '/^VmHWM:/{print $2}' "/proc/$SPID/status" 2>/dev/null)
    PEAK[$s]="VmHWM $(( ${hwm:-0} / 1024 )) MiB, sampled sum of VmRSS $(( $(cat "$W/rss-sum" 2>/dev/null || echo 0) / 1024 )) MiB"
    stop_server
done
echo
echo "Peak memory (file: ${SIZE_MIB} MiB):"
for s in $SERVERS; do echo "- $s: ${PEAK[$s]:-n/a}"; done
