#!/usr/bin/env bash
# demo.sh - the pinetboot demo: a virtual boot LAN with several virtual Pis
# booting from `pinetboot serve`, and the dashboard at http://127.0.0.1:8080
# in this machine's own browser.
#
#   sudo ./scripts/demo.sh                 # runs until Ctrl-C
#   sudo DEMO_SECONDS=60 ./scripts/demo.sh # exits by itself (tests, CI)
#   DEMO_PORT=8081                         # another dashboard port
#   DEMO_SKIP_SETUP=1                      # skip setup.sh (packages) and build.sh
#   PINETBOOT=path/to/pinetboot            # another build (default build/pinetboot)
#
# What it makes (and removes again on exit, Ctrl-C or error):
#   - two network namespaces, pnb-demo-<pid>-srv and pnb-demo-<pid>-lan, joined by
#     a veth pair (s0 10.213.N.1/24 <-> c0). All DHCP, TFTP and broadcast traffic
#     stays on that veth: nothing is sent on this machine's own interfaces.
#   - a scratch folder with a sample client tree (generated placeholder files
#     named like the real ones) and a state directory for the client registry.
#   - `pinetboot serve --netns pnb-demo-<pid>-srv`: serve binds its dashboard
#     socket on 127.0.0.1 in the host namespace first, then moves into the server
#     namespace for DHCP and TFTP (setns). So the browser reaches the dashboard
#     directly, with no forwarder, and DHCP never touches a host interface.
#   - `pinetboot probe` boards in the LAN namespace: a cm4, a pi4, a pi5, a Pi the
#     server has never met (recorded as discovered, boots from the default tree)
#     and a cm4 whose folder lacks start4.elf (fails: shown red with its reason).
#     While the demo waits, one board reboots every 20 s so the page updates live.
#   - an OS image (tests/integration/lib/make_pi_image.sh) imported into the
#     state directory, and the four known boards enrolled from it with
#     `client add` under their names (demo-cm4, demo-pi4, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
PORT=${DEMO_PORT:-8080}
SECONDS_LIMIT=${DEMO_SECONDS:-0}

[ "$(id -u)" = 0 ] || { echo "demo.sh: must run as root (network namespaces): sudo $0" >&2; exit 1; }

if [ "${DEMO_SKIP_SETUP:-0}" != 1 ]; then
    ./scripts/setup.sh
    ./scripts/build.sh
fi
PNB=${PINETBOOT:-$REPO/build/pinetboot}  # the tests run it with their build's binary
[ -x "$PNB" ] || { echo "demo.sh: $PNB missing (build failed?)" >&2; exit 1; }

# Until serve and probe exist, show the EEPROM demo instead of nothing.
has_cmd() { "$PNB" --help 2>&1 | grep -qE "^ +$1( |\$)"; }
if ! has_cmd probe || ! has_cmd serve; then
    echo "demo.sh: this build has no serve/probe yet; running the EEPROM demo instead"
    exec ./scripts/demo-eeprom.sh
fi

# A refused connection is the expected case (the port is free): its message is noise.
if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
    echo "demo.sh: 127.0.0.1:$PORT is already in use; set DEMO_PORT to another port" >&2
    exit 1
fi

TAG="pnb-demo-$$"
SRV="$TAG-srv"
LAN="$TAG-lan"
N=$(( ($$ % 200) + 20 ))
NET="10.213.$N"
W=$(mktemp -d "/tmp/$TAG.XXXXXX")
chmod 755 "$W"
PIDS=""

