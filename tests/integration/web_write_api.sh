#!/usr/bin/env bash
# web_write_api.sh - the web API's writes and its authentication against a real
# `serve` on loopback (issue #16), checked with curl and the CLI:
#  - the page runs its write side (headless Chromium: the sign-in form);
#  - serve makes <state>/api-token (0600) at its first start; `token show` prints it;
#  - a write without a credential is 401, a wrong bearer token 401;
#  - POST /api/v1/clients (bearer) enrols a board exactly as `client add` does
#    (client show --json and the boot tree compared with a CLI-enrolled twin);
#  - the browser's sign-in: HttpOnly + SameSite=Strict cookie; a cookie write
#    without its CSRF token is 403, with it PATCH changes name and notes;
#  - bad inputs (bad serial, unknown image, duplicate MAC, unknown field, a body
#    over 16 KiB) are 4xx with their code and leave the registry as it was;
#  - reset returns the private root to the image; DELETE wants ?root=delete|keep
#    for a private root, then removes the client like `client remove`;
#  - API and CLI changes reach /api/v1/events (SSE) as "client" events;
#  - DELETE /api/v1/images/NAME is refused while a client uses the image (as
#    `image remove`), removes an unused one;
#  - `token rotate` takes effect in the running serve (old token 401);
#  - sign-in attempts are rate limited (429 + Retry-After);
#  - serve refuses a non-loopback dashboard without TLS (before binding anything),
#    and serves HTTPS with a certificate made here (curl --cacert).
# Everything listens on 127.0.0.1 only.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
PINETBOOT=${PINETBOOT:?}
W=$(mktemp -d /tmp/pnb-web-write.XXXXXX)
SERVE_PID=""
cleanup() {
    [ -n "$SERVE_PID" ] && kill "$SERVE_PID" 2>/dev/null && wait "$SERVE_PID" 2>/dev/null
    [ -n "${SSE_PID:-}" ] && kill "$SSE_PID" 2>/dev/null
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

bash "$HERE/lib/make_pi_image.sh" "$W/pi.img" "$W" mbr 2>/dev/null
"$PINETBOOT" image import "$W/pi.img" --name os >/dev/null || { bad "image import"; exit 1; }
"$PINETBOOT" image import "$W/pi.img" --name spare >/dev/null 2>&1 || bad "image import spare"
mkdir -p "$S/tftp"
write_config() {  # write_config EXTRA-HTTP-LINES
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
$1
[nfs]
server = "127.0.0.1"
backend = "none"
C
}
start_serve() {  # start_serve LOG
    "$PINETBOOT" serve --config "$W/pinetboot.toml" > "$1" 2>&1 &
    SERVE_PID=$!
    for _ in $(seq 1 100); do
        grep -q "serve: ready" "$1" && return 0
        kill -0 "$SERVE_PID" 2>/dev/null || break
        sleep 0.1
    done
    bad "serve did not start: $(tail -3 "$1")"; return 1
}
stop_serve() { kill "$SERVE_PID" 2>/dev/null; wait "$SERVE_PID" 2>/dev/null; SERVE_PID=""; }
# http METHOD PATH [curl args...] -> "STATUS BODY" in $W/body, status echoed
http() {
    local m=$1 p=$2; shift 2
    curl -s -o "$W/body" -w '%{http_code}' -X "$m" "$@" "$API$p"
}
codeof() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["error"]["code"])' "$W/body" 2>/dev/null; }
registry() { "$PINETBOOT" client list --json; }
show() { "$PINETBOOT" client show "$1" --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(" ".join(str(d[k]) for k in sys.argv[1:]))' "${@:2}"; }

write_config ""
[ -e "$S/api-token" ] && bad "token exists before serve" || true
start_serve "$W/serve.log" || exit 1
expect_eq "serve made the token file mode 0600" "$(stat -c %a "$S/api-token")" 600
TOKEN=$("$PINETBOOT" token show --state-dir "$S")
expect_eq "token show prints 64 hex characters" "$(grep -cE '^[0-9a-f]{64}$' <<<"$TOKEN")" 1
grep -q "$TOKEN" "$W/serve.log" && bad "the token is in serve's log" || ok "the token is not logged"
AUTH=(-H "Authorization: Bearer $TOKEN")

# Live events: one stream for the whole test.
curl -sN "$API/api/v1/events" > "$W/events" 2>/dev/null & SSE_PID=$!
sleep 0.3

# ---- the page: its write side (dashboard-admin.js) runs and shows the sign-in form
UD=$(mktemp -d "$W/chrome.XXXX")
timeout 90 chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-dev-shm-usage --user-data-dir="$UD" --dump-dom "$API/" > "$W/dom.html" 2> "$W/chrome.log"
grep -q 'id="sign-in"' "$W/dom.html" && grep -q 'id="token" type="password"' "$W/dom.html" \
    && ok "page: the sign-in form is there" || bad "page: no sign-in form ($(wc -c < "$W/dom.html") bytes)"
grep -q 'id="admin"' "$W/dom.html" && grep -q 'pinetboot token show' "$W/dom.html" \
    && ok "page: the Manage section asks to sign in" || bad "page: no Manage section"

# ---- reads are open on loopback; writes are not
expect_eq "GET /api/v1/clients without a token on loopback" "$(http GET /api/v1/clients)" 200
before=$(registry)
ENROL='{"serial":"9ffefdef","mac":"dc:a6:32:01:36:c2","name":"rack1-07","image":"os","root_mode":"copy","address":"127.0.0.9","notes":"row 1"}'
expect_eq "enrol without a credential: 401" "$(http POST /api/v1/clients -d "$ENROL")" 401
expect_eq "its code" "$(codeof)" unauthenticated
expect_eq "enrol with a wrong bearer token: 401" "$(http POST /api/v1/clients -H "Authorization: Bearer $(printf '0%.0s' $(seq 64))" -d "$ENROL")" 401
expect_eq "registry unchanged by refused writes" "$(registry)" "$before"

# ---- enrol through the API == client add through the CLI
expect_eq "enrol with the bearer token: 201" "$(http POST /api/v1/clients "${AUTH[@]}" -d "$ENROL")" 201
expect_eq "the reply names the client" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["client"]["state"])' "$W/body")" enrolled
"$PINETBOOT" client add --serial 1ffefdef --mac dc:a6:32:01:36:c3 --name rack1-08 --image os --root copy \
    --address 127.0.0.9 --notes "row 1" --config "$W/pinetboot.toml" >/dev/null 2>&1 || bad "CLI twin add"
