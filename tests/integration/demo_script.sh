#!/usr/bin/env bash
# demo_script.sh - scripts/demo.sh runs for 20 s (its own namespaces, its own
# scratch folder, a free dashboard port) and its API shows what the demo is
# for (issue #15): the four known boards under the names `client add` gave
# them, next to the unknown board the server has never met (no name).
# The demo used to register its boards with a `client add` that failed with
# its errors thrown away, so every board showed up nameless.
set -euo pipefail
PINETBOOT=${PINETBOOT:?}
SOURCE_DIR=${SOURCE_DIR:?}
[ "$(id -u)" = 0 ] || { echo "FAIL demo_script: needs root (the demo makes network namespaces)"; exit 1; }
W=$(mktemp -d /tmp/pnb-demo-test.XXXXXX)
DEMO_PID=""
cleanup() {
    # The demo removes its namespaces itself on TERM (its trap); by its PID only.
    if [ -n "$DEMO_PID" ] && kill -0 "$DEMO_PID" 2>/dev/null; then
        kill -TERM "$DEMO_PID"; wait "$DEMO_PID" || true  # its exit status no longer matters
    fi
    rm -rf "$W"
}
trap cleanup EXIT
fails=0
ok()  { echo "PASS $*"; }
bad() { echo "FAIL $*"; fails=$((fails+1)); }

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
DEMO_SECONDS=20 DEMO_SKIP_SETUP=1 DEMO_PORT=$PORT PINETBOOT=$PINETBOOT \
    "$SOURCE_DIR/scripts/demo.sh" > "$W/demo.out" 2>&1 &
DEMO_PID=$!

# Poll the API until every board has booted once (or 40 s: make_pi_image and
# the import come first).
want="10000004=demo-pi4 10000005=demo-pi5 10000bad=demo-broken 10000c04=demo-cm4 1abcdef0="
got=""
for _ in $(seq 1 80); do
    kill -0 "$DEMO_PID" 2>/dev/null || break
    if json=$(curl -sf "http://127.0.0.1:$PORT/api/v1/clients" 2>/dev/null); then  # not up yet: expected
        got=$(echo "$json" | python3 -c '
import json, sys
d = json.load(sys.stdin)
items = d if isinstance(d, list) else d.get("clients", [])
print(" ".join(sorted(c["serial"] + "=" + (c.get("name") or "") for c in items)))')
        [ "$got" = "$want" ] && break
    fi
    sleep 0.5
done
[ "$got" = "$want" ] && ok "the API shows the named known boards and the unknown one: $got" \
    || bad "API clients: got '$got' want '$want'"

set +e; wait "$DEMO_PID"; rc=$?; set -e
DEMO_PID=""
cat "$W/demo.out"
[ "$rc" = 0 ] && ok "demo.sh ran its 20 s and exited 0" || bad "demo.sh exit $rc"
grep -q "enrolled demo-cm4, demo-pi4, demo-pi5 and demo-broken (4 clients)" "$W/demo.out" \
    && ok "demo enrolled its four boards" || bad "demo enrolment"
grep -q "board 10000bad: does not boot: start4.elf not found" "$W/demo.out" \
    && ok "the broken board fails with its reason" || bad "broken board"
grep -q "cleaned up" "$W/demo.out" && ok "demo cleaned up" || bad "no cleanup line"

[ $fails = 0 ] && { echo "PASS demo_script"; exit 0; }
echo "FAIL demo_script ($fails)"; exit 1
