#!/usr/bin/env bash
# probe against a server we did not write: dnsmasq with pxe-service=0,"Raspberry Pi Boot",
# a DHCP range and a TFTP root. Checks that:
#  - a Pi 4 board boots (serial prefix directory), with blksize 1468;
#  - a Pi 5 board with no serial directory falls back to the TFTP root and boots;
#  - a CM4 whose files are missing gets the verdict "start4.elf not found under <serial>/ nor /";
#  - without pxe-service the verdict is "no PXE offer: option 43 missing".
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/dhcp_lab.sh"
. "$HERE/lib/boot_tree.sh"
PINETBOOT=${PINETBOOT:?}
lab_up pdnsm
mkdir -p "$W/tftp"
make_boot_tree "$W/tftp" 1234abcd pi4
# Pi 5 files at the root (no serial directory).
make_boot_tree "$W" rootfiles pi5
cp -r "$W/rootfiles/." "$W/tftp/"
chmod -R a+rX "$W"

start_dnsmasq() {  # $1 = log tag, $2 = extra config line
    cat > "$W/dnsmasq.$1.conf" <<EOC
port=0
interface=s0
bind-interfaces
dhcp-range=$NET.100,$NET.200,255.255.255.0,1h
no-ping
dhcp-leasefile=$W/dnsmasq.$1.leases
log-dhcp
enable-tftp
tftp-root=$W/tftp
log-facility=$W/dnsmasq.$1.log
$2
EOC
    lab_bg "$SRV" "$W/dnsmasq.$1.out" dnsmasq --conf-file="$W/dnsmasq.$1.conf" --keep-in-foreground --pid-file=
    DNSMASQ_PID=$LAST_PID
    wait_for "$W/dnsmasq.$1.log" "TFTP root" 10 || { bad "dnsmasq start: $(cat "$W/dnsmasq.$1.out")"; finish probe_dnsmasq; }
}

start_dnsmasq pxe 'pxe-service=0,"Raspberry Pi Boot"'
out=$(ip netns exec "$CLI" timeout 120 "$PINETBOOT" probe --interface c0 --model pi4 --serial 1234abcd --dhcp-timeout 15 2>&1)
rc=$?
echo "$out" | sed 's/^/    /'
if [ $rc = 0 ] && grep <<<"$out" -q "^verdict: boots" && grep <<<"$out" -q "kernel kernel8.img"; then
    ok "pi4 boots from dnsmasq"
else
    bad "pi4 against dnsmasq (rc $rc)"
fi
grep <<<"$out" -q "TFTP get 1234abcd/start4.elf: complete 2300000 bytes, blksize 1468" \
    && ok "start4.elf fetched under the serial prefix with blksize 1468" || bad "start4.elf transfer line missing"
grep <<<"$out" -q "DHCP OFFER from $SRV_IP yiaddr $NET\.[0-9]* .*PXE menu matches" \
    && ok "dnsmasq offer carried the PXE menu" || bad "no matching PXE offer line"
grep -q "Early terminate" "$W/dnsmasq.pxe.log" && ok "dnsmasq saw the probe-and-abort (Early terminate)" \
    || bad "dnsmasq log has no 'Early terminate'"

out=$(ip netns exec "$CLI" timeout 120 "$PINETBOOT" probe --interface c0 --model pi5 --serial 5555aaaa --dhcp-timeout 15 2>&1)
rc=$?
echo "$out" | sed 's/^/    /'
if [ $rc = 0 ] && grep <<<"$out" -q "prefix '5555aaaa/' not usable" && grep <<<"$out" -q "kernel kernel_2712.img"; then
    ok "pi5 without serial directory falls back to the root and boots"
else
    bad "pi5 fallback (rc $rc)"
fi

out=$(ip netns exec "$CLI" timeout 120 "$PINETBOOT" probe --interface c0 --model cm4 --serial 0badf00d --dhcp-timeout 15 2>&1)
rc=$?
grep <<<"$out" -q "^verdict: does not boot: start4.elf not found under 0badf00d/ nor /" && [ $rc = 1 ] \
    && ok "missing files: $(echo "$out" | grep '^verdict')" || bad "missing-file verdict (rc $rc): $(echo "$out" | tail -2)"
lab_kill "$DNSMASQ_PID"

start_dnsmasq nopxe ''
out=$(ip netns exec "$CLI" timeout 60 "$PINETBOOT" probe --interface c0 --model pi4 --serial 1234abcd --dhcp-timeout 6 2>&1)
rc=$?
grep <<<"$out" -q "^verdict: does not boot: no PXE offer: option 43 missing in the offer from $SRV_IP" && [ $rc = 1 ] \
    && ok "plain DHCP: $(echo "$out" | grep '^verdict')" || bad "no-PXE verdict (rc $rc): $(echo "$out" | tail -3)"
lab_kill "$DNSMASQ_PID"
finish probe_dnsmasq
