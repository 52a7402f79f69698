#!/usr/bin/env bash
# HTTP boot (BOOT_ORDER mode 7, spec netboot-protocol.md 5) end to end:
#  - `pinetboot image bootimg` builds boot.img (fsck.fat -n accepts it; mtools
#    reads every file back byte-identical) and a boot.sig signed with an RSA-2048 key;
#  - `pinetboot serve --http-boot` in a namespace serves <path>/boot.sig and
#    <path>/boot.img with Content-Length, no chunking, no redirect;
#  - a client in the other namespace downloads both (as the bootloader does: sig
#    first), and the signature verifies (openssl and `pinetboot eeprom verify`);
#  - the downloads are in the boot record (protocol http) and in /metrics;
#  - `pinetboot probe --mode http` (a virtual board with BOOT_ORDER 7 and the public
#    key) gets its address from serve's DHCP, downloads boot.sig then boot.img, and the
#    signature verifies; a tampered boot.img and an unsigned boot.sig are rejected;
#  - 12 such boards at once, each from its own lease (--http-from-lease), all boot.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/dhcp_lab.sh"
. "$HERE/lib/boot_tree.sh"
PINETBOOT=${PINETBOOT:?}
lab_up shttp
SERIAL=40000005
mkdir -p "$W/tftp" "$W/http/$SERIAL" "$W/state"
make_boot_tree "$W/src" "$SERIAL" pi5
openssl genrsa -out "$W/key.pem" 2048 2>/dev/null && openssl rsa -in "$W/key.pem" -pubout -out "$W/pub.pem" 2>/dev/null \
    || bad "openssl genrsa"

"$PINETBOOT" image bootimg "$W/src/$SERIAL" -o "$W/http/$SERIAL/boot.img" --key "$W/key.pem" > "$W/bootimg.out" 2>&1 \
    && ok "bootimg: $(head -1 "$W/bootimg.out")" || bad "bootimg: $(cat "$W/bootimg.out")"
fsck.fat -n "$W/http/$SERIAL/boot.img" > "$W/fsck.out" 2>&1 && ok "fsck.fat -n accepts boot.img" || bad "fsck.fat: $(cat "$W/fsck.out")"
mkdir -p "$W/back"
mcopy -i "$W/http/$SERIAL/boot.img" -s -n "::/*" "$W/back/" 2>/dev/null
diff -r "$W/src/$SERIAL" "$W/back" > "$W/diff.out" 2>&1 && ok "mtools reads back every file identically" || bad "read back differs: $(head -3 "$W/diff.out")"
grep -q '^rsa2048: [0-9a-f]\{512\}$' "$W/http/$SERIAL/boot.sig" && ok "boot.sig has an rsa2048 line" || bad "boot.sig: $(cat "$W/http/$SERIAL/boot.sig")"
# Bad input: a missing folder is one clear line and writes nothing.
out=$("$PINETBOOT" image bootimg "$W/nope" -o "$W/x.img" 2>&1); rc=$?
[ $rc != 0 ] && grep <<<"$out" -q "nope: not a directory" && [ ! -e "$W/x.img" ] && ok "bootimg refuses a missing folder" || bad "bootimg missing folder: rc $rc $out"

PORT=$(( 20000 + ($$ % 20000) ))
lab_bg "$SRV" "$W/serve.log" "$PINETBOOT" serve --interface s0 --root "$W/tftp" --state-dir "$W/state" \
    --http "127.0.0.1:$PORT" --http-boot "$SRV_IP:8080" --boot-root "$W/http" \
    --dhcp full --range "$NET.10,$NET.50" --lease-db "$W/leases.sqlite"
SERVE_PID=$LAST_PID
wait_for "$W/serve.log" "serve: ready" 10 || { bad "serve start: $(tail -3 "$W/serve.log")"; finish serve_http_boot; }

# As the bootloader: boot.sig, then boot.img, plain HTTP/1.1, no redirects followed.
ip netns exec "$CLI" curl -sS --max-time 30 -D "$W/sig.h" -o "$W/got.sig" "http://$SRV_IP:8080/$SERIAL/boot.sig" || bad "GET boot.sig"
ip netns exec "$CLI" curl -sS --max-time 60 -H 'Accept-Encoding: gzip' -D "$W/img.h" -o "$W/got.img" "http://$SRV_IP:8080/$SERIAL/boot.img" || bad "GET boot.img"
size=$(stat -c %s "$W/http/$SERIAL/boot.img")
grep -qi "^HTTP/1.1 200" "$W/img.h" && grep -qi "^Content-Length: $size" "$W/img.h" && ! grep -qi "^Transfer-Encoding" "$W/img.h" \
    && ! grep -qi "^Content-Encoding" "$W/img.h" && ! grep -qi "^Location" "$W/img.h" \
    && ok "boot.img: 200, Content-Length $size, not chunked, not compressed" || bad "boot.img headers: $(tr '\r\n' '  ' < "$W/img.h")"
