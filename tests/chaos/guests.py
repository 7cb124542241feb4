#!/usr/bin/python3
"""The guests' traffic of the chaos soak (tests/chaos/soak.sh), one process for every guest.

  guests.py GUESTS_FILE STATE_FILE STOP_FILE UPSTREAM DNS1 DNS2 NAME

GUESTS_FILE lists the online guests, one per line "D NAMESPACE IP ROLE" (ROLE: plain or forger);
it is re-read whenever it changes (guests come and go). For each guest the process opens its
sockets inside the guest's network namespace (setns, then back), so one process drives them all:
  - every PING_S seconds an ICMP echo request to UPSTREAM (identifier D); a reply is a success;
  - every DNS_S seconds a DNS query for NAME, alternately to DNS1 and DNS2; an answer is counted
    as answered, a query without an answer within 1 s as dropped (both are allowed);
  - forgers, every FORGE_S seconds: a UDP datagram to UPSTREAM port 40002 with a forged source
    (another guest's address, 10.99.0.D, the netvm's uplink address; the payload "forged D SRC SEQ MS"
    names the sender, the forged source and the time of sending), the same to another guest
    (port 41000), and with their own source: a UDP datagram and a ping to another guest.
Every 0.25 s it writes STATE_FILE (atomically): a line "now <ms>", one line per guest
"D <ms of each ping answered in the last 20 s>", and a line
"totals <pings sent> <pings answered> <dns sent> <dns answered> <forged sent> <guest-to-guest sent>".
Ends when STOP_FILE exists. Times are Unix milliseconds (the soak compares them with `date`).
"""
import ctypes
import os
import random
import select
import socket
import struct
import sys
import time

PING_S = 0.3
DNS_S = 1.0
FORGE_S = 0.5
KEEP_MS = 20000
CLONE_NEWNET = 0x40000000
LIBC = ctypes.CDLL(None, use_errno=True)


def now_ms():
    return time.time_ns() // 1000000


def checksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def echo_request(ident, seq):
    body = struct.pack("!BBHHH", 8, 0, 0, ident & 0xFFFF, seq & 0xFFFF) + b"soak"
    return body[:2] + struct.pack("!H", checksum(body)) + body[4:]


def forged_udp(src, dst, dport, ident, tag=""):
    s, d = socket.inet_aton(src), socket.inet_aton(dst)
    payload = ("forged " + tag).encode()
    udp_len = 8 + len(payload)
    udp = struct.pack("!HHHH", 40000 + ident % 1000, dport, udp_len, 0) + payload
    csum = checksum(s + d + struct.pack("!BBH", 0, 17, udp_len) + udp) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", csum) + udp[8:]
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, ident & 0xFFFF, 0, 64, 17, 0, s, d)
    return hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:] + udp


def dns_query(qid, name):
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + q + struct.pack("!HH", 1, 1)


