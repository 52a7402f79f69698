#!/usr/bin/env bash
# `pinetboot dhcp-snippet` against the real servers: the site's DHCP server (kea-dhcp4, then
# dnsmasq) runs with nothing but the generated snippet added to a plain address pool, and
# pinetboot serves TFTP only (`serve --dhcp off`). For each server:
#  - `probe` (the virtual Pi bootloader) gets its address and the PXE menu from that server,
#    the TFTP address from its option 66, and boots with its files fetched from pinetboot
#    (pinetboot's own log shows the transfers);
#  - a PXE client with a non-Pi MAC (x86 BIOS PXE sends the same option 60) gets no PXE
#    menu: the MAC-prefix match holds.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/dhcp_lab.sh"
. "$HERE/lib/boot_tree.sh"
PINETBOOT=${PINETBOOT:?}
command -v kea-dhcp4 >/dev/null || { echo "FAIL kea-dhcp4 missing (scripts/setup.sh installs kea-dhcp4-server)"; exit 1; }
command -v dnsmasq >/dev/null || { echo "FAIL dnsmasq missing"; exit 1; }
lab_up dsnip
mkdir -p "$W/tftp"
make_boot_tree "$W/tftp" 1234abcd pi4
chmod -R a+rX "$W"

# pinetboot: TFTP only, on the same link as the site DHCP server.
lab_bg "$SRV" "$W/serve.log" "$PINETBOOT" serve --interface s0 --root "$W/tftp" --dhcp off \
    --state-dir "$W/state"
SERVE_PID=$LAST_PID
wait_for "$W/serve.log" "serve: ready" 10 || { bad "serve start: $(tail -3 "$W/serve.log")"; finish dhcp_snippet; }

# $1 = server name (kea|dnsmasq), $2 = its log: a Pi boots, an x86 PXE client is not sent the menu.
boot_through() {
    local name=$1 log=$2 out rc
    out=$(ip netns exec "$CLI" timeout 90 "$PINETBOOT" probe --interface c0 --model pi4 --serial 1234abcd \
            --mac dc:a6:32:5e:00:01 --dhcp-timeout 15 2>&1)
    rc=$?
    echo "$out" | sed 's/^/    /'
    [ $rc = 0 ] && grep <<<"$out" -q "^verdict: boots" && ok "$name: probe boots" || bad "$name: probe (rc $rc)"
    grep <<<"$out" -qE "DHCP OFFER from $SRV_IP yiaddr $NET\.(1[0-9][0-9]|200) .*PXE menu matches" \
        && ok "$name: one offer with an address and the PXE menu (no proxy)" || bad "$name: no address offer with the PXE menu"
    grep <<<"$out" -qE "DHCP ACK: NET $NET\.[0-9]+ .* tftp $SRV_IP" \
        && ok "$name: TFTP server $SRV_IP from the snippet" || bad "$name: ACK/TFTP line"
    grep -qE "tftp ok 1234abcd/start4.elf" "$W/serve.log" && grep -qE "tftp ok 1234abcd/kernel8.img" "$W/serve.log" \
        && ok "$name: start4.elf and kernel8.img fetched from pinetboot's TFTP" \
        || bad "$name: pinetboot served no boot files: $(grep 'tftp ' "$W/serve.log" | tail -2)"
    out=$(ip netns exec "$CLI" timeout 60 "$PINETBOOT" probe --interface c0 --model pi4 --serial 1234abcd \
            --mac 52:54:00:5e:00:02 --dhcp-timeout 5 2>&1)
    rc=$?
    grep <<<"$out" -q "^verdict: does not boot: no PXE offer: option 43 missing in the offer from $SRV_IP" && [ $rc = 1 ] \
        && ok "$name: a non-Pi MAC gets an address but no PXE menu" || bad "$name: non-Pi MAC (rc $rc): $(echo "$out" | tail -2)"
    grep -qi "$3" "$log" && ok "$name: its log shows the lease ($3)" || bad "$name: no '$3' in its log"
}