F="model image root_mode address notes state root_export"
expect_eq "API enrol = CLI add (registry fields)" "$(show 9ffefdef $F | sed 's/9ffefdef/S/g')" "$(show 1ffefdef $F | sed 's/1ffefdef/S/g')"
expect_eq "API enrol stored name and MAC" "$(show 9ffefdef name mac)" "rack1-07 dc:a6:32:01:36:c2"
expect_eq "API enrol = CLI add (cmdline.txt)" "$(sed 's/9ffefdef/S/g' "$S/tftp/9ffefdef/cmdline.txt")" "$(sed 's/1ffefdef/S/g' "$S/tftp/1ffefdef/cmdline.txt")"
expect_eq "API enrol wrote the private root's hostname" "$(cat "$S/roots/9ffefdef/etc/hostname")" rack1-07
expect_eq "API enrol made the MAC link" "$(readlink "$S/tftp/dc-a6-32-01-36-c2")" 9ffefdef
sleep 0.5
grep '"change":"enrolled"' "$W/events" | grep '"by":"api"' | grep -q '"serial":"9ffefdef"' && ok "SSE: the API enrol is a client event" || bad "SSE: no enrol event: $(tail -c 300 "$W/events")"
grep -q '"registry":true' "$W/events" && ok "SSE: the registry change reached the dashboards" || bad "SSE: no registry event"

