#!/usr/bin/env bash
# pinetboot init, the first setup (issue #15), in the lab's namespaces: with a site DHCP
# server (dnsmasq) answering on the boot segment it picks proxy mode, without one full mode
# with a pool in the subnet; it refuses full mode on the interface with the default route;
# driven through a pty it asks and takes the answers. Each result passes check-config and
# doctor's interface checks, the README's `client add` line works with the server address
# and subnet it stored, and an existing config is never replaced without --force.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/dhcp_lab.sh"
PINETBOOT=${PINETBOOT:?}
SOURCE_DIR=${SOURCE_DIR:-$(cd "$HERE/../.." && pwd)}
lab_up init
START=$(date +%s.%N)
in_srv() { ip netns exec "$SRV" env PINETBOOT_STATE_DIR="$STATE" "$PINETBOOT" "$@"; }

# The backend init must pick: the installed NFS server, kernel first.
if command -v exportfs >/dev/null || [ -x /usr/sbin/exportfs ]; then WANT_NFS=kernel
elif command -v ganesha.nfsd >/dev/null || [ -x /usr/sbin/ganesha.nfsd ]; then WANT_NFS=ganesha
else WANT_NFS=none; fi

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
SITE_PID=$LAST_PID
wait_for "$W/site.log" "DHCP, IP range" 10 || { bad "dnsmasq start: $(cat "$W/site.out")"; finish init_setup; }

# ---- (a) a DHCP server answers: proxy
STATE=$W/state-a
out=$(in_srv init --yes --config "$W/a.toml" --dhcp-wait 2 2>&1); rc=$?
echo "$out" | sed 's/^/    /'
[ $rc = 0 ] && grep -q '^dhcp = "proxy"' "$W/a.toml" && grep -q '^name = "s0"' "$W/a.toml" \
    && ok "init --yes beside dnsmasq picks proxy on s0" || bad "init (a) rc $rc"
grep -qE "dhcp: proxy, because a DHCP server answers on s0 \(10\.[0-9.]+ offering $NET\." <<<"$out" \
    && grep -qE "^# +dhcp: proxy, because" "$W/a.toml" \
    && ok "it says why (on screen and in the file)" || bad "no reason for proxy"
grep -q "^backend = \"$WANT_NFS\"" "$W/a.toml" && ok "NFS backend: the installed one ($WANT_NFS)" \
    || bad "backend: $(grep ^backend "$W/a.toml") (want $WANT_NFS)"
out=$(in_srv check-config "$W/a.toml" 2>&1) && ok "check-config passes: $out" || bad "check-config (a): $out"
out=$(in_srv settings show --json 2>&1)
grep -qF "\"server_ip\": \"$SRV_IP\"" <<<"$out" && grep -qF "\"client_subnet\": \"$NET.0/24\"" <<<"$out" \
    && grep -qF '"interface": "s0"' <<<"$out" && ok "settings stored (server ip, subnet, interface)" \
    || bad "settings (a): $out"

# ---- (d) an existing config is the user's
cp "$W/a.toml" "$W/a.before"
echo "# my own edit" >> "$W/a.toml"; cp "$W/a.toml" "$W/a.edited"
out=$(in_srv init --yes --config "$W/a.toml" --dhcp-wait 2 2>&1); rc=$?
[ $rc = 1 ] && grep -qF "exists; init never replaces a config without --force" <<<"$out" \
    && cmp -s "$W/a.toml" "$W/a.edited" && ok "existing config kept without --force (rc 1)" \
    || bad "init over an existing config (rc $rc): $out"
out=$(in_srv init --yes --force --config "$W/a.toml" --dhcp-wait 2 2>&1); rc=$?
[ $rc = 0 ] && ! grep -q "my own edit" "$W/a.toml" && ok "--force replaces it" || bad "--force (rc $rc): $out"
ls "$W"/.a.toml.tmp* >/dev/null 2>&1 && bad "temp file left behind" || ok "no temp file left"

# Without a terminal and without --yes nothing can be asked: refused before any probe.
out=$(in_srv init --config "$W/f.toml" </dev/null 2>&1); rc=$?
[ $rc = 2 ] && grep -qF "pass --yes" <<<"$out" && [ ! -e "$W/f.toml" ] \
    && ok "no terminal, no --yes: refused (rc 2), says --yes" || bad "no tty (rc $rc): $out"

# ---- (b) nobody answers: full, with a pool in s0's subnet
lab_kill "$SITE_PID"
STATE=$W/state-b
out=$(in_srv init --yes --config "$W/b.toml" --dhcp-wait 2 2>&1); rc=$?
echo "$out" | sed 's/^/    /'
[ $rc = 0 ] && grep -q '^dhcp = "full"' "$W/b.toml" \
    && grep -qF "range = [\"$NET.128\", \"$NET.254\"]" "$W/b.toml" \
    && ok "init --yes without a DHCP server picks full, range $NET.128-254" || bad "init (b) rc $rc: $(cat "$W/b.toml")"
# check-config with its own DHCP probe on the full-mode interface.
out=$(in_srv check-config "$W/b.toml" 2>&1) && ok "check-config passes (with its DHCP probe)" \
    || bad "check-config (b): $out"
