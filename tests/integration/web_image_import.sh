#!/usr/bin/env bash
# web_image_import.sh - POST /api/v1/images (issue #16): a signed-in admin imports an
# image file that is already on the server, by path, against a real `serve` on loopback:
#  - without a credential 401; a relative path, a missing file, a directory, a
#    character device (/dev/null), a bad name and an existing name are refused with
#    their codes, at once, and import nothing;
#  - a good import answers 202 with the job at once, and runs in the background: its
#    progress reaches /api/v1/events as "image" events {"name","phase","done","total"}
#    ending in phase "done"; a second import while it runs is 409 import_running;
#  - the image is then what `pinetboot image import` of the same file makes (image
#    list --json compared, and the boot trees byte for byte);
#  - a regular file that is no image is accepted, then fails in the background with
#    the reason in its last event, leaves no image, and the next import runs.
# Everything listens on 127.0.0.1 only.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
PINETBOOT=${PINETBOOT:?}
W=$(mktemp -d /tmp/pnb-web-import.XXXXXX)
SERVE_PID=""
SSE_PID=""
cleanup() {
    [ -n "$SERVE_PID" ] && kill "$SERVE_PID" 2>/dev/null && wait "$SERVE_PID" 2>/dev/null
    [ -n "$SSE_PID" ] && kill "$SSE_PID" 2>/dev/null
    rm -rf "$W"
}
trap cleanup EXIT
S=$W/state
export PINETBOOT_STATE_DIR=$S
fails=0
ok()  { echo "PASS $*"; }
bad() { echo "FAIL $*"; fails=$((fails+1)); }
expect_eq() { [ "$2" = "$3" ] && ok "$1" || bad "$1: got '$2' want '$3'"; }
PORT=$(( 20000 + ($$ % 20000) ))
TPORT=$(( PORT + 1 ))
API="http://127.0.0.1:$PORT"

bash "$HERE/lib/make_pi_image.sh" "$W/pi.img" "$W" mbr 2>/dev/null || { bad "make_pi_image"; exit 1; }
"$PINETBOOT" image import "$W/pi.img" --name cli-twin >/dev/null 2>&1 || { bad "CLI image import"; exit 1; }
mkdir -p "$S/tftp"
cat > "$W/pinetboot.toml" <<C
[server]
state_dir = "$S"
[[interface]]
name = "lo"
dhcp = "off"
[tftp]
root = "$S/tftp"
listen = "127.0.0.1:$TPORT"
[http]
listen = "127.0.0.1:$PORT"
[nfs]
server = "127.0.0.1"
backend = "none"
C
"$PINETBOOT" serve --config "$W/pinetboot.toml" > "$W/serve.log" 2>&1 &
SERVE_PID=$!
for _ in $(seq 1 100); do
    grep -q "serve: ready" "$W/serve.log" && break
    kill -0 "$SERVE_PID" 2>/dev/null || break
    sleep 0.1
done
grep -q "serve: ready" "$W/serve.log" || { bad "serve did not start: $(tail -3 "$W/serve.log")"; exit 1; }
TOKEN=$("$PINETBOOT" token show --state-dir "$S")
AUTH=(-H "Authorization: Bearer $TOKEN")
http() {  # http METHOD PATH [curl args...]: status echoed, body in $W/body
    local m=$1 p=$2; shift 2
    curl -s -o "$W/body" -w '%{http_code}' -X "$m" "$@" "$API$p"
}
codeof() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["error"]["code"])' "$W/body" 2>/dev/null; }
images() { "$PINETBOOT" image list --json | python3 -c 'import json,sys; print(" ".join(sorted(i["name"] for i in json.load(sys.stdin))))' 2>/dev/null; }
curl -sN "$API/api/v1/events" > "$W/events" 2>/dev/null & SSE_PID=$!
sleep 0.3

# ---- refusals: each at once, each importing nothing
before=$(images)
expect_eq "without a credential: 401" "$(http POST /api/v1/images -d "{\"path\":\"$W/pi.img\",\"name\":\"web\"}")" 401
refuse() {  # refuse WHAT BODY STATUS CODE
    local st; st=$(http POST /api/v1/images "${AUTH[@]}" -d "$2")
    [ "$st" = "$3" ] && [ "$(codeof)" = "$4" ] && ok "$1: $st $4" || bad "$1: $st $(head -c 300 "$W/body")"
}
mkdir -p "$W/adir"
refuse "a relative path" '{"path":"pi.img","name":"web"}' 400 invalid_request
refuse "a missing file" "{\"path\":\"$W/nothing.img\",\"name\":\"web\"}" 400 invalid_request
refuse "a directory" "{\"path\":\"$W/adir\",\"name\":\"web\"}" 400 invalid_request
refuse "a character device" '{"path":"/dev/null","name":"web"}' 400 invalid_request
refuse "a bad name" "{\"path\":\"$W/pi.img\",\"name\":\"../x\"}" 400 invalid_request
refuse "no name" "{\"path\":\"$W/pi.img\"}" 400 invalid_request
refuse "an unknown field" "{\"path\":\"$W/pi.img\",\"name\":\"web\",\"force\":\"yes\"}" 400 invalid_request
refuse "an existing name" "{\"path\":\"$W/pi.img\",\"name\":\"cli-twin\"}" 409 image_exists
http POST /api/v1/images "${AUTH[@]}" -d '{"path":"rel","name":"../x"}' >/dev/null
grep -q 'must be absolute' "$W/body" && grep -q 'must be 1-64' "$W/body" && ok "both problems named at once" || bad "one problem only: $(cat "$W/body")"
expect_eq "the refusals imported nothing" "$(images)" "$before"