# --- kea-dhcp4 --------------------------------------------------------------------------
"$PINETBOOT" dhcp-snippet --for kea --server-ip "$SRV_IP" > "$W/kea.snippet" || bad "dhcp-snippet --for kea"
{
    cat <<EOC
{ "Dhcp4": {
    "interfaces-config": { "interfaces": [ "s0" ] },
    "lease-database": { "type": "memfile", "persist": true, "name": "$W/kea.leases" },
    "valid-lifetime": 3600,
    "subnet4": [ { "id": 1, "subnet": "$NET.0/24", "pools": [ { "pool": "$NET.100 - $NET.200" } ] } ],
    "loggers": [ { "name": "kea-dhcp4", "severity": "INFO", "output_options": [ { "output": "$W/kea.log" } ] } ],
EOC
    cat "$W/kea.snippet"
    echo "} }"
} > "$W/kea.conf"
ip netns exec "$SRV" env KEA_LOCKFILE_DIR="$W" KEA_PIDFILE_DIR="$W" kea-dhcp4 -t "$W/kea.conf" > "$W/kea.check" 2>&1 \
    && ok "kea-dhcp4 -t accepts the snippet" || bad "kea-dhcp4 -t: $(tail -3 "$W/kea.check")"
lab_bg "$SRV" "$W/kea.out" env KEA_LOCKFILE_DIR="$W" KEA_PIDFILE_DIR="$W" kea-dhcp4 -c "$W/kea.conf"
KEA_PID=$LAST_PID
if wait_for "$W/kea.log" "DHCP4_STARTED" 15; then
    boot_through kea "$W/kea.log" "DHCP4_LEASE_ALLOC"
else
    bad "kea start: $(tail -3 "$W/kea.out" "$W/kea.log" 2>/dev/null)"
fi
lab_kill "$KEA_PID"

# --- dnsmasq ----------------------------------------------------------------------------
"$PINETBOOT" dhcp-snippet --for dnsmasq --server-ip "$SRV_IP" > "$W/dnsmasq.snippet" || bad "dhcp-snippet --for dnsmasq"
cat > "$W/dnsmasq.conf" <<EOC
port=0
interface=s0
bind-interfaces
dhcp-range=$NET.100,$NET.200,255.255.255.0,1h
no-ping
dhcp-leasefile=$W/dnsmasq.leases
log-dhcp
log-facility=$W/dnsmasq.log
conf-file=$W/dnsmasq.snippet
EOC
dnsmasq --test --conf-file="$W/dnsmasq.conf" > "$W/dnsmasq.check" 2>&1 \
    && ok "dnsmasq --test accepts the snippet" || bad "dnsmasq --test: $(cat "$W/dnsmasq.check")"
lab_bg "$SRV" "$W/dnsmasq.out" dnsmasq --conf-file="$W/dnsmasq.conf" --keep-in-foreground --pid-file=
DNSMASQ_PID=$LAST_PID
if wait_for "$W/dnsmasq.log" "DHCP, IP range" 10; then
    # A fresh serve log section: the kea round's transfers must not count for dnsmasq.
    lab_kill "$SERVE_PID"
    lab_bg "$SRV" "$W/serve.log" "$PINETBOOT" serve --interface s0 --root "$W/tftp" --dhcp off \
        --state-dir "$W/state"
    SERVE_PID=$LAST_PID
    wait_for "$W/serve.log" "serve: ready" 10 || bad "serve restart: $(tail -3 "$W/serve.log")"
    boot_through dnsmasq "$W/dnsmasq.log" "DHCPACK(s0)"
    grep -q "sent size: 32 option: 43 vendor-encap  06:01:03:0a:04:00:50:58:45:09:14:00:00:11" "$W/dnsmasq.log" \
        && ok "dnsmasq sent the 32 option-43 bytes pinetboot sends" || bad "dnsmasq option 43 line: $(grep 'option: 43' "$W/dnsmasq.log" | head -1)"
else
    bad "dnsmasq start: $(cat "$W/dnsmasq.out")"
fi
lab_kill "$DNSMASQ_PID"
lab_kill "$SERVE_PID"
finish dhcp_snippet
