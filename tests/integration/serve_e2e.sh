#!/usr/bin/env bash
# serve end to end, in private namespaces: `pinetboot serve --netns` (dashboard on
# host loopback, DHCP/TFTP in the server namespace) and `pinetboot probe` boards:
#  - cm4, pi4 and pi5 boot; a board the server has never met boots from the
#    default tree and is recorded as discovered;
#  - their boot records are in the JSON API, and /metrics counts agree with them;
#  - the dashboard in headless Chromium shows the client row and its timeline
#    (rendered DOM), and a screenshot is written to build/serve-dashboard.png;
#  - SIGHUP under load (4 parallel TFTP downloads) keeps every transfer intact;
#  - config errors name their line: check-config, serve start, and a bad reload
#    (which keeps the running config);
#  - SIGTERM drains and exits 0.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/dhcp_lab.sh"
. "$HERE/lib/boot_tree.sh"
PINETBOOT=${PINETBOOT:?}
BUILD_DIR=${BUILD_DIR:-$(dirname "$PINETBOOT")}
lab_up se2e
PORT=$(( 20000 + ($$ % 20000) ))
API="http://127.0.0.1:$PORT"

mkdir -p "$W/root" "$W/state"
make_boot_tree "$W/root" 30000c04 cm4
make_boot_tree "$W/root" 30000004 pi4
make_boot_tree "$W/root" 30000005 pi5
make_boot_tree "$W/root" default pi4
head -c 8000000 /dev/urandom > "$W/root/big.bin"
chmod -R a+rX "$W/root"
write_config() {  # write_config LOGLEVEL [EXTRA]
    cat > "$W/pinetboot.toml" <<C
[server]
log_level = "$1"
[[interface]]
name = "s0"
dhcp = "full"
range = ["$NET.100", "$NET.150"]
[tftp]
root = "$W/root"
default_dir = "default"
[http]
listen = "127.0.0.1:$PORT"
${2:-}
C
}
write_config info

# --- config errors with line numbers
printf '[tftp]\nroot = "/x"\n\nwindowsise = 4\n' > "$W/bad.toml"
out=$("$PINETBOOT" check-config "$W/bad.toml" 2>&1); rc=$?
# (check-config also says that /x does not exist: every error in one run.)
[ $rc = 1 ] && grep -qxF "$W/bad.toml:4: unknown key 'windowsise' in [tftp]" <<<"$out" \
    && ok "check-config: unknown key with its line" || bad "check-config unknown key: rc $rc: $out"
printf '[[interface]]\nname = "s0"\ndhcp = "sometimes"\n' > "$W/bad2.toml"
out=$(ip netns exec "$SRV" "$PINETBOOT" serve --config "$W/bad2.toml" --root "$W/root" --state-dir "$W/state" 2>&1); rc=$?
[ $rc = 1 ] && grep <<<"$out" -q "bad2.toml:3: interface.dhcp: 'sometimes' is not one of: proxy, full, off" \
    && ok "serve refuses a bad value with its line" || bad "serve bad value: rc $rc: $out"
ip netns exec "$SRV" "$PINETBOOT" check-config --no-dhcp-probe "$W/pinetboot.toml" >/dev/null && ok "check-config accepts the test config" || bad "check-config on a good file"

# --- start
"$PINETBOOT" serve --config "$W/pinetboot.toml" --state-dir "$W/state" --netns "$SRV" \
    > "$W/serve.out" 2> "$W/serve.log" &
SERVE_PID=$!
LAB_PIDS="$LAB_PIDS $SERVE_PID"
wait_for "$W/serve.out" "serve: ready" 10 || { bad "serve start: $(tail -3 "$W/serve.log")"; finish serve_e2e; }
ok "serve started: $(cat "$W/serve.out")"
curl -sf "$API/healthz" | grep -qx ok && ok "/healthz from the host namespace" || bad "/healthz"

# --- boots
boot() {  # boot MODEL SERIAL MAC
    ip netns exec "$CLI" timeout 120 "$PINETBOOT" probe --interface c0 --model "$1" --serial "$2" \
        --mac "$3" --dhcp-timeout 20 > "$W/probe-$2.log" 2>&1
}
boot cm4 30000c04 dc:a6:32:30:0c:04 && ok "cm4 boots" || bad "cm4: $(tail -2 "$W/probe-30000c04.log")"
boot pi4 30000004 dc:a6:32:30:00:04 && ok "pi4 boots" || bad "pi4: $(tail -2 "$W/probe-30000004.log")"
boot pi5 30000005 2c:cf:67:30:00:05 && ok "pi5 boots" || bad "pi5: $(tail -2 "$W/probe-30000005.log")"
boot pi4 3abcdef0 dc:a6:32:3a:bc:de && ok "unknown pi4 boots from the default tree" || bad "unknown: $(tail -2 "$W/probe-3abcdef0.log")"
sleep 1.5  # the monitor works asynchronously

