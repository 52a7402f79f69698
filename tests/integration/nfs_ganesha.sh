#!/usr/bin/env bash
# nfs_ganesha.sh - client roots exported by a real NFS server: `pinetboot
# nfs apply` with the ganesha backend starts nfs-ganesha (with rpcbind, in a
# private /run mount namespace inside a server network namespace this test
# creates, as testlab/ganesha-libnfs.sh does), and libnfs tools read the
# roots back from a client namespace over NFSv3 and NFSv4. Checks: a copy
# root and an overlay root are readable by their client, an export limited
# to another address is refused, `nfs status` sees the server answer, and
# `doctor` passes (static address, no foreign DHCP server, exports, boot
# trees), then reports a foreign DHCP server (dnsmasq in the client
# namespace), a missing start4.elf and a stopped NFS server, each with a fix.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
PINETBOOT=${PINETBOOT:?}
for b in ganesha.nfsd rpcbind nfs-ls nfs-cat dnsmasq; do
    command -v $b >/dev/null || { echo "FAIL: $b missing (scripts/setup.sh installs it)"; exit 1; }
done
SRV=pnb-nfs-srv-$$; CLI=pnb-nfs-cli-$$
W=$(mktemp -d /tmp/pnb-nfs-ganesha.XXXXXX)
chmod 755 "$W"
export PINETBOOT_STATE_DIR=$W/state
S=$W/state
fails=0
ok()  { echo "PASS $*"; }
bad() { echo "FAIL $*"; fails=$((fails+1)); }

