#!/usr/bin/env bash
# A small boot storm: `probe --count 25` (distinct serials and MACs, one process) against
# `pinetboot serve --dhcp full`. Every board must get its own lease and its kernel, fetched
# from its own address; the lease database then holds 25 distinct addresses with the
# boards' serials. Twice: the TFTP sockets on epoll, then on io_uring ([tftp] io).
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/dhcp_lab.sh"
. "$HERE/lib/boot_tree.sh"
PINETBOOT=${PINETBOOT:?}
N=25
lab_up pstorm
# Serials 1234ab00..1234ab18 all share one tree at the root (prefix fallback), plus one
# board with its own directory.
make_boot_tree "$W" rootfiles pi4
mkdir -p "$W/root"; cp -r "$W/rootfiles/." "$W/root/"; make_boot_tree "$W/root" 1234ab00 pi4
for IO in $(tftp_io_modes); do
    WANT=$IO; [ "$IO" = uring ] && WANT=io_uring
    printf '[tftp]\nio = "%s"\n' "$IO" > "$W/io-$IO.toml"
    rm -f "$W/leases.sqlite"*
    lab_bg "$SRV" "$W/serve.log" "$PINETBOOT" serve --config "$W/io-$IO.toml" --interface s0 --root "$W/root" \
        --dhcp full --range "$NET.10,$NET.250" --lease-db "$W/leases.sqlite"
    SERVE_PID=$LAST_PID
    wait_for "$W/serve.log" "serve: ready" 10 || { bad "[$WANT] serve start: $(tail -3 "$W/serve.log")"; finish probe_storm; }
    grep -q "tftp: sockets on $WANT" "$W/serve.log" && ok "[$WANT] TFTP sockets on $WANT" || bad "TFTP not on $WANT"
    out=$(ip netns exec "$CLI" timeout 300 "$PINETBOOT" probe --interface c0 --model pi4 --serial 1234ab00 \
            --mac dc:a6:32:00:10:00 --count $N --dhcp-timeout 30 2>&1)
    rc=$?
    echo "$out" | tail -5 | sed 's/^/    /'
    [ $rc = 0 ] && echo "$out" | grep -q "^storm: $N/$N boards booted" && ok "[$WANT] $N/$N boards booted" || bad "[$WANT] storm (rc $rc)"
    lab_kill "$SERVE_PID"
    leases=$(python3 - "$W/leases.sqlite" <<'P'
import sqlite3, sys
rows = sqlite3.connect(sys.argv[1]).execute("SELECT ip, serial FROM leases").fetchall()
print(len({r[0] for r in rows}), len({r[1] for r in rows if r[1]}))
P
    )
    [ "$leases" = "$N $N" ] && ok "[$WANT] $N distinct leases with $N distinct serials in the database" || bad "[$WANT] leases/serials: $leases"
    # Every board is a host of its own on the wire: its kernel came from its own leased
    # address (ARP answered by the probe), not from the probe namespace's one address.
    srcs=$(grep -E "TFTP_DONE tftp ok ([0-9a-f]+/)?kernel8.img " "$W/serve.log" | grep -o 'client=[0-9.]*' | sort -u | wc -l)
    [ "$srcs" = "$N" ] && ok "[$WANT] kernels went to $N distinct board addresses" || bad "[$WANT] distinct TFTP client addresses: $srcs"
    grep -q "client=$NET.2:" "$W/serve.log" && bad "[$WANT] a transfer came from the namespace's own address $NET.2" \
        || ok "[$WANT] no transfer from the probe namespace's own address"
    grep -qE "dhcp_sent_ACK $N$" "$W/serve.log" && ok "[$WANT] $N ACKs" || bad "[$WANT] ACKs: $(grep dhcp_sent_ACK "$W/serve.log")"
done
finish probe_storm
