# Regenerates fuzz/corpus/dhcp/ (small hand-built DHCP datagrams): python3 fuzz/make_dhcp_corpus.py fuzz/corpus/dhcp
import struct, sys, os
out = sys.argv[1]
def pkt(opts, hops=0, op=1, mac=b"\xdc\xa6\x32\x01\x02\x03", overload_file=b""):
    h = struct.pack("!BBBBIHHIIII", op, 1, 6, hops, 0xd383a6ac, 0, 0, 0, 0, 0, 0)
    h += mac + b"\0" * 10 + b"\0" * 64 + overload_file.ljust(128, b"\0")
    return h + b"\x63\x82\x53\x63" + opts
guid = b"\x00RPi4" + struct.pack("<I", 0xc03140) + b"\x32\x01\x02\x03" + struct.pack("<I", 0x1234abcd)
pi = (b"\x35\x01\x01" + b"\x37\x0e" + bytes([1,3,43,60,66,67,128,129,130,131,132,133,134,135])
      + b"\x5d\x02\x00\x00" + b"\x5e\x03\x01\x02\x01" + b"\x61\x11" + guid
      + b"\x3c\x20PXEClient:Arch:00000:UNDI:002001" + b"\xff")
seeds = {
  "pi4_discover": pkt(pi),
  "pi4_request_no60": pkt(b"\x35\x01\x03\x32\x04\x0a\x63\x00\x64\x36\x04\x0a\x63\x00\x01\x61\x11" + guid + b"\xff"),
  "plain_discover": pkt(b"\x35\x01\x01\x0c\x04host\xff", mac=b"\x52\x54\x00\x99\x00\x10"),
  "inform": pkt(b"\x35\x01\x08\xff"),
  "release": pkt(b"\x35\x01\x07\x36\x04\x0a\x63\x00\x01\xff"),
  "decline": pkt(b"\x35\x01\x04\x32\x04\x0a\x63\x00\x64\xff"),
  "overload_file": pkt(b"\x34\x01\x01\xff", overload_file=b"\x35\x01\x01\x3c\x09PXEClient\xff"),
  "bad_len": pkt(b"\x35\x01\x01\x37\xff\x01"),
  "hops": pkt(b"\x35\x01\x01\xff", hops=40),
  "split_option": pkt(b"\x35\x01\x01\x4d\x03abc\x4d\x02de\xff"),
  "offer_reply": pkt(b"\x35\x01\x02\xff", op=2),
  "truncated": pkt(pi)[:120],
}
for k, v in seeds.items():
    open(os.path.join(out, k), "wb").write(v)