# ---- bad inputs: 4xx, a code, the registry as it was
before=$(registry)
check_refused() {  # check_refused NAME WANT-STATUS WANT-CODE METHOD PATH BODY
    local st; st=$(http "$4" "$5" "${AUTH[@]}" -d "$6")
    expect_eq "$1: status" "$st" "$2"
    expect_eq "$1: code" "$(codeof)" "$3"
}
check_refused "bad serial" 400 invalid_serial POST /api/v1/clients '{"serial":"xyz","image":"os","address":"127.0.0.9"}'
check_refused "unknown image" 400 unknown_image POST /api/v1/clients '{"serial":"33333333","image":"nope","address":"127.0.0.9"}'
check_refused "duplicate MAC" 409 duplicate_mac POST /api/v1/clients '{"serial":"44444444","mac":"DC:A6:32:01:36:C2","image":"os","address":"127.0.0.9"}'
check_refused "enrolled twice" 409 client_exists POST /api/v1/clients "$ENROL"
check_refused "unknown field" 400 invalid_request POST /api/v1/clients '{"serial":"55555555","imgae":"os"}'
check_refused "not JSON" 400 invalid_json POST /api/v1/clients 'serial=1'
python3 -c 'import json; print(json.dumps({"notes": "x"*20000}))' > "$W/big.json"
expect_eq "body over 16 KiB: 413" "$(http PATCH /api/v1/clients/9ffefdef "${AUTH[@]}" --data-binary @"$W/big.json")" 413
expect_eq "its code" "$(codeof)" body_too_large
check_refused "PATCH unknown image" 400 unknown_image PATCH /api/v1/clients/9ffefdef '{"image":"nope"}'
check_refused "PATCH bad name" 400 invalid_request PATCH /api/v1/clients/9ffefdef '{"name":"no spaces allowed"}'
check_refused "PATCH image of a private root without reset_root" 409 private_root PATCH /api/v1/clients/9ffefdef '{"root_mode":"shared"}'
check_refused "PATCH of no client" 404 no_such_client PATCH /api/v1/clients/abcdef12 '{"name":"x"}'
expect_eq "registry unchanged by every refusal" "$(registry)" "$before"
expect_eq "DELETE of a private root without ?root=: 409" "$(http DELETE /api/v1/clients/9ffefdef "${AUTH[@]}")" 409
expect_eq "its code" "$(codeof)" private_root
expect_eq "registry unchanged by the refused DELETE" "$(registry)" "$before"

# ---- the browser: sign in, cookie + CSRF
st=$(curl -s -c "$W/jar" -D "$W/hdr" -o "$W/body" -w '%{http_code}' -X POST "$API/api/v1/session" -d "{\"token\":\"$TOKEN\"}")
expect_eq "sign-in: 200" "$st" 200
grep -i '^set-cookie: pinetboot_session=' "$W/hdr" | grep -q 'HttpOnly' && grep -i '^set-cookie:' "$W/hdr" | grep -q 'SameSite=Strict' \
    && ok "session cookie is HttpOnly and SameSite=Strict" || bad "cookie: $(grep -i set-cookie "$W/hdr")"
CSRF=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["csrf"])' "$W/body")
expect_eq "cookie write without the CSRF token: 403" "$(http PATCH /api/v1/clients/9ffefdef -b "$W/jar" -d '{"name":"rack1-09"}')" 403
expect_eq "its code" "$(codeof)" csrf_token_missing
expect_eq "cookie write with a forged CSRF token: 403" "$(http PATCH /api/v1/clients/9ffefdef -b "$W/jar" -H "X-CSRF-Token: $TOKEN" -d '{"name":"rack1-09"}')" 403
expect_eq "registry unchanged by forged writes" "$(registry)" "$before"
expect_eq "cookie write with the CSRF token: 200" "$(http PATCH /api/v1/clients/9ffefdef -b "$W/jar" -H "X-CSRF-Token: $CSRF" -d '{"name":"rack1-09","notes":"moved"}')" 200
expect_eq "PATCH changed name and notes (client show)" "$(show 9ffefdef name notes)" "rack1-09 moved"
expect_eq "PATCH wrote the new name into the root" "$(cat "$S/roots/9ffefdef/etc/hostname")" rack1-09
"$PINETBOOT" client set 1ffefdef --name rack1-10 --notes moved --config "$W/pinetboot.toml" >/dev/null 2>&1
expect_eq "PATCH = client set (registry fields)" "$(show 9ffefdef $F | sed 's/9ffefdef/S/g')" "$(show 1ffefdef $F | sed 's/1ffefdef/S/g')"