grep -qi "^Content-Length: $(stat -c %s "$W/http/$SERIAL/boot.sig")" "$W/sig.h" && ok "boot.sig has Content-Length" || bad "boot.sig headers"
cmp -s "$W/got.img" "$W/http/$SERIAL/boot.img" && ok "boot.img downloaded intact" || bad "boot.img differs"
[ "$(head -1 "$W/got.sig")" = "$(sha256sum "$W/got.img" | cut -d' ' -f1)" ] && ok "boot.sig sha256 matches the download" || bad "sha256 line"
sed -n 's/^rsa2048: //p' "$W/got.sig" | xxd -r -p > "$W/sig.bin"
openssl dgst -sha256 -verify "$W/pub.pem" -signature "$W/sig.bin" "$W/got.img" > "$W/verify.out" 2>&1 \
    && ok "rsa2048 signature verifies (openssl)" || bad "openssl verify: $(cat "$W/verify.out")"
"$PINETBOOT" eeprom verify -k "$W/pub.pem" "$W/got.img" "$W/got.sig" > "$W/pv.out" 2>&1 \
    && ok "rsa2048 signature verifies (pinetboot eeprom verify)" || bad "eeprom verify: $(cat "$W/pv.out")"
code=$(ip netns exec "$CLI" curl -s -o /dev/null -w '%{http_code}' "http://$SRV_IP:8080/$SERIAL/kernel_2712.img")
[ "$code" = 403 ] && ok "other files are not served over HTTP boot (403)" || bad "kernel over http: $code"
code=$(ip netns exec "$CLI" curl -s -o /dev/null -w '%{http_code}' "http://$SRV_IP:8080/ffffffff/boot.img")
[ "$code" = 404 ] && ok "missing boot.img is 404" || bad "missing: $code"
# Corrupt one byte of a copy: the signature must no longer verify.
cp "$W/got.img" "$W/bad.img"; printf '\x00' | dd of="$W/bad.img" bs=1 seek=1000 conv=notrunc 2>/dev/null
printf '\xff' | dd of="$W/bad.img" bs=1 seek=1001 conv=notrunc 2>/dev/null
openssl dgst -sha256 -verify "$W/pub.pem" -signature "$W/sig.bin" "$W/bad.img" >/dev/null 2>&1 \
    && bad "a corrupted image verified" || ok "a corrupted image does not verify"

sleep 1.5
ip netns exec "$SRV" curl -sf "http://127.0.0.1:$PORT/api/v1/clients/$SERIAL" > "$W/client.json" || bad "API client $SERIAL"
/usr/bin/python3 - "$W/client.json" <<'P' && ok "boot record: boot.sig + boot.img over http, kernel loaded" || bad "boot record: $(head -c 400 "$W/client.json")"
import json, sys
d = json.load(open(sys.argv[1]))
files = [(f["protocol"], f["path"], f["result"]) for f in d["boots"][0]["files"]]
assert ("http", "40000005/boot.sig", "ok") in files and ("http", "40000005/boot.img", "ok") in files, files
assert d["boots"][0]["outcome"] == "kernel_loaded", d["boots"][0]["outcome"]
P
ip netns exec "$SRV" curl -sf "http://127.0.0.1:$PORT/metrics" > "$W/metrics.txt"
grep -q '^pinetboot_transfers_total{protocol="http",result="ok"} 2$' "$W/metrics.txt" && ok "metrics: 2 http transfers ok" \
    || bad "metrics: $(grep 'protocol="http"' "$W/metrics.txt" | tr '\n' ' ')"
# The guards of HTTP boot and the servers' last-resort counters are exported (zero here).
grep -q '^pinetboot_http_boot_refused_total{reason="per_address_cap"} 0$' "$W/metrics.txt" &&
    grep -q '^pinetboot_http_boot_refused_total{reason="header_timeout"} 0$' "$W/metrics.txt" &&
    grep -q '^pinetboot_internal_errors_total{server="tftp"} 0$' "$W/metrics.txt" &&
    grep -q '^pinetboot_tftp_unanswered_evicted_total 0$' "$W/metrics.txt" \
    && ok "metrics: HTTP boot refusals, internal errors and unanswered evictions exported" \
    || bad "metrics: $(grep -E 'http_boot_refused|internal_errors|unanswered' "$W/metrics.txt" | tr '\n' ' ')"

