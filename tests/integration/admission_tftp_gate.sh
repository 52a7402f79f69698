#!/usr/bin/env bash
# Boot storm admission with `--dhcp off` (issue #14): the site's DHCP server (dnsmasq,
# started here with DHCP and the PXE menu only, no TFTP) hands out addresses, and
# pinetboot serves TFTP with a deliberately small ceiling ([admission] max_boards = 10).
# With no DHCP of its own to hold, pinetboot admits at a board's first RRQ: boards beyond
# the ceiling get no answer to that RRQ and are let in, in arrival order, at a later
# retry. Every board must boot on its first power-on, the queue must have been used, and
# the log must say when holding started and when the storm was over (the controller is
# ticked with no DHCP responder running).
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/dhcp_lab.sh"
. "$HERE/lib/boot_tree.sh"
PINETBOOT=${PINETBOOT:?}
N=80
CEILING=10
lab_up admtftp
make_boot_tree "$W" root pi4
chmod -R a+rX "$W"
cat > "$W/dnsmasq.conf" <<EOC
port=0
interface=s0
bind-interfaces
dhcp-range=$NET.100,$NET.250,255.255.255.0,1h
no-ping
dhcp-leasefile=$W/dnsmasq.leases
pxe-service=0,"Raspberry Pi Boot"
log-facility=$W/dnsmasq.log
EOC
lab_bg "$SRV" "$W/dnsmasq.out" dnsmasq --conf-file="$W/dnsmasq.conf" --keep-in-foreground --pid-file=
wait_for "$W/dnsmasq.log" "DHCP, IP range" 10 || { bad "dnsmasq start: $(cat "$W/dnsmasq.out")"; finish admission_tftp_gate; }
printf '[admission]\nmax_boards = %s\n' "$CEILING" > "$W/pinetboot.toml"
lab_bg "$SRV" "$W/serve.log" "$PINETBOOT" serve --config "$W/pinetboot.toml" --interface s0 \
    --root "$W/root" --dhcp off
SERVE_PID=$LAST_PID
wait_for "$W/serve.log" "serve: ready" 10 || { bad "serve start: $(tail -3 "$W/serve.log")"; finish admission_tftp_gate; }
out=$(ip netns exec "$CLI" timeout 200 "$PINETBOOT" probe --interface c0 --model pi4 --serial 1234d000 \
        --mac dc:a6:32:00:40:00 --count $N 2>&1)
rc=$?
grep '^storm' <<< "$out" | sed 's/^/    /'
if [ $rc = 0 ] && grep -q "^storm: $N/$N boards booted" <<< "$out"; then
    ok "$N/$N boards booted on their first attempt through dnsmasq's DHCP and pinetboot's TFTP gate"
else
    bad "storm (rc $rc): $(grep -E '^verdict' <<< "$out" | sed 's/[0-9a-f]\{8\}/X/; s/[0-9][0-9.]*/N/g' | sort | uniq -c | head -5)"
fi
api=$(ip netns exec "$SRV" curl -sf http://127.0.0.1:8080/api/v1/admission)
python3 - "$api" "$N" "$CEILING" <<'P' && ok "API: boards were held at their first RRQ and all let in" || bad "API: $api"
import json, sys
a = json.loads(sys.argv[1]); n = int(sys.argv[2]); ceiling = int(sys.argv[3])
assert a["enabled"] is True
assert a["admissions"] >= n, a["admissions"]
assert a["held_boards"] >= 1, a["held_boards"]
assert a["waiting"] == 0, a["waiting"]
P
grep -q "admission: boot storm, holding boards" "$W/serve.log" && ok "log: holding started" || bad "log: no holding line"
# The quiet period is a few seconds; nobody but the daemon's once-a-second tick runs
# the controller here, so this line proves that tick.
wait_for "$W/serve.log" "admission: storm over" 15 && ok "log: storm over ($(grep -o 'admission: storm over.*' "$W/serve.log" | head -1))" \
    || bad "log: no storm-over line within 15 s of the last board"
lab_kill "$SERVE_PID"
finish admission_tftp_gate