# ---- reset and remove
echo junk > "$S/roots/9ffefdef/root/junk"
expect_eq "reset: 200" "$(http POST /api/v1/clients/9ffefdef/reset -b "$W/jar" -H "X-CSRF-Token: $CSRF" -d '{}')" 200
[ ! -e "$S/roots/9ffefdef/root/junk" ] && [ "$(cat "$S/roots/9ffefdef/etc/hostname")" = rack1-09 ] \
    && ok "reset: the private root is the image's again, with its edits" || bad "reset left the root as it was"
check_refused "reset of no client" 404 no_such_client POST /api/v1/clients/abcdef12/reset ''
expect_eq "DELETE ?root=delete: 200" "$(http DELETE '/api/v1/clients/9ffefdef?root=delete' "${AUTH[@]}")" 200
"$PINETBOOT" client show 9ffefdef >/dev/null 2>&1 && bad "removed client still listed" || ok "DELETE removed the client (client show)"
[ ! -e "$S/roots/9ffefdef" ] && [ ! -e "$S/tftp/9ffefdef" ] && [ ! -L "$S/tftp/dc-a6-32-01-36-c2" ] \
    && ok "DELETE removed root, boot tree and MAC link" || bad "DELETE left files"
expect_eq "DELETE ?root=keep: 200" "$(http DELETE '/api/v1/clients/1ffefdef?root=keep' "${AUTH[@]}")" 200
ls -d "$S"/roots/1ffefdef.kept-* >/dev/null 2>&1 && ok "root=keep moved the root aside" || bad "root=keep: $(ls "$S/roots")"
# A CLI change reaches the dashboards too.
n=$(grep -c '"registry":true' "$W/events")
"$PINETBOOT" client add --serial 66666666 --image os --root shared --address 127.0.0.9 --config "$W/pinetboot.toml" >/dev/null 2>&1 || bad "CLI add"
for _ in $(seq 1 30); do [ "$(grep -c '"registry":true' "$W/events")" -gt "$n" ] && break; sleep 0.1; done
[ "$(grep -c '"registry":true' "$W/events")" -gt "$n" ] && ok "SSE: a CLI change reaches the stream" || bad "SSE: no event for the CLI add"
expect_eq "the API lists the CLI's client" "$(http GET /api/v1/clients/66666666)" 200

# ---- rotation
NEW=$("$PINETBOOT" token rotate --state-dir "$S" 2>/dev/null)
[ "$NEW" != "$TOKEN" ] && [ "$(stat -c %a "$S/api-token")" = 600 ] && ok "token rotate: a new token, mode 0600" || bad "rotate"
sleep 1.5
expect_eq "the old token is refused after rotate" "$(http POST /api/v1/clients/66666666/reset "${AUTH[@]}")" 401
expect_eq "the old session is gone after rotate" "$(http PATCH /api/v1/clients/66666666 -b "$W/jar" -H "X-CSRF-Token: $CSRF" -d '{"notes":"x"}')" 401
expect_eq "the new token works" "$(http PATCH /api/v1/clients/66666666 -H "Authorization: Bearer $NEW" -d '{"notes":"via new token"}')" 200

