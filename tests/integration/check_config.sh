#!/usr/bin/env bash
# check-config reports every problem of a file in one run (issue #15): syntax and keys (with
# the nearest known name), rules across keys, and what the file means on this machine: a
# default_dir that does not exist, a range outside the interface's subnet, full DHCP on an
# interface where another DHCP server (a real dnsmasq, in the lab's other namespace)
# answers. serve's start-up prints the same list.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/dhcp_lab.sh"
PINETBOOT=${PINETBOOT:?}
lab_up chkcfg
mkdir -p "$W/tftp"

# The site's DHCP server, on the other end of the veth.
cat > "$W/site.conf" <<EOC
port=0
interface=c0
bind-interfaces
dhcp-range=$NET.100,$NET.200,255.255.255.0,1h
no-ping
dhcp-leasefile=$W/site.leases
log-dhcp
log-facility=$W/site.log
EOC
lab_bg "$CLI" "$W/site.out" dnsmasq --conf-file="$W/site.conf" --keep-in-foreground --pid-file=
wait_for "$W/site.log" "DHCP, IP range" 10 || { bad "dnsmasq start: $(cat "$W/site.out")"; finish check_config; }

cat > "$W/bad.toml" <<EOC
[[interface]]
name = "s0"
dhcp = "full"
range = ["$NET.100", "10.99.0.20"]
rotuer = "$NET.1"

[tftp]
root = "$W/tftp"
default_dir = "default"
max_blksize = 100

[htpp]
listen = "127.0.0.1:8080"
EOC
start=$(date +%s.%N)
out=$(ip netns exec "$SRV" "$PINETBOOT" check-config "$W/bad.toml" 2>&1); rc=$?
echo "$out" | sed 's/^/    /'
[ $rc = 1 ] && ok "check-config fails (rc 1)" || bad "check-config rc $rc"
grep -qF "bad.toml:5: unknown key 'rotuer' in [[interface]] (did you mean 'router'?)" <<<"$out" \
    && ok "mistyped key with did-you-mean" || bad "no did-you-mean for rotuer"
grep -qF "bad.toml:10: tftp.max_blksize: 100 is out of range" <<<"$out" \
    && ok "a bad value in the same run" || bad "no max_blksize error"
grep -qF "bad.toml:12: unknown section or key 'htpp' (did you mean [http]?)" <<<"$out" \
    && ok "mistyped section with did-you-mean" || bad "no did-you-mean for [htpp]"
grep -qF "tftp.default_dir 'default': $W/tftp/default does not exist" <<<"$out" \
    && ok "default_dir that does not exist" || bad "no default_dir error"
grep -qF "interface s0: range last 10.99.0.20 is outside s0's subnet $NET.0/24" <<<"$out" \
    && ok "range outside the interface's subnet" || bad "no subnet error"
grep -qE "interface s0: dhcp = \"full\", but another DHCP server answers there \(10\.77\.[0-9]+\.2 offering $NET\.1[0-9][0-9]\)" <<<"$out" \
    && ok "full DHCP where dnsmasq answers" || bad "no other-DHCP-server error"
grep -qF "bad.toml: 6 errors" <<<"$out" && ok "all 6 errors in one run" || bad "error count"
echo "    check-config took $(echo "$(date +%s.%N) - $start" | bc) s"

# The same file without the DHCP probe: the probe's error goes, the others stay.
out=$(ip netns exec "$SRV" "$PINETBOOT" check-config --no-dhcp-probe "$W/bad.toml" 2>&1)
grep -qF "bad.toml: 5 errors" <<<"$out" && ! grep -q "another DHCP server" <<<"$out" \
    && ok "--no-dhcp-probe skips the probe" || bad "--no-dhcp-probe: $out"

# serve refuses the file and prints every syntax error, not just the first.
out=$(ip netns exec "$SRV" timeout 10 "$PINETBOOT" serve --config "$W/bad.toml" --state-dir "$W/state" 2>&1); rc=$?
[ $rc != 0 ] && grep -qF "(did you mean 'router'?)" <<<"$out" && grep -qF "max_blksize" <<<"$out" \
    && grep -qF "(did you mean [http]?)" <<<"$out" \
    && ok "serve's start-up lists every error" || bad "serve start-up (rc $rc): $out"