class Guest:
    def __init__(self, d, ns, ip, role):
        self.d, self.ns, self.ip, self.role = d, ns, ip, role
        self.ok = []
        self.seq = 0
        self.next_ping = self.next_dns = self.next_forge = 0.0
        self.dns_pending = {}
        self.dns_turn = 0
        self.icmp = self.udp = self.raw = None

    def open(self, home):
        fd = os.open("/run/netns/" + self.ns, os.O_RDONLY)
        try:
            if LIBC.setns(fd, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns " + self.ns)
            self.icmp = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
            self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.udp.bind(("0.0.0.0", 0))
            if self.role == "forger":
                self.raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        finally:
            LIBC.setns(home, CLONE_NEWNET)
            os.close(fd)
        for s in (self.icmp, self.udp, self.raw):
            if s is not None:
                s.setblocking(False)

    def close(self):
        for s in (self.icmp, self.udp, self.raw):
            if s is not None:
                s.close()


class Engine:
    def __init__(self, argv):
        self.guests_file, self.state_file, self.stop_file = argv[0], argv[1], argv[2]
        self.upstream, self.dns = argv[3], (argv[4], argv[5])
        self.name = argv[6]
        self.home = os.open("/proc/self/ns/net", os.O_RDONLY)
        self.guests = {}
        self.mtime = None
        self.totals = [0] * 6  # pings sent, answered, dns sent, answered, forged sent, g2g sent

    def reload(self):
        try:
            m = os.stat(self.guests_file).st_mtime_ns
        except FileNotFoundError:
            return
        if m == self.mtime:
            return
        self.mtime = m
        wanted = {}
        with open(self.guests_file) as f:
            for line in f:
                p = line.split()
                if len(p) == 4:
                    wanted[int(p[0])] = p
        for d in [d for d in self.guests if d not in wanted or wanted[d][1] != self.guests[d].ns]:
            self.guests.pop(d).close()
        for d, p in wanted.items():
            if d not in self.guests:
                g = Guest(d, p[1], p[2], p[3])
                try:
                    g.open(self.home)
                except OSError as e:
                    print("guest %d: %s" % (d, e), file=sys.stderr)
                    g.close()
                    continue
                self.guests[d] = g

    def send(self, sock, data, addr, count):
        try:
            sock.sendto(data, addr)
            self.totals[count] += 1
        except OSError:
            pass  # no route while a vif is reprogrammed: the probe simply gets no answer

    def tick(self, g, t):
        if t >= g.next_ping:
            g.next_ping = t + PING_S
            g.seq += 1
            self.send(g.icmp, echo_request(g.d, g.seq), (self.upstream, 0), 0)
        if t >= g.next_dns:
            g.next_dns = t + DNS_S
            qid = random.randrange(65536)
            g.dns_pending[qid] = t
            g.dns_turn ^= 1
            self.send(g.udp, dns_query(qid, self.name), (self.dns[g.dns_turn], 53), 2)
            for q in [q for q, t0 in g.dns_pending.items() if t - t0 > 1.0]:
                del g.dns_pending[q]
        if g.raw is not None and t >= g.next_forge:
            g.next_forge = t + FORGE_S
            self.forge(g)

    def forge(self, g):
        others = [o for o in self.guests.values() if o.d != g.d]
        victim = random.choice(others) if others else None
        src = random.choice([victim.ip if victim else "10.99.0.1", "10.99.0.%d" % (g.d % 250 + 1), "198.51.100.2"])
        # the tag names the sender, the forged source and the time: the upstream's sniffer logs it
        tag = "%d %s %d %d" % (g.d, src, g.seq, now_ms())
        self.send(g.raw, forged_udp(src, self.upstream, 40002, g.seq, tag), (self.upstream, 0), 4)
        if victim is None:
            return
        self.send(g.raw, forged_udp(src if src != victim.ip else "10.99.0.1", victim.ip, 41000, g.seq),
                  (victim.ip, 0), 4)
        self.send(g.udp, b"hello neighbour", (victim.ip, 41000), 5)
        self.send(g.icmp, echo_request(g.d + 20000, g.seq), (victim.ip, 0), 5)

    def receive(self, sock, g):
        while True:
            try:
                data, addr = sock.recvfrom(2048)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            if sock is g.icmp:
                hl = (data[0] & 0x0F) * 4
                if len(data) >= hl + 8 and data[hl] == 0 and addr[0] == self.upstream:
                    ident = struct.unpack("!H", data[hl + 4:hl + 6])[0]
                    if ident == g.d & 0xFFFF:
                        self.totals[1] += 1
                        g.ok.append(now_ms())
            elif len(data) >= 12:
                qid, flags, _, ancount = struct.unpack("!HHHH", data[:8])
                if qid in g.dns_pending and ancount > 0:
                    del g.dns_pending[qid]
                    self.totals[3] += 1

    def write_state(self):
        t = now_ms()
        lines = ["now %d" % t]
        for d in sorted(self.guests):
            g = self.guests[d]
            g.ok = [x for x in g.ok if t - x < KEEP_MS]
            lines.append("%d %s" % (d, " ".join(str(x) for x in g.ok)))
        lines.append("totals " + " ".join(str(x) for x in self.totals))
        tmp = self.state_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.replace(tmp, self.state_file)

    def run(self):
        next_state = 0.0
        while not os.path.exists(self.stop_file):
            t = time.monotonic()
            self.reload()
            by_sock = {}
            for g in list(self.guests.values()):
                self.tick(g, t)
                by_sock[g.icmp] = g
                by_sock[g.udp] = g
            if t >= next_state:
                next_state = t + 0.25
                self.write_state()
            try:
                ready, _, _ = select.select(list(by_sock), [], [], 0.02)
            except (OSError, ValueError):
                continue
            for s in ready:
                self.receive(s, by_sock[s])
        self.write_state()


if __name__ == "__main__":
    if len(sys.argv) != 8:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    Engine(sys.argv[1:]).run()
