# dhcp_lab.sh - sourced by the DHCP/probe integration tests. Creates a private
# two-namespace lab (names unique to this test and process), and cleans it up
# on exit by PID. Nothing is ever started outside these namespaces.
#
#   lab_up TAG            -> $SRV, $CLI netns; veth s0 (10.77.N.1/24) <-> c0 (10.77.N.2/24)
#   lab_bg NS LOG CMD...  -> runs CMD in NS in the background, records its PID in $LAB_PIDS
#   lab_kill PID          -> SIGTERM, wait up to 5 s, then SIGKILL
#   ok/bad/finish         -> PASS/FAIL lines, exit status
set -uo pipefail
# With pipefail, `echo "$out" | grep -q PATTERN` fails now and then on a match: grep -q
# leaves at its first match and echo's next write gets SIGPIPE (serve_http_boot failed so
# with every board booted). Tests match captured output with a here-string instead:
# `grep <<<"$out" -q PATTERN`.

LAB_PIDS=""
FAILS=0
W=""
ok()  { echo "PASS $*"; }
bad() { echo "FAIL $*"; FAILS=$((FAILS+1)); }

lab_cleanup() {
    for p in $LAB_PIDS; do kill "$p" 2>/dev/null; done
    sleep 0.2
    for ns in ${SRV:-} ${CLI:-} ${SITE:-}; do
        ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$ns" || continue
        local pids
        pids=$(ip netns pids "$ns" 2>/dev/null)
        [ -n "$pids" ] && kill $pids 2>/dev/null
        sleep 0.2
        pids=$(ip netns pids "$ns" 2>/dev/null)
        [ -n "$pids" ] && kill -9 $pids 2>/dev/null
        ip netns del "$ns" 2>/dev/null
    done
    [ -n "$W" ] && [ "${KEEP_SCRATCH:-0}" != 1 ] && rm -rf "$W"
}

# Every pinetboot a test starts keeps its state (registry, API token, rollouts) in the
# test's scratch directory unless the test names one itself: the default
# /var/lib/pinetboot is the host's, and a state left there by one run (a newer schema,
# a token) would change the next run's results.
lab_state_dir() {
    : "${PINETBOOT_STATE_DIR:=$W/state}"
    export PINETBOOT_STATE_DIR
}

lab_up() {
    local tag=$1
    [ "$(id -u)" = 0 ] || { echo "SKIP: needs root for network namespaces"; exit 77; }
    SRV="pnb-${tag}-$$-srv"
    CLI="pnb-${tag}-$$-cli"
    # A subnet unlikely to collide with other tests running at the same time.
    NETN=$(( ($$ % 200) + 20 ))
    NET="10.77.$NETN"
    SRV_IP="$NET.1"
    CLI_IP="$NET.2"
    W=$(mktemp -d "/tmp/pnb-${tag}-XXXXXX")
    chmod 755 "$W"
    lab_state_dir
    trap lab_cleanup EXIT
    ip netns add "$SRV" || { echo "FAIL ip netns add"; exit 1; }
    ip netns add "$CLI" || { echo "FAIL ip netns add"; exit 1; }
    ip -n "$SRV" link set lo up
    ip -n "$CLI" link set lo up
    ip link add s0 netns "$SRV" type veth peer name c0 netns "$CLI" || { echo "FAIL veth"; exit 1; }
    ip -n "$SRV" addr add "$SRV_IP/24" dev s0
    ip -n "$CLI" addr add "$CLI_IP/24" dev c0
    ip -n "$SRV" link set s0 up
    ip -n "$CLI" link set c0 up
    for _ in $(seq 1 50); do
        ip netns exec "$CLI" ping -c1 -W1 "$SRV_IP" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "FAIL lab_up: no ping across the veth"; exit 1
}

