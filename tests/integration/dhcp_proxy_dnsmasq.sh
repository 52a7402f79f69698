#!/usr/bin/env bash
# pinetboot in proxy mode beside dnsmasq acting as the site's DHCP server (no PXE, no TFTP):
#  - `probe` boots: address from dnsmasq, PXE menu + TFTP (option 66) from pinetboot;
#  - pinetboot sent a proxy OFFER (yiaddr 0) and no ACK; the boot is followed from the
#    DISCOVER (serial from option 97) to the TFTP files in pinetboot's events;
#  - a non-Pi PXE client and a plain client are ignored (only dnsmasq answers them);
#  - the kernel's own DHCP (Pi MAC, no PXE options) is left to dnsmasq but still reported
#    with the board's serial.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/dhcp_lab.sh"
. "$HERE/lib/boot_tree.sh"
PINETBOOT=${PINETBOOT:?}
SEND="/usr/bin/python3 $HERE/lib/dhcp_send.py"
lab_up_bridge dproxy
make_boot_tree "$W/root" 1234abcd pi4

cat > "$W/site.conf" <<EOC
port=0
interface=r0
bind-interfaces
dhcp-range=$NET.100,$NET.200,255.255.255.0,1h
no-ping
dhcp-leasefile=$W/site.leases
log-dhcp
log-facility=$W/site.log
EOC
lab_bg "$SITE" "$W/site.out" dnsmasq --conf-file="$W/site.conf" --keep-in-foreground --pid-file=
SITE_PID=$LAST_PID
lab_bg "$SRV" "$W/serve.log" "$PINETBOOT" serve --interface s0 --root "$W/root"
SERVE_PID=$LAST_PID
wait_for "$W/serve.log" "serve: ready" 10 || { bad "serve start: $(tail -3 "$W/serve.log")"; finish dhcp_proxy_dnsmasq; }
wait_for "$W/site.log" "DHCP, IP range" 10 || { bad "dnsmasq start: $(cat "$W/site.out")"; finish dhcp_proxy_dnsmasq; }

out=$(ip netns exec "$CLI" timeout 120 "$PINETBOOT" probe --interface br0 --model cm4 --serial 1234abcd \
        --mac dc:a6:32:aa:bb:01 --dhcp-timeout 20 2>&1)
rc=$?
echo "$out" | sed 's/^/    /'
[ $rc = 0 ] && grep <<<"$out" -q "^verdict: boots" && ok "probe boots through the proxy" || bad "probe (rc $rc)"
grep <<<"$out" -qE "DHCP ACK: NET $NET\.(1[0-9][0-9]|200) .* tftp $SRV_IP \(option 66 of the PXE offer\)" \
    && ok "address from dnsmasq, TFTP server from pinetboot's option 66" || bad "ACK/TFTP line"
grep <<<"$out" -qE "DHCP OFFER from $SRV_IP yiaddr 0.0.0.0 siaddr $SRV_IP \[PXE menu matches\] \(proxy" \
    && ok "pinetboot's offer is a proxy offer (yiaddr 0, siaddr = TFTP)" || bad "no proxy offer line"
grep <<<"$out" -qE "DHCP OFFER from $SITE_IP yiaddr $NET\.[0-9]+ .*\[no PXE menu\]" \
    && ok "dnsmasq's address offer merged" || bad "no address offer from dnsmasq"
grep -q "DHCPACK(r0) $NET.* dc:a6:32:aa:bb:01" "$W/site.log" && ok "dnsmasq ACKed the board" || bad "dnsmasq did not ACK"

# Events in pinetboot's log: the same serial from DISCOVER to the kernel.
grep -q "dhcp discover mac=dc:a6:32:aa:bb:01 serial=1234abcd model=RPi4" "$W/serve.log" \
    && ok "DISCOVER event with serial and model" || bad "no DISCOVER event"
grep -q "dhcp offer mac=dc:a6:32:aa:bb:01 serial=1234abcd .* proxy" "$W/serve.log" \
    && ok "proxy OFFER event" || bad "no proxy OFFER event"
