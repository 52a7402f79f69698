#!/usr/bin/env bash
# A TFTP server one router hop away, as in a site where each rack's DHCP points the
# boards at a central boot server: the probe board must ARP for its gateway, not for
# the server, send its RRQs through it from its own leased address, and boot.
#
#   $CLI  c0 (probe boards)  <->  s0 $SRV (10.77.N.1: dnsmasq DHCP with the PXE menu,
#                                   option 3 = itself, option 66 = the TFTP server;
#                                   forwards between its two links)
#                                  r0 (10.79.N.1)  <->  t0 $SITE (10.79.N.2: pinetboot tftp)
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/dhcp_lab.sh"
. "$HERE/lib/boot_tree.sh"
PINETBOOT=${PINETBOOT:?}
lab_up proute
SITE="pnb-proute-$$-site"   # removed by lab_cleanup with the other two
FAR="10.79.$NETN"
TFTP_IP="$FAR.2"
ip netns add "$SITE" || { bad "ip netns add"; finish probe_routed; }
ip -n "$SITE" link set lo up
ip link add r0 netns "$SRV" type veth peer name t0 netns "$SITE" || { bad "veth"; finish probe_routed; }
ip -n "$SRV" addr add "$FAR.1/24" dev r0
ip -n "$SITE" addr add "$TFTP_IP/24" dev t0
ip -n "$SRV" link set r0 up
ip -n "$SITE" link set t0 up
ip -n "$SITE" route add default via "$FAR.1"
ip netns exec "$SRV" sysctl -qw net.ipv4.ip_forward=1

mkdir -p "$W/tftp"
make_boot_tree "$W/tftp" 2468ace0 pi4
lab_bg "$SITE" "$W/tftp.log" "$PINETBOOT" tftp --root "$W/tftp" --listen "$TFTP_IP:69"
TFTP_PID=$LAST_PID
wait_for "$W/tftp.log" "listening on" 10 || { bad "pinetboot tftp start: $(tail -3 "$W/tftp.log")"; finish probe_routed; }

cat > "$W/dnsmasq.conf" <<EOC
port=0
interface=s0
bind-interfaces
dhcp-range=$NET.100,$NET.200,255.255.255.0,1h
no-ping
dhcp-leasefile=$W/dnsmasq.leases
log-dhcp
pxe-service=0,"Raspberry Pi Boot"
dhcp-option=3,$SRV_IP
dhcp-option-force=66,$TFTP_IP
log-facility=$W/dnsmasq.log
EOC
lab_bg "$SRV" "$W/dnsmasq.out" dnsmasq --conf-file="$W/dnsmasq.conf" --keep-in-foreground --pid-file=
DNSMASQ_PID=$LAST_PID
wait_for "$W/dnsmasq.log" "DHCP, IP range" 10 || { bad "dnsmasq start: $(cat "$W/dnsmasq.out")"; finish probe_routed; }

out=$(ip netns exec "$CLI" timeout 120 "$PINETBOOT" probe --interface c0 --model pi4 --serial 2468ace0 --dhcp-timeout 15 2>&1)
rc=$?
echo "$out" | sed 's/^/    /'
[ $rc = 0 ] && grep <<<"$out" -q "^verdict: boots" && grep <<<"$out" -q "kernel kernel8.img" \
    && ok "pi4 boots from a TFTP server behind a router" || bad "routed boot (rc $rc)"
grep <<<"$out" -qE "DHCP ACK: NET $NET\.[0-9]+ .* gw $SRV_IP tftp $TFTP_IP" \
    && ok "lease names the router and the far TFTP server" || bad "ACK line without gw $SRV_IP / tftp $TFTP_IP"
# Everything the board fetched crossed the router: r0 received the files (start4.elf
# 2.3 MB + kernel8.img 1.5 MB + the rest) from the server side.
rx=$(ip -n "$SRV" -s -j link show r0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["stats64"]["rx"]["bytes"])')
[ "${rx:-0}" -gt 3800000 ] && ok "the router forwarded $rx bytes from the TFTP server" \
    || bad "router r0 received only ${rx:-?} bytes"
lab_kill "$TFTP_PID"
grep -qE "tftp: [0-9]+ transfers, [1-9][0-9]* ok" "$W/tftp.log" && ok "pinetboot tftp: $(grep -oE 'tftp: [0-9]+ transfers, [0-9]+ ok' "$W/tftp.log")" \
    || bad "tftp summary: $(tail -2 "$W/tftp.log")"
ip netns exec "$SITE" ip neigh show | grep -q "$NET\." && bad "the TFTP server saw a board on its own link" \
    || ok "every datagram reached the server through the router"
lab_kill "$DNSMASQ_PID"
finish probe_routed