# lab_up_bridge TAG: like lab_up, plus netns $SITE (r0 = $SITE_IP) for a site DHCP server;
# in $CLI, bridge br0 ($CLI_IP) joins c0 (to $SRV) and c1 (to $SITE), like a switch.
lab_up_bridge() {
    local tag=$1
    [ "$(id -u)" = 0 ] || { echo "SKIP: needs root for network namespaces"; exit 77; }
    SRV="pnb-${tag}-$$-srv"; CLI="pnb-${tag}-$$-cli"; SITE="pnb-${tag}-$$-site"
    NETN=$(( ($$ % 200) + 20 )); NET="10.78.$NETN"
    SRV_IP="$NET.1"; CLI_IP="$NET.2"; SITE_IP="$NET.3"
    W=$(mktemp -d "/tmp/pnb-${tag}-XXXXXX"); chmod 755 "$W"
    lab_state_dir
    trap lab_cleanup EXIT
    for ns in "$SRV" "$CLI" "$SITE"; do
        ip netns add "$ns" || { echo "FAIL ip netns add $ns"; exit 1; }
        ip -n "$ns" link set lo up
    done
    ip link add s0 netns "$SRV" type veth peer name c0 netns "$CLI" || { echo "FAIL veth"; exit 1; }
    ip link add r0 netns "$SITE" type veth peer name c1 netns "$CLI" || { echo "FAIL veth"; exit 1; }
    ip -n "$CLI" link add br0 type bridge
    ip -n "$CLI" link set br0 type bridge stp_state 0 forward_delay 0
    ip -n "$CLI" link set br0 address 02:78:00:00:00:02
    ip -n "$CLI" link set c0 master br0
    ip -n "$CLI" link set c1 master br0
    ip -n "$SRV" addr add "$SRV_IP/24" dev s0
    ip -n "$SITE" addr add "$SITE_IP/24" dev r0
    ip -n "$CLI" addr add "$CLI_IP/24" dev br0
    ip -n "$SRV" link set s0 up; ip -n "$SITE" link set r0 up
    ip -n "$CLI" link set c0 up; ip -n "$CLI" link set c1 up; ip -n "$CLI" link set br0 up
    for _ in $(seq 1 50); do
        ip netns exec "$CLI" ping -c1 -W1 "$SRV_IP" >/dev/null 2>&1 &&
            ip netns exec "$CLI" ping -c1 -W1 "$SITE_IP" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "FAIL lab_up_bridge: no ping across the bridge"; exit 1
}

# lab_qemu_tap: after lab_up, a tap (tap0) for QEMU on the client side: c0 and tap0 join
# bridge br0 in $CLI, which keeps the client address $CLI_IP.
lab_qemu_tap() {
    ip -n "$CLI" addr del "$CLI_IP/24" dev c0
    ip -n "$CLI" link add br0 type bridge
    ip -n "$CLI" link set br0 type bridge stp_state 0 forward_delay 0
    ip -n "$CLI" link set br0 address 02:77:00:00:00:02
    ip -n "$CLI" link set c0 master br0
    ip -n "$CLI" addr add "$CLI_IP/24" dev br0
    ip -n "$CLI" link set br0 up
    ip -n "$CLI" tuntap add dev tap0 mode tap
    ip -n "$CLI" link set tap0 master br0
    ip -n "$CLI" link set tap0 up
}

lab_bg() {
    local ns=$1 log=$2; shift 2
    ip netns exec "$ns" "$@" > "$log" 2>&1 &
    LAB_PIDS="$LAB_PIDS $!"
    LAST_PID=$!
}

lab_kill() {
    local p=$1
    kill "$p" 2>/dev/null || return 0
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null
    wait "$p" 2>/dev/null
    return 0
}

# The TFTP socket backends to test: "epoll uring", or "epoll" where the kernel
# (or a container's seccomp profile) refuses io_uring, with a SKIP line on
# stderr saying why. Needs $PINETBOOT and $W.
tftp_io_modes() {
    mkdir -p "$W/io-probe"
    "$PINETBOOT" tftp --root "$W/io-probe" --listen 127.0.0.1:0 --io uring \
        > "$W/io-probe.out" 2> "$W/io-probe.log" &
    local pid=$! up=1
    for _ in $(seq 1 100); do
        grep -q '^listening on ' "$W/io-probe.out" && { up=0; break; }
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
    if [ $up = 0 ]; then echo "epoll uring"; else
        echo "SKIP io_uring round: $(tail -1 "$W/io-probe.log")" >&2; echo epoll; fi
}

# wait_for FILE REGEX SECONDS
wait_for() {
    local f=$1 re=$2 s=$3
    for _ in $(seq 1 $((s * 10))); do
        grep -qE "$re" "$f" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

finish() {
    local name=$1
    if [ "$FAILS" = 0 ]; then echo "PASS $name"; exit 0; fi
    echo "FAIL $name ($FAILS failed)"; exit 1
}