# ---- images: DELETE refused while a client uses it
NEWAUTH=(-H "Authorization: Bearer $NEW")
expect_eq "DELETE an image in use: 409" "$(http DELETE /api/v1/images/os "${NEWAUTH[@]}")" 409
expect_eq "its code" "$(codeof)" image_in_use
[ -d "$S/images/os" ] && ok "the image in use is still there" || bad "image in use removed"
expect_eq "DELETE an unknown image: 404" "$(http DELETE /api/v1/images/nope "${NEWAUTH[@]}")" 404
expect_eq "its code" "$(codeof)" unknown_image
expect_eq "DELETE an unused image: 200" "$(http DELETE /api/v1/images/spare "${NEWAUTH[@]}")" 200
[ ! -e "$S/images/spare" ] && ! "$PINETBOOT" image list 2>/dev/null | grep -qw spare && ok "the unused image is gone (image list)" || bad "spare still there"
out=$("$PINETBOOT" image remove os 2>&1) && bad "CLI removed an image in use" || { grep -q "used by client(s) 66666666" <<<"$out" && ok "CLI image remove refuses the same way: $out" || bad "CLI image remove: $out"; }

# ---- sign-in rate limit (last: it locks 127.0.0.1 out for a while)
st=401; n=0
while [ "$st" = 401 ] && [ $n -lt 10 ]; do
    st=$(curl -s -D "$W/hdr" -o "$W/body" -w '%{http_code}' -X POST "$API/api/v1/session" -d '{"token":"wrong"}'); n=$((n+1))
done
# Two wrong tokens came earlier (a bearer, the old one after rotate): five in all, then
# 429; one more try comes back every 12 s, so a slow run may get one or two more.
[ "$st" = 429 ] && [ $n -ge 4 ] && [ $n -le 6 ] && ok "sign-in: 429 after five wrong tokens ($n here)" || bad "rate limit: status $st after $n"
grep -qi '^retry-after: [0-9]' "$W/hdr" && ok "429 says Retry-After ($(grep -i retry-after "$W/hdr" | tr -d '\r'))" || bad "no Retry-After"
expect_eq "the right token is refused too while limited" "$(http POST /api/v1/session -d "{\"token\":\"$NEW\"}")" 429
stop_serve

# ---- beyond loopback: no plain HTTP unless told so
out=$("$PINETBOOT" serve --config "$W/pinetboot.toml" --http "0.0.0.0:$PORT" 2>&1); rc=$?
[ $rc != 0 ] && grep -q "without TLS" <<<"$out" && grep -q "tls_cert" <<<"$out" && grep -q "allow_plaintext_remote" <<<"$out" \
    && ok "serve refuses 0.0.0.0 without TLS, saying how to fix it" || bad "serve on 0.0.0.0: rc $rc: $out"

# ---- HTTPS with a certificate made here
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$W/key.pem" -out "$W/cert.pem" -days 2 \
    -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" >/dev/null 2>&1 || bad "openssl req"
write_config "tls_cert = \"$W/cert.pem\"
tls_key = \"$W/key.pem\""
start_serve "$W/serve-tls.log" || exit 1
grep -q "dashboard https://127.0.0.1:$PORT/" "$W/serve-tls.log" && ok "serve says https" || bad "ready line: $(grep ready "$W/serve-tls.log")"
st=$(curl -s -o "$W/body" -w '%{http_code}' --cacert "$W/cert.pem" -H "Authorization: Bearer $NEW" "https://127.0.0.1:$PORT/api/v1/clients")
expect_eq "HTTPS with curl --cacert: 200" "$st" 200
grep -q 66666666 "$W/body" && ok "HTTPS serves the API" || bad "HTTPS body: $(head -c 200 "$W/body")"
curl -s --max-time 3 -o /dev/null "http://127.0.0.1:$PORT/api/v1/clients" && bad "plain HTTP answered on the TLS port" || ok "no plain HTTP on the TLS port"
curl -s -D "$W/hdr" -o /dev/null --cacert "$W/cert.pem" -X POST "https://127.0.0.1:$PORT/api/v1/session" -d "{\"token\":\"$NEW\"}"
grep -i '^set-cookie:' "$W/hdr" | grep -q '; Secure' && ok "over HTTPS the cookie is Secure" || bad "cookie over https: $(grep -i set-cookie "$W/hdr")"
stop_serve

[ $fails = 0 ] && { echo "PASS web_write_api"; exit 0; }
echo "FAIL web_write_api ($fails)"; exit 1