curl -sf "$API/api/v1/clients" > "$W/clients.json" || bad "GET /api/v1/clients"
curl -sf "$API/api/v1/boots?limit=100" > "$W/boots.json" || bad "GET /api/v1/boots"
curl -sf "$API/metrics" > "$W/metrics.txt" || bad "GET /metrics"
check=$(/usr/bin/python3 - "$W" <<'P'
import json, sys, re
w = sys.argv[1]
clients = {c["serial"]: c for c in json.load(open(w + "/clients.json"))["clients"]}
boots = json.load(open(w + "/boots.json"))["boots"]
metrics = open(w + "/metrics.txt").read()
def metric(line):
    m = re.search("^" + re.escape(line) + r" (\S+)$", metrics, re.M)
    return float(m.group(1)) if m else None
out = []
def check(cond, msg):
    out.append(("PASS " if cond else "FAIL ") + msg)
expect = {"30000c04": ("dc:a6:32:30:0c:04", "30000c04/kernel8.img"),
          "30000004": ("dc:a6:32:30:00:04", "30000004/kernel8.img"),
          "30000005": ("2c:cf:67:30:00:05", "30000005/kernel_2712.img"),
          "3abcdef0": ("dc:a6:32:3a:bc:de", "3abcdef0/kernel8.img")}
for serial, (mac, kernel) in expect.items():
    c = clients.get(serial)
    check(c is not None and c["mac"] == mac and c["state"] == "booted" and c["ip"].startswith("10.77."),
          f"API client {serial}: {c and (c['mac'], c['state'], c['ip'])}")
    mine = [b for b in boots if b["serial"] == serial]
    check(len(mine) == 1 and mine[0]["outcome"] == "kernel_loaded" and mine[0]["kernel"] == kernel
          and [d["kind"] for d in mine[0]["dhcp"]][:4] == ["discover", "offer", "request", "ack"],
          f"API boot record {serial}: {[(b['outcome'], b['kernel'], [d['kind'] for d in b['dhcp']]) for b in mine]}")
check(clients.get("30000005", {}).get("model") == "pi5", "pi5 model from option 97")
check(clients.get("30000c04", {}).get("model_name") == "CM4", "a CM4 is a CM4, though option 97 says RPi4")
ok_files = sum(1 for b in boots for f in b["files"] if f["result"] == "ok" and f["protocol"] == "tftp")
ok_bytes = sum(f["bytes"] for b in boots for f in b["files"] if f["protocol"] == "tftp")
check(metric('pinetboot_transfers_total{protocol="tftp",result="ok"}') == ok_files,
      f"metrics tftp ok transfers = {ok_files} files in the boot records")
check(metric('pinetboot_transfer_bytes_total{protocol="tftp"}') == ok_bytes,
      f"metrics tftp bytes = {ok_bytes} bytes in the boot records")
check(metric('pinetboot_boots_total{outcome="kernel_loaded"}') == 4, "metrics: 4 boots kernel_loaded")
check(metric('pinetboot_boot_duration_seconds_count{outcome="kernel_loaded"}') == 4, "metrics: boot duration histogram count 4")
check(metric('pinetboot_dhcp_packets_total{type="ack",result="ok"}') == 4, "metrics: 4 DHCP ACKs")
check(metric('pinetboot_dhcp_packets_total{type="discover",result="ok"}') >= 4, "metrics: DHCP DISCOVERs counted")
check(metric('pinetboot_transfers_in_flight{protocol="tftp"}') == 0, "metrics: nothing in flight after the boots")
check("# TYPE pinetboot_boot_duration_seconds histogram" in metrics, "metrics: histogram TYPE line")
print("\n".join(out))
P
)
echo "$check"
FAILS=$((FAILS + $(echo "$check" | grep -c '^FAIL')))
grep -q "CLIENT_DISCOVERED serial=3abcdef0 mac=dc:a6:32:3a:bc:de" "$W/serve.log" \
    && ok "unknown board logged as discovered with serial and MAC" || bad "no CLIENT_DISCOVERED for 3abcdef0"
if grep <<<"$("$PINETBOOT" --help 2>&1)" -qE "^ +client( |$)"; then
    sleep 1
    PINETBOOT_STATE_DIR=$W/state "$PINETBOOT" client list > "$W/clients.txt" 2>&1
    grep 3abcdef0 "$W/clients.txt" | grep -q discovered && ok "registry: 3abcdef0 discovered" \
        || bad "registry has no discovered 3abcdef0: $(cat "$W/clients.txt")"
fi
grep -qE "BOOT_DONE client=30000005 .*kernel=30000005/kernel_2712.img" "$W/serve.log" && ok "BOOT_DONE log line" || bad "no BOOT_DONE line"

