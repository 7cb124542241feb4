#!/usr/bin/env python3
"""The probe of tests/bench/churn.sh: one long-lived process that is told what to wait for and says when the
kernel announced it. Run it inside the namespace whose nf_tables events it should see.

It listens to the kernel's nf_tables multicast group (NETLINK_NETFILTER, NFNLGRP_NFTABLES: the events
`nft monitor` prints, sent when a transaction commits) and parses nothing but the netlink header, so range
elements of concatenations cannot trip it up (nft 1.0.6's monitor crashes on them). It never polls.

Lines on stdin, fields separated by tabs; answers on stdout:
  watch ID MSG HEX...   wait for the next event of type MSG (newrule, newsetelem) whose payload holds every
                        HEX byte string; answers "ok ID" once registered, later "seen ID T" (T: the event's
                        arrival, microseconds since the epoch, the clock of bash's EPOCHREALTIME)
  write SOCKET PATH VALUE [PATH VALUE...]
                        xenstore WRITEs on the Unix socket SOCKET (one connection kept per socket), sent
                        back to back; answers "wrote T0 T1" (before the first was sent, after the last
                        reply), or "error TEXT"
  stop                  ends
Lost events (the receive buffer overran) are counted and reported as "overruns N" on stop.
"""
import os
import select
import socket
import struct
import sys
import time

NETLINK_NETFILTER = 12
SOL_NETLINK = 270
NETLINK_ADD_MEMBERSHIP = 1
NFNLGRP_NFTABLES = 7
SO_RCVBUFFORCE = 33
NFNL_SUBSYS_NFTABLES = 10
MSG_TYPES = {"newrule": 6, "newsetelem": 12}
XS_WRITE = 11
XS_ERROR = 16


def now_us():
    return time.time_ns() // 1000


def out(*fields):
    sys.stdout.write("\t".join(str(f) for f in fields) + "\n")
    sys.stdout.flush()


def events_socket():
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 64 << 20)
    s.bind((0, 0))
    s.setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, NFNLGRP_NFTABLES)
    s.setblocking(False)
    return s


def messages(data):
    """(type, payload) of each netlink message in one datagram."""
    at = 0
    while at + 16 <= len(data):
        length, mtype = struct.unpack_from("=IH", data, at)
        if length < 16 or at + length > len(data):
            return
        yield mtype, data[at + 16:at + length]
        at += (length + 3) & ~3


class XenstoreWriter:
    def __init__(self):
        self.conns = {}
        self.req = 0

    def write(self, path, pairs):
        conn = self.conns.get(path)
        if conn is None:
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            conn.connect(path)
            self.conns[path] = conn
        t0 = now_us()
        for key, value in pairs:
            self.req += 1
            body = key.encode() + b"\0" + value.encode()
            conn.sendall(struct.pack("=IIII", XS_WRITE, self.req, 0, len(body)) + body)
        for _ in pairs:
            mtype, _, _, length = struct.unpack("=IIII", self.read(conn, 16))
            reply = self.read(conn, length)
            if mtype == XS_ERROR:
                raise OSError("xenstore: " + reply.rstrip(b"\0").decode(errors="replace"))
        return t0, now_us()

    @staticmethod
    def read(conn, n):
        buf = b""
        while len(buf) < n:
            chunk = conn.recv(n - len(buf))
            if not chunk:
                raise OSError("xenstore: connection closed")
            buf += chunk
        return buf


def main():
    nl = events_socket()
    watches = []  # (id, msg number, [bytes])
    writer = XenstoreWriter()
    overruns = 0
    stdin = sys.stdin.fileno()
    pending = b""
    while True:
        ready, _, _ = select.select([nl, stdin], [], [])
        if nl in ready:
            while True:
                try:
                    data = nl.recv(1 << 20)
                except BlockingIOError:
                    break
                except OSError:  # ENOBUFS: events were lost
                    overruns += 1
                    continue
                t = now_us()
                for mtype, payload in messages(data):
                    if mtype >> 8 != NFNL_SUBSYS_NFTABLES:
                        continue
                    for w in [w for w in watches if w[1] == mtype & 0xff and all(p in payload for p in w[2])]:
                        watches.remove(w)
                        out("seen", w[0], t)
        if stdin in ready:
            chunk = os.read(stdin, 65536)
            if not chunk:
                return
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                f = line.decode().split("\t")
                if f[0] == "watch":
                    watches.append((f[1], MSG_TYPES[f[2]], [bytes.fromhex(h) for h in f[3:]]))
                    out("ok", f[1])
                elif f[0] == "write":
                    try:
                        t0, t1 = writer.write(f[1], list(zip(f[2::2], f[3::2])))
                        out("wrote", t0, t1)
                    except OSError as e:
                        out("error", e)
                elif f[0] == "stop":
                    out("overruns", overruns)
                    return


if __name__ == "__main__":
    main()
