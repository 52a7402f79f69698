#!/usr/bin/env bash
# RFC 7440 windows across a veth pair, the path of a container or VM host: pinetboot
# sends each window as one UDP GSO message, the skb crosses into the client's
# namespace unsegmented and the receiving kernel cuts it into datagrams. atftp
# (windowsize 16) and four bench clients must get every byte, with no block sent
# again, and the server must report GSO groups (so the grouped path really ran).
# Twice: the server's sockets on epoll, then on io_uring (`--io`).
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/dhcp_lab.sh"
PINETBOOT=${PINETBOOT:?}
LOAD=${BUILD_DIR:?}/bench/tftp_load
command -v atftp >/dev/null || { echo "FAIL atftp not installed"; exit 1; }
[ -x "$LOAD" ] || { echo "FAIL $LOAD missing (bench build)"; exit 1; }
lab_up twin
mkdir -p "$W/root" "$W/got"
head -c 3000000 /dev/urandom > "$W/root/kernel8.img"
head -c $((1468 * 16 * 40)) /dev/urandom > "$W/root/exact.bin"  # whole windows, empty last block
chmod -R a+rX "$W"
for IO in $(tftp_io_modes); do
    WANT=$IO; [ "$IO" = uring ] && WANT=io_uring
    lab_bg "$SRV" "$W/tftp.log" "$PINETBOOT" tftp --root "$W/root" --listen "$SRV_IP:69" --io "$IO"
    TFTP_PID=$LAST_PID
    wait_for "$W/tftp.log" "listening on" 10 || { bad "tftp start: $(tail -3 "$W/tftp.log")"; finish tftp_windows_veth; }
    grep -q "tftp: sockets on $WANT" "$W/tftp.log" && ok "[$WANT] sockets on $WANT" || bad "not on $WANT: $(head -2 "$W/tftp.log")"
    rm -rf "$W/got"; mkdir -p "$W/got"

    for f in kernel8.img exact.bin; do
        (cd "$W/got" && ip netns exec "$CLI" timeout 60 atftp --option "windowsize 16" --option "blksize 1468" \
            -g -r "$f" -l "$f" "$SRV_IP" >"$W/atftp-$f.out" 2>&1)
        cmp -s "$W/root/$f" "$W/got/$f" && ok "[$WANT] atftp windowsize 16 over veth: $f identical" \
            || bad "[$WANT] atftp $f differs or missing: $(tail -2 "$W/atftp-$f.out")"
    done
    out=$(ip netns exec "$CLI" timeout 60 "$LOAD" --server "$SRV_IP:69" --file kernel8.img --clients 4 \
        --blksize 1468 --windowsize 16 --verify "$W/root/kernel8.img" --deadline-s 30 2>&1)
    grep <<<"$out" -q "ok=4 failed=0" && ok "[$WANT] 4 windowed clients, every byte compared: $(echo "$out" | head -1)" \
        || bad "[$WANT] bench clients: $out"
    lab_kill "$TFTP_PID"
    summary=$(grep -oE "[0-9]+ packets out \([0-9]+ in GSO groups\), [0-9]+ retransmitted" "$W/tftp.log")
    echo "    server: $summary"
    gso=$(sed -n 's/.*(\([0-9]*\) in GSO groups).*/\1/p' <<<"$summary")
    rtx=$(sed -n 's/.*), \([0-9]*\) retransmitted.*/\1/p' <<<"$summary")
    [ "${gso:-0}" -gt 10000 ] && ok "[$WANT] windows left as GSO groups ($gso datagrams)" || bad "[$WANT] GSO groups: '${gso:-none}'"
    [ "${rtx:-1}" = 0 ] && ok "[$WANT] no block was sent again" || bad "[$WANT] retransmitted: ${rtx:-?}"
done
finish tftp_windows_veth