grep -q "dhcp request mac=dc:a6:32:aa:bb:01 serial=1234abcd" "$W/serve.log" \
    && ok "the board's REQUEST to dnsmasq is reported" || bad "no REQUEST event"
grep -qE "tftp ok 1234abcd/kernel8.img .* serial=1234abcd" "$W/serve.log" \
    && ok "TFTP kernel8.img event with the same serial" || bad "no kernel TFTP event: $(grep 'tftp ' "$W/serve.log" | tail -2)"

# A non-Pi PXE client (x86 MAC, PXEClient vendor class) and a plain client: only dnsmasq answers.
out=$(ip netns exec "$CLI" timeout 20 busybox udhcpc -i br0 -f -q -n -t 3 -T 1 -s /bin/true \
        -V "PXEClient:Arch:00000:UNDI:002001" 2>&1)
grep <<<"$out" -q "obtained from $SITE_IP" && ok "x86 PXE client leased by dnsmasq" || bad "udhcpc: $out"
# /metrics (the dashboard listens on 127.0.0.1:8080 inside the server's namespace): the PC's
# DISCOVER is counted as a drop with its reason, and the Pi's unanswered REQUEST is not "ok".
metrics=$(ip netns exec "$SRV" curl -sf http://127.0.0.1:8080/metrics)
grep <<<"$metrics" -qE '^pinetboot_dhcp_dropped_total\{interface="s0",reason="ignored_client"\} [1-9]' \
    && ok "/metrics: the non-Pi PXE DISCOVER is a drop with reason ignored_client" \
    || bad "/metrics dhcp drops: $(echo "$metrics" | grep pinetboot_dhcp_ | tr '\n' ' ')"
grep <<<"$metrics" -qE '^pinetboot_dhcp_packets_total\{type="request",result="proxy_no_ack"\} [1-9]' \
    && ! grep <<<"$metrics" -q 'type="request",result="ok"' \
    && ok "/metrics: the Pi's REQUEST counted as proxy_no_ack, not ok" \
    || bad "/metrics Pi packets: $(echo "$metrics" | grep pinetboot_dhcp_packets | tr '\n' ' ')"
out=$(ip netns exec "$CLI" timeout 20 busybox udhcpc -i br0 -f -q -n -t 3 -T 1 -s /bin/true 2>&1)
grep <<<"$out" -q "obtained from $SITE_IP" && ok "plain client leased by dnsmasq" || bad "udhcpc: $out"
# The kernel's ip=dhcp: the Pi's MAC, no PXE options.
out=$(ip netns exec "$CLI" $SEND br0 discover --mac dc:a6:32:aa:bb:01)
grep <<<"$out" -q "^REPLY offer yiaddr=$NET" && ok "kernel-style DISCOVER answered (by dnsmasq): $out" || bad "kernel DISCOVER: $out"
sleep 0.3
lab_kill "$SERVE_PID"
grep -q "dhcp discover mac=dc:a6:32:aa:bb:01 serial=1234abcd model=- .*no reply: ignored_client" "$W/serve.log" \
    && ok "kernel DISCOVER reported with the remembered serial, not answered" || bad "kernel DISCOVER event: $(grep 'dhcp discover' "$W/serve.log" | tail -1)"
grep -qE "dhcp_sent_OFFER 1$" "$W/serve.log" && ok "exactly one OFFER sent (the Pi's)" || bad "offers: $(grep dhcp_sent "$W/serve.log")"
grep -q "dhcp_sent_ACK" "$W/serve.log" && bad "proxy sent an ACK" || ok "proxy sent no ACK"
grep -qE "dhcp_dropped_ignored_client [3-9]" "$W/serve.log" && ok "non-Pi clients ignored and counted ($(grep dhcp_dropped_ignored_client "$W/serve.log"))" \
    || bad "ignored count: $(grep dhcp_dropped "$W/serve.log" | tr '\n' ' ')"
grep -qE "dhcp_dropped_proxy_no_ack [1-9]" "$W/serve.log" && ok "the Pi's REQUEST was left to dnsmasq" || bad "no proxy_no_ack"
lab_kill "$SITE_PID"
finish dhcp_proxy_dnsmasq
