#!/usr/bin/python3
"""A hostile guest against its own xenstore socket (issue 15 #1), for the chaos soak.

  hostile_xs.py SOCKET HOME SECONDS

Against the embedded xenstored's per-domain socket SOCKET (domain-D.sock), for SECONDS, all at once:
  - opens as many connections as it is given (up to 2 000);
  - on 40 of them pipelines READ requests without ever reading a reply;
  - on 4 of them opens a transaction and writes 2 kB nodes under HOME/data (owned by the guest)
    until refused, never committing.
Then closes everything. Prints "connections N, requests R, tx-writes W, refused E" and exits 0; it
fails only if it could not connect at all (the socket's absence is reported, not a failure: the
agent may be restarting).
"""
import socket
import struct
import sys
import time

XS_READ, XS_TRANSACTION_START, XS_WRITE, XS_ERROR = 2, 6, 11, 16


def frame(kind, req, tx, payload):
    return struct.pack("<IIII", kind, req, tx, len(payload)) + payload


def recv_reply(s):
    head = b""
    while len(head) < 16:
        chunk = s.recv(16 - len(head))
        if not chunk:
            raise OSError("closed")
        head += chunk
    kind, _, _, n = struct.unpack("<IIII", head)
    body = b""
    while len(body) < n:
        chunk = s.recv(n - len(body))
        if not chunk:
            raise OSError("closed")
        body += chunk
    return kind, body


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(2)
    s.connect(path)
    return s


def main(path, home, seconds):
    end = time.monotonic() + seconds
    conns, refused, requests, writes = [], 0, 0, 0
    try:
        conns.append(connect(path))
    except OSError as e:
        print("no socket (%s)" % e)
        return 0
    while len(conns) < 2000 and time.monotonic() < end - seconds / 2:
        try:
            conns.append(connect(path))
        except OSError:
            refused += 1
            break
    for s in conns[:40]:
        s.setblocking(False)
    txs = []
    for s in conns[40:44]:
        try:
            s.sendall(frame(XS_TRANSACTION_START, 1, 0, b"\0"))
            kind, body = recv_reply(s)
            if kind == XS_TRANSACTION_START:
                txs.append((s, int(body.rstrip(b"\0"))))
        except (OSError, ValueError):
            refused += 1
    value = b"x" * 2048
    n = 0
    while time.monotonic() < end:
        for s in conns[:40]:
            try:
                s.send(frame(XS_READ, n, 0, b"/local/domain\0") * 64)
                requests += 64
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                refused += 1
        for s, tx in txs:
            try:
                s.sendall(frame(XS_WRITE, n, tx, ("%s/data/n%d\0" % (home, n)).encode() + value))
                kind, _ = recv_reply(s)
                if kind == XS_ERROR:
                    refused += 1
                else:
                    writes += 1
            except OSError:
                refused += 1
        n += 1
        time.sleep(0.001)
    for s in conns:
        s.close()
    print("connections %d, requests %d, tx-writes %d, refused %d" % (len(conns), requests, writes, refused))
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