# ---- the import: 202 at once, then in the background
t0=$(date +%s%N)
st=$(http POST /api/v1/images "${AUTH[@]}" -d "{\"path\":\"$W/pi.img\",\"name\":\"web\"}")
t1=$(date +%s%N)
cp "$W/body" "$W/job.json"
st2=$(http POST /api/v1/images "${AUTH[@]}" -d "{\"path\":\"$W/pi.img\",\"name\":\"web2\"}")
expect_eq "POST /api/v1/images: 202" "$st" 202
python3 - "$W/job.json" "$W/pi.img" <<'P' && ok "the reply is the running job" || bad "job: $(cat "$W/job.json")"
import json, sys
j = json.load(open(sys.argv[1]))["job"]
assert j["name"] == "web" and j["path"] == sys.argv[2] and j["running"] is True and j["id"] >= 1, j
P
echo "answered in $(( (t1 - t0) / 1000000 )) ms"
[ "$st2" = 409 ] && [ "$(codeof)" = import_running ] && ok "a second import while one runs: 409 import_running" \
    || bad "second import: $st2 $(cat "$W/body")"
for _ in $(seq 1 150); do
    grep -q '"change":"import' "$W/events" && break
    sleep 0.1
done
python3 - "$W/events" > "$W/ev-check" <<'P'
import json, sys
ev = []
lines = open(sys.argv[1]).read().split("\n")
for i, l in enumerate(lines):
    if l == "event: image" and i + 1 < len(lines) and lines[i + 1].startswith("data: "):
        d = json.loads(lines[i + 1][6:])
        if d.get("name") == "web":
            ev.append(d)
def check(c, m):
    print(("PASS " if c else "FAIL ") + m)
phases = [e["phase"] for e in ev]
check(len(ev) >= 3, f"{len(ev)} image events for the import: {phases}")
check(all(set(e) >= {"name", "phase", "done", "total"} for e in ev), "every event has name, phase, done, total")
check(bool(ev) and ev[-1]["phase"] == "done" and ev[-1].get("change") == "imported", f"the last event says done: {ev[-1] if ev else None}")
check(any(e["phase"] in ("boot", "root") and e["total"] > 0 for e in ev), "progress of the boot/root stages with a total")
check(all(e["done"] <= e["total"] for e in ev if e["total"]), "done never passes total")
P
cat "$W/ev-check"
fails=$((fails + $(grep -c '^FAIL' "$W/ev-check")))
grep -q "API_IMAGE_IMPORT name=web result=done" "$W/serve.log" && ok "serve logged the import" || bad "log: $(grep API_IMAGE "$W/serve.log")"

# ---- the same image as the CLI's import of the same file
expect_eq "image list has it" "$(images)" "cli-twin web"
"$PINETBOOT" image list --json > "$W/list.json"
python3 - "$W/list.json" <<'P' && ok "web = cli-twin (image list --json, all but name and time)" || bad "differ: $(cat "$W/list.json")"
import json, sys
im = {i["name"]: i for i in json.load(open(sys.argv[1]))}
a, b = dict(im["web"]), dict(im["cli-twin"])
for d in (a, b):
    for k in ("name", "imported_at", "path"):
        d.pop(k, None)
assert a == b, (a, b)
P
diff -r "$S/images/web/boot" "$S/images/cli-twin/boot" >/dev/null && ok "boot trees are byte for byte the same" || bad "boot trees differ"
st=$(http GET /api/v1/images)
grep -q '"name":"web"' "$W/body" && ok "GET /api/v1/images lists it" || bad "GET images: $st"
refuse "importing the name again" "{\"path\":\"$W/pi.img\",\"name\":\"web\"}" 409 image_exists

# ---- a file that is no disk image: accepted (it is a regular file), then fails in the
# background with the reader's reason, and leaves no image behind
head -c 1048576 /dev/zero > "$W/zeros.img"
st=$(http POST /api/v1/images "${AUTH[@]}" -d "{\"path\":\"$W/zeros.img\",\"name\":\"junk\"}")
expect_eq "a non-image file: 202 (checked by the reader)" "$st" 202
for _ in $(seq 1 100); do
    grep -q '"change":"import_failed"' "$W/events" && break
    sleep 0.1
done
ev=$(grep '"change":"import_failed"' "$W/events" | grep '"name":"junk"' | tail -1)
[ -n "$ev" ] && grep -q '"phase":"failed"' <<<"$ev" && grep -q '"error":"..' <<<"$ev" \
    && ok "its last event says failed, with the reason: ${ev:0:200}" || bad "no failed event: $(tail -c 400 "$W/events")"
expect_eq "the failed import left no image" "$(images)" "cli-twin web"
st=$(http POST /api/v1/images "${AUTH[@]}" -d "{\"path\":\"$W/pi.img\",\"name\":\"after\"}")
expect_eq "after a failed import the next one starts: 202" "$st" 202
for _ in $(seq 1 150); do grep '"name":"after"' "$W/events" | grep -q '"change":"imported"' && break; sleep 0.1; done
grep '"name":"after"' "$W/events" | grep -q '"change":"imported"' && ok "and finishes" || bad "the import after a failure did not finish"

kill "$SERVE_PID"; wait "$SERVE_PID"; rc=$?; SERVE_PID=""
expect_eq "serve exits 0" "$rc" 0
[ $fails = 0 ] && { echo "PASS web_image_import"; exit 0; }
echo "FAIL web_image_import ($fails)"; exit 1