out=$(in_srv doctor --dhcp-wait-ms 1500 2>&1)
echo "$out" | grep -E '^\[' | sed 's/^/    /'
grep -qF "[ ok ] interface: s0 is up with static address $SRV_IP/24" <<<"$out" \
    && ! grep -qE '^\[(FAIL|warn)\] (interface|dhcp|settings)' <<<"$out" \
    && grep -qF "[ ok ] dhcp: no other DHCP server answered on s0" <<<"$out" \
    && ok "doctor: the stored interface and address check out, DHCP full fits" || bad "doctor (b): $out"

# ---- (e) full DHCP on the interface with the default route is refused, with the reason
ip -n "$SRV" route add default via "$CLI_IP"
STATE=$W/state-e
out=$(in_srv init --yes --dhcp full --config "$W/e.toml" 2>&1); rc=$?
[ $rc = 1 ] && grep -qF "s0 carries the default route" <<<"$out" && grep -qF -- "--dhcp proxy" <<<"$out" \
    && [ ! -e "$W/e.toml" ] && ok "full on the uplink refused, nothing written" || bad "uplink (rc $rc): $out"
ip -n "$SRV" route del default

# ---- (c) interactive, through a pty: every prompt answered
STATE=$W/state-c
cat > "$W/drive.py" <<'EOPY'
import os, pty, sys, time, select
argv, answers = sys.argv[1:sys.argv.index("--")], sys.argv[sys.argv.index("--") + 1:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
buf = b""
log = b""  # everything the program printed, for the checks after it ends
def read_until(text, timeout=15):
    global buf, log
    end = time.time() + timeout
    while text.encode() not in buf:
        left = end - time.time()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            sys.stdout.write(buf.decode(errors="replace"))
            sys.exit("timeout waiting for %r" % text)
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            chunk = b""
        if not chunk:
            sys.stdout.write(buf.decode(errors="replace"))
            sys.exit("program ended before %r" % text)
        buf += chunk
        log += chunk
    buf = buf[buf.index(text.encode()) + len(text):]
for a in answers:
    prompt, reply = a.split("=>", 1)
    read_until(prompt)
    os.write(fd, (reply + "\n").encode())
out = b""
while True:
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
sys.stdout.write((log + out).decode(errors="replace"))
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
EOPY
out=$(ip netns exec "$SRV" env PINETBOOT_STATE_DIR="$STATE" python3 "$W/drive.py" \
    "$PINETBOOT" init --config "$W/c.toml" --dhcp-wait 2 -- \
    "Boot interface (number or name) [s0]: =>1" \
    "DHCP mode (proxy or full) [full]: =>" \
    "Address range for the Pis (FIRST-LAST) [$NET.128-$NET.254]: =>$NET.150-$NET.160" \
    "NFS backend (kernel, ganesha or none) [$WANT_NFS]: =>none" \
    "This server's address on the boot network (nfsroot=) [$SRV_IP]: =>" \
    "The Pis' subnet (the exports allow it) [$NET.0/24]: =>" \
    "store the settings in $STATE? (y/n) [y]: =>y" 2>&1); rc=$?
echo "$out" | sed 's/^/    /'
[ $rc = 0 ] && grep -q "1) s0 " <<<"$out" && grep -q "no DHCP server answered on s0" <<<"$out" \
    && ok "interactive: listed s0, said nobody answered, took the answers (rc 0)" || bad "interactive rc $rc"
grep -qF "range = [\"$NET.150\", \"$NET.160\"]" "$W/c.toml" && grep -q '^backend = "none"' "$W/c.toml" \
    && grep -q '^dhcp = "full"' "$W/c.toml" && ok "the answers are in the file" || bad "c.toml: $(cat "$W/c.toml")"
out=$(in_srv check-config --no-dhcp-probe "$W/c.toml" 2>&1) && ok "check-config passes (interactive)" \
    || bad "check-config (c): $out"
out=$(in_srv doctor --no-dhcp-probe 2>&1)
grep -qF "[ ok ] interface: s0 is up with static address $SRV_IP/24" <<<"$out" \
    && ! grep -qE '^\[(FAIL|warn)\] (interface|settings)' <<<"$out" && ok "doctor: no settings problem" \
    || bad "doctor (c): $out"

# The README's lines, word for word but the image file: no --server-ip, no --client-subnet.
bash "$HERE/lib/make_pi_image.sh" "$W/pi.img" "$W/img" mbr > "$W/mkimg.log" 2>&1 \
    || bad "make_pi_image: $(tail -3 "$W/mkimg.log")"
out=$(in_srv image import "$W/pi.img" --name bookworm 2>&1) || bad "image import: $out"
add_line=$(grep -m1 '^pinetboot client add --serial 1234abcd' "$SOURCE_DIR/README.md" | sed 's/ *#.*//')
[ -n "$add_line" ] || bad "README client add line not found"
echo "    README: $add_line"
out=$(in_srv ${add_line#pinetboot } 2>&1); rc=$?
echo "$out" | sed 's/^/    /'
[ $rc = 0 ] && grep -qF "nfsroot=$SRV_IP:" "$STATE/tftp/1234abcd/cmdline.txt" \
    && ok "README's client add works with the stored address and subnet" \
    || bad "client add (rc $rc): $out"
grep -qE "^root copy: 100\.0% .* done in" <<<"$out" && ok "root copy progress ends at 100 % (plain lines, no terminal)" \
    || bad "no 100 % root copy line"
grep -qF "$NET.0/24" <<<"$(in_srv nfs apply 2>&1)" && ok "exports limited to the stored subnet" \
    || bad "nfs apply: $(in_srv nfs apply 2>&1)"

echo "    init_setup took $(echo "$(date +%s.%N) - $START" | bc) s"
finish init_setup
