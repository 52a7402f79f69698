#!/usr/bin/python3
"""nbd_tool.py: an NBD client for the tests, from a chosen source address.

  get HOST PORT NAME SRC OUT        copy the export's data regions into the sparse file OUT
  put HOST PORT NAME SRC OLD NEW    write to the export the 4 KiB blocks where NEW differs from OLD
  putblocks HOST PORT NAME SRC NEW LIST  write the blocks of NEW at the offsets in LIST
  diff OLD NEW LIST                 write to LIST the offsets of the 4 KiB blocks that differ
  probe HOST PORT NAME SRC SECONDS  exit 0 if the handshake completes within SECONDS, else 1
  digest FILE                       sha256 over FILE's size and its data extents (offset, bytes):
                                    any write changes it, and it reads no holes (a sparse
                                    1 GiB base is a few MiB of data)

The host has no nbd kernel module, so a board's writes are made on a local copy
(debugfs) and only the changed blocks are sent, as the board's kernel would.
"""
import os
import socket
import sys

import nbd

BLOCK = 4096


def connect(host, port, name, src, timeout=10.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.bind((src, 0))
    s.connect((host, int(port)))
    s.settimeout(None)
    h = nbd.NBD()
    h.set_export_name(name)
    h.add_meta_context(nbd.CONTEXT_BASE_ALLOCATION)
    h.connect_socket(s.detach())  # libnbd owns the descriptor from here
    return h


def data_regions(fd, size):
    off = 0
    while off < size:
        try:
            start = os.lseek(fd, off, os.SEEK_DATA)
        except OSError:
            return
        end = os.lseek(fd, start, os.SEEK_HOLE)
        yield start, end
        off = end


def get(h, out):
    size = h.get_size()
    with open(out, "wb") as f:
        f.truncate(size)
        off = 0
        while off < size:
            extents = []

            def cb(metacontext, offset, entries, err):
                if metacontext != nbd.CONTEXT_BASE_ALLOCATION:
                    return 0
                pos = offset
                for i in range(0, len(entries), 2):
                    extents.append((pos, entries[i], entries[i + 1]))
                    pos += entries[i]
                return 0

            h.block_status(min(1 << 26, size - off), off, cb)
            if not extents:
                break
            for pos, length, flags in extents:
                if flags & (nbd.STATE_HOLE | nbd.STATE_ZERO):
                    continue
                end = min(pos + length, size)
                while pos < end:
                    n = min(1 << 22, end - pos)
                    f.seek(pos)
                    f.write(h.pread(n, pos))
                    pos += n
            off = extents[-1][0] + extents[-1][1]


def changed_blocks(old, new):
    out = []
    with open(old, "rb") as fo, open(new, "rb") as fn:
        size = os.fstat(fn.fileno()).st_size
        for start, end in data_regions(fn.fileno(), size):
            start -= start % BLOCK
            for pos in range(start, end, BLOCK):
                fo.seek(pos)
                fn.seek(pos)
                if fo.read(BLOCK) != fn.read(BLOCK):
                    out.append(pos)
    return out


def put_blocks(h, new, blocks):
    with open(new, "rb") as fn:
        for pos in blocks:
            fn.seek(pos)
            h.pwrite(fn.read(BLOCK), pos)
    h.flush()
    print(f"wrote {len(blocks)} blocks ({len(blocks) * BLOCK} bytes)")


def put(h, old, new):
    put_blocks(h, new, changed_blocks(old, new))


def digest(path):
    import hashlib

    d = hashlib.sha256()
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        d.update(str(size).encode())
        for start, end in data_regions(f.fileno(), size):
            d.update(f"@{start}:{end}".encode())
            f.seek(start)
            left = end - start
            while left:
                chunk = f.read(min(left, 1 << 22))
                if not chunk:
                    break
                d.update(chunk)
                left -= len(chunk)
    print(d.hexdigest())


def main():
    if sys.argv[1] == "digest":
        digest(sys.argv[2])
        return
    if sys.argv[1] == "diff":
        with open(sys.argv[4], "w") as f:
            f.write("".join(f"{b}\n" for b in changed_blocks(sys.argv[2], sys.argv[3])))
        return
    cmd, host, port, name, src = sys.argv[1:6]
    if cmd == "probe":
        try:
            h = connect(host, port, name, src, float(sys.argv[6]))
            h.get_size()
        except Exception as e:  # refused, timed out, or the export name rejected
            print(f"no connection: {e}")
            sys.exit(1)
        print("connected")
        return
    h = connect(host, port, name, src)
    if cmd == "get":
        get(h, sys.argv[6])
    elif cmd == "put":
        put(h, sys.argv[6], sys.argv[7])
    elif cmd == "putblocks":
        with open(sys.argv[7]) as f:
            put_blocks(h, sys.argv[6], [int(line) for line in f if line.strip()])
    h.shutdown()


if __name__ == "__main__":
    main()
