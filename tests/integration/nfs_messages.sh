#!/usr/bin/env bash
# Messages a person can act on (issue #15), through the real binary:
#  - nfs status when an HTTP server (a python3 one that answers 400, in a private namespace) holds port
#    2049 names what answered instead of "not a reply to our call (xid 2f312e31, ...)";
#  - nfs status is a check: its settings flags are not stored;
#  - nfs apply with the kernel backend and no exportfs names the Debian package.
set -uo pipefail
: "${PINETBOOT:?}"
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root for a network namespace"; exit 77; }
FAILS=0
ok()  { echo "PASS $*"; }
bad() { echo "FAIL $*"; FAILS=$((FAILS+1)); }
NS="pnb-forgive-nfsmsg-$$"
W=$(mktemp -d /tmp/pnb-nfsmsg-XXXXXX)
HTTP_PID=""
cleanup() {
    [ -n "$HTTP_PID" ] && kill "$HTTP_PID" 2>/dev/null && wait "$HTTP_PID" 2>/dev/null
    ip netns del "$NS" 2>/dev/null
    rm -rf "$W"
}
trap cleanup EXIT
ip netns add "$NS" || { echo "FAIL ip netns add"; exit 1; }
ip -n "$NS" link set lo up

# An HTTP server that rejects what is not HTTP at once (as the one of the report did: its
# "HTTP/1.1 400" was read as xid 2f312e31 "/1.1", type 540291120 " 400").
cat > "$W/http400.py" <<'EOP'
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 2049)); s.listen(8)
for _ in range(20):
    c, _a = s.accept()
    c.settimeout(2)
    try:
        c.recv(4096)
        c.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    except OSError:
        pass
    c.close()
EOP
ip netns exec "$NS" python3 "$W/http400.py" > "$W/http.log" 2>&1 &
HTTP_PID=$!
for _ in $(seq 1 50); do
    ip netns exec "$NS" bash -c 'exec 3<>/dev/tcp/127.0.0.1/2049' 2>/dev/null && break
    sleep 0.1
done

S="$W/state"
out=$(ip netns exec "$NS" "$PINETBOOT" nfs status --state-dir "$S" --server-ip 127.0.0.1 --nfs-backend none 2>&1)
echo "$out" | sed 's/^/    /'
grep -qF "something that is not an NFS/RPC server answered (it looks like HTTP: \"HTTP/1.1 400 Bad Request" <<<"$out" \
    && grep -qF "on port 2049" <<<"$out" && ok "HTTP on 2049 is named" || bad "nfs status message"
! grep -q "not a reply to our call" <<<"$out" && ok "no RPC jargon" || bad "old message"

settings=$("$PINETBOOT" settings show --state-dir "$S" 2>&1)
! grep -q "127.0.0.1" <<<"$settings" && ok "nfs status stored no settings" || bad "nfs status stored: $settings"

out=$("$PINETBOOT" nfs apply --state-dir "$S" --server-ip 10.0.0.1 --nfs-backend kernel \
        --exports-file "$W/x.exports" --exportfs-command "$W/no-such-exportfs" 2>&1); rc=$?
echo "$out" | sed 's/^/    /'
[ $rc != 0 ] && grep -qF "nfs-kernel-server" <<<"$out" && ok "missing exportfs names nfs-kernel-server" \
    || bad "exportfs message (rc $rc)"
[ "$FAILS" = 0 ] && { echo "PASS nfs_messages"; exit 0; }
echo "FAIL nfs_messages ($FAILS failed)"; exit 1