cleanup() {
    # Best effort by design: a process may have exited and a namespace may
    # not exist yet when an early step failed, so errors here are expected
    # and silenced (2>/dev/null), and set -e is off.
    set +e
    trap - EXIT INT TERM
    for p in $PIDS; do kill "$p" 2>/dev/null; done
    for p in $PIDS; do
        for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null
    done
    for ns in "$LAN" "$SRV"; do
        if ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$ns"; then
            pids=$(ip netns pids "$ns" 2>/dev/null)
            [ -n "$pids" ] && kill $pids 2>/dev/null && sleep 0.3
            pids=$(ip netns pids "$ns" 2>/dev/null)
            [ -n "$pids" ] && kill -9 $pids 2>/dev/null
            ip netns del "$ns"
        fi
    done
    [ "${DEMO_KEEP:-0}" = 1 ] && echo "demo.sh: kept $W" || rm -rf "$W"
    echo "demo.sh: cleaned up (namespaces $SRV $LAN, scratch $W)"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "demo.sh: creating the virtual LAN ($SRV <-> $LAN, $NET.0/24)"
ip netns add "$SRV"
ip netns add "$LAN"
ip -n "$SRV" link set lo up
ip -n "$LAN" link set lo up
ip link add s0 netns "$SRV" type veth peer name c0 netns "$LAN"
ip -n "$SRV" addr add "$NET.1/24" dev s0
ip -n "$SRV" link set s0 up
# The LAN end has an address too (like a switch port with a host on it); the
# virtual boards answer ARP for their own leased addresses.
ip -n "$LAN" addr add "$NET.2/24" dev c0
ip -n "$LAN" link set c0 up

# Sample client tree: placeholder bytes with the real names and plausible sizes
# (spec netboot-protocol.md 4.3/4.4). Not firmware: nothing here boots real hardware.
tree() {  # tree DIR MODEL [broken]
    local d=$1 model=$2
    mkdir -p "$d/overlays"
    printf 'arm_64bit=1\nenable_uart=1\n' > "$d/config.txt"
    echo "console=serial0,115200 root=/dev/nfs nfsroot=$NET.1:/srv/nfs/demo,vers=3 rw ip=dhcp rootwait" > "$d/cmdline.txt"
    head -c 20000 /dev/urandom > "$d/overlays/overlay_map.dtb"
    if [ "$model" = pi5 ]; then
        head -c 80000 /dev/urandom > "$d/bcm2712-rpi-5-b.dtb"
        head -c 2500000 /dev/urandom > "$d/kernel_2712.img"
    else
        [ "${3:-}" = broken ] || head -c 2300000 /dev/urandom > "$d/start4.elf"
        head -c 5400 /dev/urandom > "$d/fixup4.dat"
        head -c 55000 /dev/urandom > "$d/bcm2711-rpi-4-b.dtb"
        head -c 55000 /dev/urandom > "$d/bcm2711-rpi-cm4.dtb"
        head -c 2500000 /dev/urandom > "$d/kernel8.img"
    fi
}
mkdir -p "$W/state"
export PINETBOOT_STATE_DIR=$W/state
ROOT=$W/state/tftp

# Known boards are enrolled the way a user enrols real ones: an OS image is
# imported and `client add` writes each board's tree (tftp/SERIAL) and names
# it in the registry. The image is a small Raspberry Pi OS look-alike made
# with Debian tools (no download); the unknown board is left out on purpose
# and boots from the default tree.
if has_cmd client && has_cmd image; then
    echo "demo.sh: making and importing a small demo OS image"
    bash "$REPO/tests/integration/lib/make_pi_image.sh" "$W/demo-os.img" "$W/image-src" mbr \
        > "$W/make-image.log" 2>&1 \
        || { echo "demo.sh: making the demo image failed:" >&2; tail -5 "$W/make-image.log" >&2; exit 1; }
    "$PNB" image import "$W/demo-os.img" --name demo-os > "$W/import.log" 2>&1 \
        || { echo "demo.sh: image import failed:" >&2; cat "$W/import.log" >&2; exit 1; }
    rm -f "$W/demo-os.img"
    # Backend none: nothing is exported; the virtual boards stop after the kernel fetch.
    "$PNB" settings set --server-ip "$NET.1" --client-subnet "$NET.0/24" --nfs-backend none \
        > "$W/settings.log" 2>&1 \
        || { echo "demo.sh: settings set failed:" >&2; cat "$W/settings.log" >&2; exit 1; }
    add_board() {  # add_board SERIAL MAC MODEL NAME
        "$PNB" client add --serial "$1" --mac "$2" --model "$3" --name "$4" --image demo-os \
            --root shared --notes "demo board" --no-apply > "$W/client-$1.log" 2>&1 \
            || { echo "demo.sh: client add $1 failed:" >&2; cat "$W/client-$1.log" >&2; exit 1; }
    }
    add_board 10000c04 dc:a6:32:00:0c:04 cm4 demo-cm4
    add_board 10000004 dc:a6:32:00:00:04 pi4 demo-pi4
    add_board 10000005 2c:cf:67:00:00:05 pi5 demo-pi5
    add_board 10000bad dc:a6:32:00:0b:ad cm4 demo-broken
    # The image has Pi 4 firmware only: the Pi 5 gets placeholder files with
    # the names its bootloader asks for (spec 4.4); the broken cm4 loses
    # start4.elf (a hard link to the image: the image keeps it).
    head -c 80000 /dev/urandom > "$ROOT/10000005/bcm2712-rpi-5-b.dtb"
    head -c 2500000 /dev/urandom > "$ROOT/10000005/kernel_2712.img"
    rm "$ROOT/10000bad/start4.elf"
    echo "demo.sh: enrolled demo-cm4, demo-pi4, demo-pi5 and demo-broken ($("$PNB" client list | tail -n +2 | wc -l) clients)"
else
    tree "$ROOT/10000c04" cm4
    tree "$ROOT/10000004" pi4
    tree "$ROOT/10000005" pi5
    tree "$ROOT/10000bad" cm4 broken
fi
tree "$ROOT/default" pi4
chmod -R a+rX "$ROOT"
cat > "$W/pinetboot.toml" <<EOF
# The demo's configuration (every key: docs/configuration.md).
[server]
log_level = "info"

[[interface]]
name = "s0"
dhcp = "full"
range = ["$NET.100", "$NET.199"]

[tftp]
root = "$ROOT"
default_dir = "default"

[http]
listen = "127.0.0.1:$PORT"
EOF
# In the lab namespace: check-config also checks that the interface exists there.
ip netns exec "$SRV" "$PNB" check-config --no-dhcp-probe "$W/pinetboot.toml"

"$PNB" serve --config "$W/pinetboot.toml" --state-dir "$W/state" --netns "$SRV" \
    > "$W/serve.out" 2> "$W/serve.log" &
SERVE_PID=$!
PIDS="$SERVE_PID"
for _ in $(seq 1 100); do
    grep -q "serve: ready" "$W/serve.out" 2>/dev/null && break  # not written yet: expected
    kill -0 "$SERVE_PID" 2>/dev/null || { echo "demo.sh: serve failed:" >&2; tail -5 "$W/serve.log" >&2; exit 1; }
    sleep 0.1
done
grep -q "serve: ready" "$W/serve.out" || { echo "demo.sh: serve did not start" >&2; tail -5 "$W/serve.log" >&2; exit 1; }

BOARDS=(
    "cm4 10000c04 dc:a6:32:00:0c:04"
    "pi4 10000004 dc:a6:32:00:00:04"
    "pi5 10000005 2c:cf:67:00:00:05"
    "pi4 1abcdef0 dc:a6:32:ab:cd:ef"
    "cm4 10000bad dc:a6:32:00:0b:ad"
)
boot() {  # boot "MODEL SERIAL MAC" -> background probe, output in $W/probe-SERIAL.log
    set -- $1
    # Short DHCP/file timeouts: a failing board gives up in seconds, not minutes.
    ip netns exec "$LAN" "$PNB" probe --interface c0 --model "$1" --serial "$2" --mac "$3" \
        --dhcp-timeout 20 --file-timeout 5 > "$W/probe-$2.log" 2>&1 &
    PIDS="$PIDS $!"
}

echo "demo.sh: booting ${#BOARDS[@]} virtual boards (cm4, pi4, pi5, an unknown pi4, a broken cm4)"
for b in "${BOARDS[@]}"; do
    boot "$b"
    sleep 0.7
done

cat <<EOF

  Dashboard:  http://127.0.0.1:$PORT/        (open it in your browser)
  JSON API:   http://127.0.0.1:$PORT/api/v1/clients   /api/v1/boots   /api/v1/events
  Metrics:    http://127.0.0.1:$PORT/metrics
  Sign in:    $("$PNB" token show --state-dir "$W/state" 2>/dev/null || echo "(pinetboot token show --state-dir $W/state)")
              (the API token: enrol, edit, reset and remove boards on the page)

  Server log: $W/serve.log     Boards: $W/probe-*.log
  One board reboots every 20 s. Press Ctrl-C to stop and remove everything.

EOF

# Each board's verdict, as it arrives (the dashboard shows the timelines).
declare -A REPORTED
report_verdicts() {
    local f serial v
    for f in "$W"/probe-*.log; do
        [ -e "$f" ] || continue
        v=$(grep -m1 '^verdict:' "$f" 2>/dev/null) || continue  # no verdict yet: expected
        [ "${REPORTED[$f]:-}" = "$v" ] && continue
        REPORTED[$f]=$v
        serial=${f##*/probe-}; serial=${serial%.log}
        echo "  board $serial: ${v#verdict: }" | cut -c1-160
    done
}

start=$(date +%s)
next=$((start + 20))
i=0
while :; do
    report_verdicts
    now=$(date +%s)
    if [ "$SECONDS_LIMIT" -gt 0 ] && [ $((now - start)) -ge "$SECONDS_LIMIT" ]; then
        echo "demo.sh: DEMO_SECONDS=$SECONDS_LIMIT reached"
        break
    fi
    kill -0 "$SERVE_PID" 2>/dev/null || { echo "demo.sh: serve exited:" >&2; tail -5 "$W/serve.log" >&2; exit 1; }
    if [ "$now" -ge "$next" ]; then
        boot "${BOARDS[$((i % 3))]}"
        i=$((i + 1))
        next=$((now + 20))
    fi
    sleep 1
done
exit 0
