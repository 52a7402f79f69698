#!/usr/bin/env bash
# web_dashboard.sh - the dashboard's Clients, Images and Doctor views in a real
# Chromium page (tests/web/dashboard.spec.mjs: playwright-core, Debian's
# /usr/bin/chromium, never a downloaded browser). An image made by the test
# (lib/make_pi_image.sh) is imported and a CM4 enrolled on it without --model;
# `serve --netns` puts DHCP/TFTP in the lab's server namespace and the dashboard on
# host loopback; a probe CM4 (enrolled) and a probe Pi 4 (never seen before) boot.
# Then: the CM4's row says CM4 and the Pi 4's says Pi 4 (from what the boards sent),
# the unknown Pi 4 stands out, the Images view has the image with its size and
# client, the Doctor view has findings with fixes; the JSON API agrees. Then the
# write side from the page: signed out nothing can be changed (401); signed in with
# `token show`'s token the Pi 4 is enrolled (a private copy of the small test root), its
# notes edited, a CLI `client set` shows up live, it boots again from its new tree with the
# boot appearing live in its timeline, its root is reset (a file written there is gone),
# and it is removed; the CLI checks each; the image file
# is imported again from the Images view (POST /api/v1/images, progress bar). Screenshots
# of each view, and of any failed step, go to $BUILD_DIR/web-dashboard/.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/dhcp_lab.sh"
. "$HERE/lib/boot_tree.sh"
PINETBOOT=${PINETBOOT:?}
BUILD_DIR=${BUILD_DIR:-$(dirname "$PINETBOOT")}
SOURCE_DIR=${SOURCE_DIR:-$(cd "$HERE/../.." && pwd)}
WEB=$SOURCE_DIR/tests/web
OUT=$BUILD_DIR/web-dashboard
if [ ! -d "$WEB/node_modules/playwright-core" ] || ! command -v node >/dev/null; then
    echo "FAIL web_dashboard: playwright-core is not installed in $WEB (scripts/setup.sh runs npm ci there; needs node and npm)"
    exit 1
fi
[ -x /usr/bin/chromium ] || { echo "FAIL web_dashboard: /usr/bin/chromium missing (scripts/setup.sh installs it)"; exit 1; }
lab_up webui
PORT=$(( 20000 + ($$ % 20000) ))
API="http://127.0.0.1:$PORT"
S=$W/state
CM4=2000c004
PI4=2000a004
export PINETBOOT_STATE_DIR=$S

# --- an image and a client on it (no --model: the model must come from the board)
bash "$HERE/lib/make_pi_image.sh" "$W/pi.img" "$W" mbr 2>/dev/null || { bad "make_pi_image"; finish web_dashboard; }
"$PINETBOOT" image import "$W/pi.img" --name os > "$W/import.log" 2>&1 && ok "image imported" || bad "image import: $(tail -2 "$W/import.log")"
"$PINETBOOT" client add --serial "$CM4" --name rack-cm4 --image os --root shared --address "$NET.0/24" \
    --server-ip "$SRV_IP" --nfs-backend none > "$W/add.log" 2>&1 && ok "CM4 enrolled on the image" || bad "client add: $(tail -2 "$W/add.log")"
make_boot_tree "$S/tftp" default pi4  # boards nobody enrolled boot from here
cat > "$W/pinetboot.toml" <<C
[[interface]]
name = "s0"
dhcp = "full"
range = ["$NET.100", "$NET.150"]
[tftp]
root = "$S/tftp"
default_dir = "default"
[http]
listen = "127.0.0.1:$PORT"
C
"$PINETBOOT" serve --config "$W/pinetboot.toml" --state-dir "$S" --netns "$SRV" \
    > "$W/serve.out" 2> "$W/serve.log" &
SERVE_PID=$!
LAB_PIDS="$LAB_PIDS $SERVE_PID"
wait_for "$W/serve.out" "serve: ready" 10 || { bad "serve start: $(tail -3 "$W/serve.log")"; finish web_dashboard; }

boot() {  # boot MODEL SERIAL MAC
    ip netns exec "$CLI" timeout 60 "$PINETBOOT" probe --interface c0 --model "$1" --serial "$2" \
        --mac "$3" --dhcp-timeout 20 > "$W/probe-$2.log" 2>&1
}
boot cm4 "$CM4" dc:a6:32:20:0c:04 && ok "probe CM4 boots from its image" || bad "cm4: $(tail -2 "$W/probe-$CM4.log")"
boot pi4 "$PI4" dc:a6:32:20:0a:04 && ok "probe Pi 4 (unknown) boots from the default tree" || bad "pi4: $(tail -2 "$W/probe-$PI4.log")"
grep -q "$CM4/kernel8.img" "$W/probe-$CM4.log" && ok "the CM4 loaded its kernel from its own tree" || bad "cm4 kernel: $(grep -i kernel "$W/probe-$CM4.log" | tail -2)"
# The monitor works asynchronously and the registry is polled once a second.
for _ in $(seq 1 30); do
    curl -sf "$API/api/v1/clients" > "$W/clients.json" && grep -q "\"$PI4\"" "$W/clients.json" \
        && grep -q '"discovered":true' "$W/clients.json" && break
    sleep 0.2
done

# --- the JSON API
"$PINETBOOT" settings show > "$W/settings.before" 2>&1
curl -sf "$API/api/v1/images" > "$W/images.json" || bad "GET /api/v1/images"
t_doctor=$(curl -sf -o "$W/doctor.json" -w '%{time_total}' "$API/api/v1/doctor") \
    && ok "GET /api/v1/doctor answered in $t_doctor s" || bad "GET /api/v1/doctor"