# --- dashboard in headless Chromium
CHROME=$(command -v chromium || true)
if [ -z "$CHROME" ]; then
    bad "chromium not installed (scripts/setup.sh installs it)"
else
    UD=$(mktemp -d "$W/chrome.XXXX")
    timeout 90 "$CHROME" --headless --no-sandbox --disable-gpu --disable-background-networking \
        --disable-dev-shm-usage --user-data-dir="$UD" \
        --dump-dom "$API/?client=30000005" > "$W/dom.html" 2> "$W/chrome.log"
    grep -q 'data-serial="30000005"' "$W/dom.html" && ok "dashboard DOM: client row 30000005" || bad "no client row in the DOM ($(wc -c < "$W/dom.html") bytes)"
    grep -q 'data-path="30000005/kernel_2712.img"' "$W/dom.html" && ok "dashboard DOM: timeline row for kernel_2712.img" || bad "no timeline row in the DOM"
    n=$(grep -o 'class="wf-row' "$W/dom.html" | wc -l)
    [ "$n" -ge 8 ] && ok "dashboard DOM: $n timeline rows (DHCP + files)" || bad "timeline rows: $n"
    grep -q 'Kernel loaded (30000005/kernel_2712.img)' "$W/dom.html" && ok "dashboard DOM: outcome banner" || bad "no outcome banner"
    mkdir -p "$BUILD_DIR"
    rm -f "$BUILD_DIR/serve-dashboard.png"
    timeout 90 "$CHROME" --headless --no-sandbox --disable-gpu --disable-background-networking \
        --disable-dev-shm-usage --user-data-dir="$UD" --window-size=1300,900 \
        --screenshot="$BUILD_DIR/serve-dashboard.png" "$API/?client=30000005" >> "$W/chrome.log" 2>&1
    sz=$(stat -c %s "$BUILD_DIR/serve-dashboard.png" 2>/dev/null || echo 0)
    [ "$sz" -gt 20000 ] && ok "screenshot $BUILD_DIR/serve-dashboard.png ($sz bytes)" || bad "screenshot missing or empty ($sz)"
fi

# --- reload under load: 4 downloads of 8 MB at blksize 512 (~2 s each), two SIGHUPs meanwhile
want=$(sha256sum < "$W/root/big.bin")
for i in 1 2 3 4; do
    ip netns exec "$CLI" curl -sS --max-time 60 -o "$W/big.$i" "tftp://$SRV_IP/big.bin" 2> "$W/curl.$i.err" &
    eval "DL$i=\$!"
done
sleep 0.5
write_config debug '[pxe]
menu_text = "Changed Menu"'
kill -HUP "$SERVE_PID"; sleep 0.5
write_config info
kill -HUP "$SERVE_PID"
okdl=0
for i in 1 2 3 4; do
    eval "p=\$DL$i"
    wait "$p" && [ "$(sha256sum < "$W/big.$i")" = "$want" ] && okdl=$((okdl + 1))
done
[ $okdl = 4 ] && ok "reload under load: 4/4 downloads complete and intact" || bad "reload under load: $okdl/4 intact ($(cat "$W"/curl.*.err))"
[ "$(grep -c CONFIG_RELOADED "$W/serve.log")" -ge 2 ] && ok "two reloads logged" || bad "reloads: $(grep -c CONFIG_RELOADED "$W/serve.log")"
grep -q "CONFIG_RESTART_NEEDED keys=pxe.menu_text" "$W/serve.log" && ok "restart-only key reported on reload" || bad "no CONFIG_RESTART_NEEDED"

# --- a broken config on reload: refused with its line, the running config stays
printf '[server]\nlog_level = "info"\n[tftp]\nroot = 7\n' > "$W/pinetboot.toml"
kill -HUP "$SERVE_PID"; sleep 0.5
grep -q "CONFIG_RELOAD_FAILED error=\"$W/pinetboot.toml:4: tftp.root: expected a string, got an integer\"" "$W/serve.log" \
    && ok "bad reload refused with its line" || bad "bad reload: $(grep CONFIG_RELOAD "$W/serve.log" | tail -1)"
ip netns exec "$CLI" curl -sS --max-time 20 -o "$W/after" "tftp://$SRV_IP/30000004/config.txt" && cmp -s "$W/after" "$W/root/30000004/config.txt" \
    && ok "still serving after the bad reload" || bad "not serving after the bad reload"

# --- SIGTERM drains and exits 0
kill -TERM "$SERVE_PID"
for _ in $(seq 1 100); do kill -0 "$SERVE_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$SERVE_PID" 2>/dev/null; then bad "serve still running 10 s after SIGTERM"; else
    wait "$SERVE_PID"; rc=$?
    [ $rc = 0 ] && grep -q SERVE_STOPPED "$W/serve.log" && ok "SIGTERM: drained, exit 0" || bad "SIGTERM exit $rc"
fi
finish serve_e2e
