#!/usr/bin/env bash
# A real PXE client: QEMU (TCG) with the iPXE NIC ROM boots against `pinetboot serve
# --dhcp full --pxe-bootfile boot.ipxe` in a private namespace pair (recipe of testlab
# qemu-ipxe.sh with SERVER=external, in namespaces of its own): iPXE gets its lease from
# pinetboot, loads the script over pinetboot's TFTP and fetches a second file with it.
# A second dnsmasq sends only IPv6 router adverts on the client side so that iPXE does not
# wait ~13 s for IPv6 autoconfiguration (testlab README §10); it is test network, not server.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/dhcp_lab.sh"
PINETBOOT=${PINETBOOT:?}
command -v qemu-system-x86_64 >/dev/null || { echo "FAIL: qemu-system-x86 not installed"; exit 1; }
[ -c /dev/net/tun ] || { echo "FAIL: /dev/net/tun missing"; exit 1; }
lab_up qipxe
lab_qemu_tap

mkdir -p "$W/tftp"
cat > "$W/tftp/boot.ipxe" <<'S'
#!ipxe
echo PNB: iPXE script loaded over TFTP from ${next-server} as ${ip}
imgfetch tftp://${next-server}/small.bin && echo PNB-TFTP-OK || echo PNB-TFTP-FAIL
S
head -c 65536 /dev/urandom > "$W/tftp/small.bin"
chmod -R a+rX "$W"

lab_bg "$SRV" "$W/serve.log" "$PINETBOOT" serve --interface s0 --root "$W/tftp" --dhcp full \
    --range "$NET.100,$NET.120" --lease-db "$W/leases.sqlite" --pxe-bootfile boot.ipxe
SERVE_PID=$LAST_PID
wait_for "$W/serve.log" "serve: ready" 10 || { bad "serve start: $(tail -3 "$W/serve.log")"; finish dhcp_qemu_ipxe; }

ip -n "$CLI" -6 addr add fd77::2/64 dev br0 nodad
lab_bg "$CLI" "$W/ra.log" dnsmasq --keep-in-foreground --port=0 --interface=br0 --bind-interfaces \
    --enable-ra --dhcp-range=fd77::,ra-only --ra-param=br0,10,0 --pid-file= --log-facility=/dev/null

# TCG, not KVM even when /dev/kvm exists: on nested hosts (a PVM guest here) KVM
# starts and then dies in iPXE's ROM; TCG boots iPXE in about 6 s everywhere.
ACCEL=tcg
t0=$(date +%s)
lab_bg "$CLI" "$W/qemu.out" qemu-system-x86_64 -machine pc,accel=$ACCEL -m 96 -nographic \
    -monitor none -no-reboot -serial "file:$W/serial.log" \
    -netdev tap,id=n0,ifname=tap0,script=no,downscript=no \
    -device virtio-net-pci,netdev=n0,mac=52:54:00:77:00:10 -boot n
QPID=$LAST_PID
result=timeout
for _ in $(seq 1 120); do
    grep -q "PNB-TFTP-OK" "$W/serial.log" 2>/dev/null && { result=ok; break; }
    grep -q "PNB-TFTP-FAIL" "$W/serial.log" 2>/dev/null && { result=tftpfail; break; }
    kill -0 "$QPID" 2>/dev/null || { result=qemu-died; break; }
    sleep 1
done
dt=$(( $(date +%s) - t0 ))
lab_kill "$QPID"
tr -d '\r' < "$W/serial.log" | sed 's/\x1b\[[0-9;]*[a-zA-Z]//g' | grep -E "^(iPXE|net0|Next server|Filename|tftp:|boot.ipxe|PNB)" | sed 's/^/    /'
[ "$result" = ok ] && ok "iPXE booted the script and fetched small.bin in ${dt}s" || bad "iPXE: $result after ${dt}s"
grep <<<"$(tr -d '\r' < "$W/serial.log")" -qE "net0: $NET\.(1[01][0-9]|120)/255.255.255.0" \
    && ok "iPXE lease from pinetboot's pool" || bad "iPXE address not from the pool"
grep <<<"$(tr -d '\r' < "$W/serial.log")" -q "PNB: iPXE script loaded over TFTP from $SRV_IP" \
    && ok "next-server = pinetboot" || bad "next-server line missing"
lab_kill "$SERVE_PID"
grep -qE "tftp_transfers_ok [2-9]" "$W/serve.log" && ok "pinetboot served $(grep tftp_transfers_ok "$W/serve.log")" \
    || bad "TFTP transfers: $(grep tftp_ "$W/serve.log" | tr '\n' ' ')"
grep -qE "dhcp_sent_ACK [1-9]" "$W/serve.log" && ok "DHCP ACK sent by pinetboot" || bad "no ACK counted"
finish dhcp_qemu_ipxe