cleanup() {
    "$PINETBOOT" nfs stop >/dev/null 2>&1
    for f in "$W/rpcbind.pid" "$W/dnsmasq.pid"; do
        [ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null
    done
    for ns in "$SRV" "$CLI"; do
        for p in $(ip netns pids "$ns" 2>/dev/null); do kill "$p" 2>/dev/null; done
    done
    sleep 0.3
    for ns in "$SRV" "$CLI"; do
        for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
        ip netns del "$ns" 2>/dev/null
    done
    rm -rf "$W"
}
trap cleanup EXIT

ip netns add "$SRV" && ip netns add "$CLI" || { echo "FAIL: cannot create namespaces"; exit 1; }
ip -n "$SRV" link set lo up; ip -n "$CLI" link set lo up
ip link add nfs0 netns "$SRV" type veth peer name nfc0 netns "$CLI"
ip -n "$SRV" addr add 10.98.0.1/24 dev nfs0; ip -n "$CLI" addr add 10.98.0.2/24 dev nfc0
ip -n "$SRV" link set nfs0 up; ip -n "$CLI" link set nfc0 up
for _ in $(seq 1 30); do ip netns exec "$CLI" ping -c1 -W1 10.98.0.1 >/dev/null 2>&1 && break; sleep 0.2; done

bash "$HERE/lib/make_pi_image.sh" "$W/pi.img" "$W" mbr 2>/dev/null
"$PINETBOOT" image import "$W/pi.img" --name os >/dev/null || { echo "FAIL: import"; exit 1; }
"$PINETBOOT" client add --serial 9ffefdef --name nfs-pi --image os --root copy --model cm4 \
    --address 10.98.0.2 --server-ip 10.98.0.1 --nfs-version 3 --nfs-backend ganesha \
    --interface nfs0 --no-apply >/dev/null || bad "client add copy"
"$PINETBOOT" client add --serial 22222222 --name ov-pi --image os --root overlay --model pi4 \
    --address 10.98.0.2 --no-apply >/dev/null || bad "client add overlay"
"$PINETBOOT" client add --serial 33333333 --name other --image os --root copy \
    --address 10.98.0.77 --no-apply >/dev/null || bad "client add other"
R=$S/roots/9ffefdef; O=$S/roots/22222222/merged; X=$S/roots/33333333

# rpcbind + `pinetboot nfs apply` (which starts ganesha) in a private /run
ip netns exec "$SRV" unshare --mount --propagation private bash -c "
    mount -t tmpfs -o mode=755 pnb-run /run || exit 1
    mkdir -p /run/rpcbind && chown _rpc /run/rpcbind 2>/dev/null
    rpcbind -f -w & echo \$! > '$W/rpcbind.pid'
    for _ in \$(seq 1 50); do [ -S /run/rpcbind.sock ] && break; sleep 0.1; done
    exec '$PINETBOOT' nfs apply --mount-unit-dir '$W/units'
" > "$W/apply.out" 2>&1
rc=$?
cat "$W/apply.out"
if [ $rc = 0 ] && grep -q "ganesha: 3 export(s)" "$W/apply.out"; then ok "nfs apply started nfs-ganesha"
else bad "nfs apply (rc $rc): $(cat "$W/apply.out"; tail -5 "$S/nfs/ganesha.log" 2>/dev/null)"; fi
grep -q "Clients = 10.98.0.2;" "$S/nfs/ganesha.conf" && ok "ganesha.conf limits the export to the client" || bad "ganesha.conf"

# NFSv3 uses the real path, NFSv4 the pseudo path (= the real path here)
out=$(ip netns exec "$CLI" timeout 30 nfs-ls "nfs://10.98.0.1$R?version=3" 2>&1)
grep -q " usr" <<< "$out" && grep -q " etc" <<< "$out" && ok "nfs-ls v3 lists the copy root" || bad "nfs-ls v3: $out"
out=$(ip netns exec "$CLI" timeout 30 nfs-cat "nfs://10.98.0.1$R/etc/hostname?version=4" 2>&1)
[ "$out" = nfs-pi ] && ok "nfs-cat v4 reads the client's hostname" || bad "nfs-cat v4: $out"
out=$(ip netns exec "$CLI" timeout 30 nfs-cat "nfs://10.98.0.1$R/etc/fstab?version=3" 2>&1)
grep -q "^#pinetboot-sd# PARTUUID" <<< "$out" && ok "nfs-cat v3 reads the rewritten fstab" || bad "fstab over nfs: $out"
sum_local=$(sha256sum "$R/usr/bin/busybox" | cut -d' ' -f1)
ip netns exec "$CLI" timeout 30 nfs-cp "nfs://10.98.0.1$R/usr/bin/busybox?version=3" "$W/busybox.dl" >/dev/null 2>&1
[ "$(sha256sum "$W/busybox.dl" 2>/dev/null | cut -d' ' -f1)" = "$sum_local" ] && ok "nfs-cp of a hard-linked /usr file matches" || bad "nfs-cp busybox"
out=$(ip netns exec "$CLI" timeout 30 nfs-cat "nfs://10.98.0.1$O/etc/hostname?version=3" 2>&1)
[ "$out" = ov-pi ] && ok "overlay root exported: hostname from the upper layer" || bad "overlay over nfs: $out"
out=$(ip netns exec "$CLI" timeout 30 nfs-ls "nfs://10.98.0.1$O/usr/bin?version=3" 2>&1)
grep <<<"$out" -q busybox && ok "overlay root exported: /usr from the image" || bad "overlay usr: $out"
out=$(ip netns exec "$CLI" timeout 30 nfs-ls "nfs://10.98.0.1$X?version=3" 2>&1)
grep -q " usr" <<< "$out" && bad "export for 10.98.0.77 readable from 10.98.0.2" || ok "export limited to another address is refused: $(echo "$out" | head -1)"

# status and doctor from the server namespace
GPID=$(cat "$S/nfs/ganesha.pid" 2>/dev/null)
# in ganesha's own mount namespace, where the overlay is mounted
out=$(nsenter -t "$GPID" -m -n "$PINETBOOT" nfs status 2>&1); rc=$?
grep -q "answers: yes, NFS v3, v4 answer at 10.98.0.1:2049" <<< "$out" && [ $rc = 0 ] \
    && ok "nfs status: server answers" || bad "nfs status (rc $rc): $out"
out=$(nsenter -t "$GPID" -m -n "$PINETBOOT" doctor --dhcp-wait-ms 1500 2>&1); rc=$?
echo "$out"
[ $rc = 0 ] && ok "doctor passes on a complete setup" || bad "doctor rc $rc"
grep -q "nfs0 is up with static address 10.98.0.1/24" <<< "$out" && ok "doctor: static address" || bad "doctor interface"
grep -q "no other DHCP server answered" <<< "$out" && ok "doctor: no foreign DHCP server" || bad "doctor dhcp"
grep -q "all 3 export(s) present" <<< "$out" && ok "doctor: exports present" || bad "doctor exports"
grep -q "client 9ffefdef: boot tree complete for cm4" <<< "$out" && ok "doctor: boot tree complete" || bad "doctor boot"

# a foreign DHCP server, a missing firmware file, a stopped NFS server
ip netns exec "$CLI" dnsmasq --keep-in-foreground --port=0 --interface=nfc0 --bind-interfaces \
    --dhcp-range=10.98.0.50,10.98.0.60,1h --dhcp-leasefile="$W/leases" --pid-file="$W/dnsmasq.pid" \
    --conf-file=/dev/null --log-facility="$W/dnsmasq.log" &
for _ in $(seq 1 50); do [ -s "$W/dnsmasq.pid" ] && break; sleep 0.1; done
rm "$S/tftp/9ffefdef/start4.elf"
"$PINETBOOT" nfs stop >/dev/null
out=$(nsenter -t "$(cat "$W/rpcbind.pid")" -m -n "$PINETBOOT" doctor --dhcp-wait-ms 6000 2>&1); rc=$?
echo "$out"
[ $rc != 0 ] && ok "doctor fails when something is broken" || bad "doctor rc 0 on a broken setup"
grep -qE "another DHCP server answers on nfs0: 10.98.0.2 offering 10\.98\.0\.(5[0-9]|60)\b" <<< "$out" && grep -q "use proxy mode" <<< "$out" \
    && ok "doctor: foreign DHCP server found, proxy mode advised" || bad "doctor foreign dhcp: $(tail -5 "$W/dnsmasq.log" 2>/dev/null)"
echo "$out" | grep -A1 "lacks start4.elf" | grep -q "fix:" && ok "doctor: missing start4.elf with a fix" || bad "doctor start4"
echo "$out" | grep -A1 "NFS server does not answer" | grep -q "fix: pinetboot nfs apply" && ok "doctor: NFS down with a fix" || bad "doctor nfs down"

[ $fails = 0 ] && { echo "PASS nfs_ganesha"; exit 0; }
echo "FAIL nfs_ganesha ($fails)"; exit 1