# A virtual board in HTTP mode (BOOT_ORDER 7) holding the public key.
probe_http() {  # path, extra args...
    local path=$1; shift
    ip netns exec "$CLI" timeout 120 "$PINETBOOT" probe --interface c0 --model pi5 --serial "$SERIAL" \
        --mode http --http-host "$SRV_IP:8080" --http-path "$path" --dhcp-timeout 20 "$@" 2>&1
}
out=$(probe_http "$SERIAL" --pubkey "$W/pub.pem"); rc=$?
echo "$out" | sed 's/^/    /'
[ $rc = 0 ] && grep <<<"$out" -q "^verdict: boots: .*boot.sig + boot.img ($size bytes) over HTTP from $SRV_IP, signature sha256 and rsa2048 verified" \
    && ok "probe --mode http: boot.sig then boot.img downloaded, rsa2048 verified" || bad "probe http (rc $rc)"
[ "$(echo "$out" | grep -o 'HTTP GET [^ ]*' | head -2 | sed 's|.*/||' | tr '\n' ' ')" = "boot.sig boot.img " ] \
    && ok "probe asked for boot.sig before boot.img" || bad "request order: $(echo "$out" | grep "HTTP GET")"
# Tampered image beside the original signature: the board refuses it.
mkdir -p "$W/http/tampered"; cp "$W/bad.img" "$W/http/tampered/boot.img"; cp "$W/http/$SERIAL/boot.sig" "$W/http/tampered/"
out=$(probe_http tampered --pubkey "$W/pub.pem"); rc=$?
[ $rc != 0 ] && grep <<<"$out" -q "^verdict: does not boot: boot.img rejected: .*sha256" \
    && ok "probe rejects a tampered boot.img: $(echo "$out" | grep '^verdict' | cut -c1-90)" || bad "tampered (rc $rc): $(echo "$out" | tail -2)"
# Hash-only boot.sig while the board holds a key: refused; without a key: accepted.
mkdir -p "$W/http/unsigned"; cp "$W/http/$SERIAL/boot.img" "$W/http/unsigned/"
"$PINETBOOT" eeprom digest "$W/http/unsigned/boot.img" -o "$W/http/unsigned/boot.sig" > /dev/null 2>&1 || bad "eeprom digest"
out=$(probe_http unsigned --pubkey "$W/pub.pem"); rc=$?
[ $rc != 0 ] && grep <<<"$out" -q "^verdict: does not boot: boot.img rejected: .*rsa2048" \
    && ok "probe with a key refuses an unsigned boot.sig" || bad "unsigned with key (rc $rc): $(echo "$out" | tail -2)"
out=$(probe_http unsigned); rc=$?
[ $rc = 0 ] && grep <<<"$out" -q "signature sha256 verified (unsigned)" \
    && ok "probe without a key accepts a hash-only boot.sig" || bad "unsigned without key (rc $rc): $(echo "$out" | tail -2)"
out=$(probe_http nowhere); rc=$?
[ $rc != 0 ] && grep <<<"$out" -q "^verdict: does not boot: HTTP GET .*/nowhere/boot.sig: HTTP 404" \
    && ok "missing boot.sig: HTTP 404 verdict" || bad "missing (rc $rc): $(echo "$out" | tail -2)"
# A storm of 12 boards, more than the 8 connections one address may hold: with
# --http-from-lease each board's GETs leave from its own lease (made local to the probe's
# namespace), so the server sees 12 boards, not one host, and every board boots first try.
for i in $(seq 10 50); do ip -n "$CLI" route add local "$NET.$i/32" dev c0; done
before=$(grep -c "HTTP_DONE http ok $SERIAL/boot.img" "$W/serve.log")
out=$(ip netns exec "$CLI" timeout 120 "$PINETBOOT" probe --interface c0 --model pi5 --serial 40000100 \
        --mode http --http-host "$SRV_IP:8080" --http-path "$SERIAL" --pubkey "$W/pub.pem" --dhcp-timeout 20 \
        --count 12 --http-from-lease 2>&1); rc=$?
echo "$out" | grep '^storm' | sed 's/^/    /'
[ $rc = 0 ] && grep <<<"$out" -q "^storm outcome: first try 12/12 " \
    && ok "12 HTTP boards from their own leases all boot first try" || bad "http storm (rc $rc): $(echo "$out" | tail -3)"
srcs=$(grep "HTTP_DONE http ok $SERIAL/boot.img" "$W/serve.log" | tail -n +$((before + 1)) | grep -o 'client=[0-9.]*' | sort -u)
[ "$(echo "$srcs" | wc -l)" = 12 ] && ! grep <<<"$srcs" -qx "client=$CLI_IP" \
    && ok "boot.img went to 12 distinct lease addresses" || bad "HTTP client addresses: $(echo $srcs)"
lab_kill "$SERVE_PID"
finish serve_http_boot