code=$(curl -s -o "$W/err.json" -w '%{http_code}' "$API/api/v1/nothing-here")
TOKEN=$("$PINETBOOT" token show --state-dir "$S") || bad "token show"
check=$(python3 - "$W" "$CM4" "$PI4" "$S" "$TOKEN" "$PINETBOOT" <<'P'
import json, sys, os
w, cm4, pi4, state, token, cli = sys.argv[1:7]
clients = {c["serial"]: c for c in json.load(open(w + "/clients.json"))["clients"]}
images = json.load(open(w + "/images.json"))["images"]
doctor = json.load(open(w + "/doctor.json"))
out = []
def check(cond, msg):
    out.append(("PASS " if cond else "FAIL ") + msg)
c, p = clients.get(cm4, {}), clients.get(pi4, {})
check(c.get("model") == "cm4" and c.get("model_name") == "CM4" and c.get("model_source") == "revision",
      f"API: the CM4 is a CM4 ({c.get('model')}, {c.get('model_name')}, from {c.get('model_source')})")
check(p.get("model") == "pi4" and p.get("model_name") == "Pi 4", f"API: the Pi 4 is a Pi 4 ({p.get('model_name')})")
check(c.get("registered") and not c.get("discovered"), "API: the CM4 is enrolled")
check(p.get("discovered") is True, "API: the Pi 4 is discovered")
img = next((i for i in images if i["name"] == "os"), None)
boot = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(state + "/images/os/boot") for f in fs
           if not os.path.islink(os.path.join(d, f)))
check(img is not None and img["clients"] == [cm4], f"API: image os used by {img and img['clients']}")
check(img is not None and img["boot_bytes"] == boot and img["size_bytes"] == boot + img["root_bytes"],
      f"API: image size {img and img['size_bytes']} = boot {boot} + root {img and img['root_bytes']}")
check(img is not None and img["layout"]["table"] == "mbr" and img["layout"]["boot"]["fs"].startswith("FAT"),
      f"API: image layout {img and img['layout']}")
f = doctor.get("findings", [])
check(any(x["check"] == "client " + pi4 and "client add --serial " + pi4 in x["fix"] for x in f),
      f"API: doctor says how to enrol the discovered board ({len(f)} findings)")
check(any(x["check"] == "client " + cm4 for x in f), "API: doctor checked the enrolled CM4")
check([s["check"] for s in doctor.get("skipped", [])] == ["dhcp"], "API: doctor says it skipped the DHCP probe")
# It looked at s0 from serve's namespace (serve --netns), not the dashboard's.
iface = [x for x in f if x["check"] == "interface"]
check(len(iface) == 1 and iface[0]["severity"] == "ok" and "s0 is up" in iface[0]["message"],
      f"API: doctor sees the boot interface in serve's namespace ({iface})")
print("\n".join(out))
json.dump({"cm4": cm4, "pi4": pi4, "unknown": pi4, "token": token, "cli": cli, "import_path": w + "/pi.img",
           "image": {"name": "os", "size_bytes": img["size_bytes"] if img else -1, "clients": [cm4]}},
          open(w + "/expect.json", "w"))
P
)
echo "$check"
FAILS=$((FAILS + $(echo "$check" | grep -c '^FAIL')))
[ "$code" = 404 ] && ok "unknown API path is 404" || bad "unknown API path: $code"
# Doctor from the web stores nothing: it checked the config's interface (s0, above),
# and the stored settings are still what client add stored.
"$PINETBOOT" settings show > "$W/settings.after" 2>&1
diff "$W/settings.before" "$W/settings.after" > /dev/null && ! grep -qw s0 "$W/settings.after" \
    && ok "settings unchanged by the web doctor" || bad "settings changed: $(diff "$W/settings.before" "$W/settings.after")"

# --- the page, in Chromium
rm -rf "$OUT"; mkdir -p "$OUT"
# How the page's test boots the Pi 4 again once it is enrolled (the probe runs in the
# client namespace; its log names every file it fetched).
python3 - "$W/expect.json" "$CLI" "$PINETBOOT" "$PI4" <<'P'
import json, sys
p, cli, pinetboot, pi4 = sys.argv[1:]
e = json.load(open(p))
e["boot"] = ["ip", "netns", "exec", cli, "timeout", "60", pinetboot, "probe", "--interface", "c0",
             "--model", "pi4", "--serial", pi4, "--mac", "dc:a6:32:20:0a:04", "--dhcp-timeout", "20"]
json.dump(e, open(p, "w"))
P
PINET_URL=$API PINET_OUT=$OUT PINET_EXPECT=$(cat "$W/expect.json") \
    timeout 120 node "$WEB/dashboard.spec.mjs" > "$W/spec.log" 2>&1
rc=$?
cat "$W/spec.log"
FAILS=$((FAILS + $(grep -c '^FAIL' "$W/spec.log")))
[ $rc = 0 ] && ok "browser spec exit 0" || bad "browser spec exit $rc"
for v in clients images doctor; do
    [ -s "$OUT/dashboard-$v.png" ] && ok "screenshot $OUT/dashboard-$v.png" || bad "no screenshot of the $v view"
done
kill -TERM "$SERVE_PID"; wait "$SERVE_PID" && ok "serve exits 0" || bad "serve exit"
finish web_dashboard
