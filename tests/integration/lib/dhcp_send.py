#!/usr/bin/python3
# dhcp_send.py - send one hand-made DHCP message (scapy) and print the reply's
# message type; for the integration tests, run inside their namespaces only.
#   dhcp_send.py IFACE TYPE [--mac M] [--requested IP] [--ciaddr IP] [--server-id IP]
#                [--guid HEX] [--vendor STR] [--timeout S]
# Prints "REPLY <type> yiaddr=<ip> siaddr=<ip> opts=<codes>" or "NOREPLY"; exit 0 either way.
# `raw IFACE DSTIP HEX` sends HEX as a UDP payload to DSTIP:67 (malformed-packet tests).
import argparse, os, random, subprocess, sys

if subprocess.run(["ip", "netns", "identify", str(os.getpid())],
                  capture_output=True, text=True).stdout.strip() == "":
    print("refusing to run outside a named network namespace"); sys.exit(2)

if len(sys.argv) > 1 and sys.argv[1] == "raw":
    import socket
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, 25, sys.argv[2].encode())  # SO_BINDTODEVICE
    s.sendto(bytes.fromhex(sys.argv[4]), (sys.argv[3], 67))
    print("SENT"); sys.exit(0)

ap = argparse.ArgumentParser()
ap.add_argument("iface"); ap.add_argument("type")
ap.add_argument("--mac", default="02:00:00:00:10:01")
ap.add_argument("--requested"); ap.add_argument("--ciaddr", default="0.0.0.0")
ap.add_argument("--server-id"); ap.add_argument("--guid"); ap.add_argument("--vendor")
ap.add_argument("--timeout", type=float, default=3.0)
ap.add_argument("--secs", type=int, default=0)  # RFC 2131 secs since the client began
a = ap.parse_args()
from scapy.all import AsyncSniffer, BOOTP, DHCP, IP, UDP, Ether, conf, mac2str, sendp  # noqa
import time
conf.verb = 0
xid = random.randint(1, 0xFFFFFFFF)
opts = [("message-type", a.type)]
if a.requested: opts.append(("requested_addr", a.requested))
if a.server_id: opts.append(("server_id", a.server_id))
if a.guid: opts.append((97, bytes.fromhex(a.guid)))
if a.vendor: opts.append((60, a.vendor.encode()))
opts.append("end")
src = a.ciaddr
pkt = (Ether(src=a.mac, dst="ff:ff:ff:ff:ff:ff") / IP(src=src, dst="255.255.255.255")
       / UDP(sport=68, dport=67)
       / BOOTP(op=1, chaddr=mac2str(a.mac) + b"\0" * 10, xid=xid, secs=a.secs, ciaddr=a.ciaddr)
       / DHCP(options=opts))
sn = AsyncSniffer(iface=a.iface, filter="udp and port 68",
                  lfilter=lambda p: BOOTP in p and p[BOOTP].op == 2 and p[BOOTP].xid == xid,
                  count=1, timeout=a.timeout)
sn.start(); time.sleep(0.3); sendp(pkt, iface=a.iface); sn.join()
if not sn.results:
    print("NOREPLY"); sys.exit(0)
r = sn.results[0]
names = {1: "discover", 2: "offer", 3: "request", 4: "decline", 5: "ack", 6: "nak", 7: "release", 8: "inform"}
mt = "?"; codes = []
for o in r[DHCP].options:
    if isinstance(o, tuple):
        codes.append(str(o[0]))
        if o[0] == "message-type": mt = names.get(o[1], str(o[1]))
print(f"REPLY {mt} yiaddr={r[BOOTP].yiaddr} siaddr={r[BOOTP].siaddr} opts={','.join(codes)}")
