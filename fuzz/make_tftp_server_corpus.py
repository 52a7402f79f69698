# Regenerates fuzz/corpus/tftp_server/ (scripts for fuzz_tftp_server.cc; see its
# header for the step format): python3 fuzz/make_tftp_server_corpus.py fuzz/corpus/tftp_server
import os, struct, sys
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
RAWREQ, RAWREP, RRQ, ACK, ERR, CLOCK, FAULT, TURN, STOP = range(9)
def rrq(c, f, flags): return bytes([RRQ, c, f, flags])
def ack(c, b): return bytes([ACK, c]) + struct.pack("!H", b)
def err(c, code): return bytes([ERR, c, code])
def clock(step): return bytes([CLOCK, step])
turn = bytes([TURN])
def lockstep(c, f, blocks): return rrq(c, f, 0) + turn + b"".join(ack(c, b) + turn for b in range(1, blocks + 1))
raw_rrq = b"\x00\x01start4.elf\x00octet\x00tsize\x000\x00blksize\x001468\x00"
seeds = {
    "lockstep_start4": lockstep(0, 0, 6),
    "probe_then_fetch": rrq(0, 0, 1 | 2) + turn + err(0, 0) + turn + rrq(0, 0, 2) + turn
                        + b"".join(ack(0, b) + turn for b in range(0, 4)),
    "window_kernel": rrq(2, 2, 2 | 8 | 16) + turn + ack(2, 0) + turn + ack(2, 2) + turn + ack(2, 4) + turn,
    "refusals": rrq(1, 4, 0) + rrq(3, 5, 0) + rrq(5, 0, 64) + rrq(7, 1, 128) + turn,
    "timeouts": rrq(4, 0, 0) + turn + b"".join(clock(150) + turn for _ in range(12)),
    "duplicate_and_supersede": rrq(0, 0, 0) + rrq(0, 0, 0) + turn + ack(0, 1) + rrq(0, 1, 0) + turn,
    "many_clients": b"".join(rrq(c, c % 4, 2) for c in range(8)) + turn
                    + b"".join(ack(c, 0) for c in range(8)) + turn,
    "fault": rrq(0, 2, 2) + turn + ack(0, 0) + bytes([FAULT, 0]) + turn,
    "raw": bytes([RAWREQ, 6, len(raw_rrq)]) + raw_rrq + turn + bytes([RAWREP, 6, 0, 4, 0, 4, 0, 0]) + turn,
    "shutdown": rrq(0, 0, 0) + turn + bytes([STOP, 1]) + rrq(2, 0, 0) + bytes([STOP, 0]) + turn,
    "blksize8_timeout_option": rrq(1, 0, 2 | 4 | 32) + turn + ack(1, 0) + turn + clock(200) + turn,
}
for k, v in seeds.items():
    with open(os.path.join(out, k), "wb") as f:
        f.write(v)