# A file that is right in proxy mode beside dnsmasq: OK once its default_dir exists.
cat > "$W/good.toml" <<EOC
[[interface]]
name = "s0"
dhcp = "proxy"
[tftp]
root = "$W/tftp"
default_dir = "default"
EOC
out=$(ip netns exec "$SRV" "$PINETBOOT" check-config "$W/good.toml" 2>&1); rc=$?
[ $rc = 1 ] && grep -qF "good.toml: 1 error" <<<"$out" && ok "missing default_dir alone: 1 error" || bad "good.toml before mkdir: $out"
mkdir -p "$W/tftp/default"
out=$(ip netns exec "$SRV" "$PINETBOOT" check-config "$W/good.toml" 2>&1); rc=$?
[ $rc = 0 ] && grep -qF "good.toml: OK" <<<"$out" && ok "a right file is OK" || bad "good.toml: $out"

# serve logs what a file means here at start (CONFIG_CHECK: a router outside the subnet)
# and runs; its dashboard is on the namespace's own lo.
cat > "$W/router.toml" <<EOC
[[interface]]
name = "s0"
dhcp = "full"
range = ["$NET.100", "$NET.150"]
router = "10.99.0.1"
[tftp]
root = "$W/tftp"
EOC
lab_bg "$SRV" "$W/serve.log" "$PINETBOOT" serve --config "$W/router.toml" --state-dir "$W/state"
SERVE_PID=$LAST_PID
wait_for "$W/serve.log" "serve: ready" 10 && grep -qF "CONFIG_CHECK $W/router.toml: interface s0: router 10.99.0.1 is outside s0's subnet" "$W/serve.log" \
    && ok "serve logs what the file means here (CONFIG_CHECK)" || bad "serve log: $(tail -5 "$W/serve.log")"
lab_kill "$SERVE_PID"

# serve notices a board whose first DISCOVER says it began 31 s ago (a port blocking for
# spanning tree after link-up, raspberrypi/rpi-eeprom#480) and logs the port-fast fix.
lab_bg "$SRV" "$W/serve2.log" "$PINETBOOT" serve --config "$W/good.toml" --state-dir "$W/state2"
SERVE_PID=$LAST_PID
wait_for "$W/serve2.log" "serve: ready" 10 || bad "serve (proxy) start: $(tail -3 "$W/serve2.log")"
ip netns exec "$CLI" /usr/bin/python3 "$HERE/lib/dhcp_send.py" c0 discover --mac dc:a6:32:aa:bb:07 \
    --vendor "PXEClient:Arch:00000:UNDI:002001" --secs 31 --timeout 2 > "$W/send.out" 2>&1
wait_for "$W/serve2.log" "NETWORK_PORT board dc:a6:32:aa:bb:07: its first DISCOVER seen here says it began 31 s earlier" 5 \
    && grep -q "spanning-tree portfast" "$W/serve2.log" \
    && ok "serve notices a late first DISCOVER (secs 31) and names port-fast" || bad "no NETWORK_PORT: $(cat "$W/send.out"; grep -i discover "$W/serve2.log" | tail -3)"
lab_kill "$SERVE_PID"
out=$(ip netns exec "$SRV" "$PINETBOOT" doctor --state-dir "$W/state2" --interface s0 --no-dhcp-probe 2>&1)
grep -qF "board dc:a6:32:aa:bb:07: its first DISCOVER seen here says it began 31 s earlier" <<<"$out" \
    && grep -qF "spanning-tree portfast" <<<"$out" && ok "doctor reports serve's finding with the port-fast fix" \
    || bad "doctor network finding: $out"

# doctor checks the boot interface's MTU (issue #15): below 1500 the Pi's TFTP blocks fragment.
ip -n "$SRV" link set s0 mtu 1400
out=$(ip netns exec "$SRV" "$PINETBOOT" doctor --state-dir "$W/docstate" --interface s0 --no-dhcp-probe 2>&1)
grep -qF "s0 has MTU 1400, below Ethernet's 1500" <<<"$out" && grep -qF "ip link set s0 mtu 1500" <<<"$out" \
    && ok "doctor warns about MTU 1400 with the fix" || bad "doctor MTU: $out"
ip -n "$SRV" link set s0 mtu 1500
out=$(ip netns exec "$SRV" "$PINETBOOT" doctor --state-dir "$W/docstate" --interface s0 --no-dhcp-probe 2>&1)
grep -qF "s0 has MTU 1500" <<<"$out" && ok "doctor: MTU 1500 is fine" || bad "doctor MTU 1500: $out"
finish check_config
