#!/usr/bin/python3
"""Traffic helpers for the end-to-end tests (run inside a namespace with `ip netns exec`).

  pkt.py udp SRC DST DPORT COUNT [INTERVAL]
      sends COUNT UDP datagrams to DST:DPORT with IPv4 source address SRC (forged or not) through a
      raw socket (IPPROTO_RAW: the header is ours, the kernel does not check the source), INTERVAL
      seconds apart (default 0); prints the number sent
  pkt.py udp-until SRC DST DPORT STOPFILE [INTERVAL]
      the same, until STOPFILE exists; prints the number sent
  pkt.py echo-server ADDR PORT
      TCP server echoing every line back, many connections (threads)
  pkt.py flow ADDR PORT LOG [INTERVAL]
      one long-lived TCP connection: sends "n\\n" every INTERVAL seconds (default 0.1) and expects it
      back; appends "<unix time ns> ok n" per round trip to LOG; on any error appends
      "<time> BROKEN <error>" and exits 1. Never reconnects: one socket from start to end.
  pkt.py udp-probe ADDR PORT
      sends one UDP datagram (connected socket) and waits 1 s; prints "answer" (data came back),
      "rejected (<error>)" (an ICMP error came back) or "silent"
  pkt.py listen ADDR PORT...
      TCP listeners (accept and close) and UDP echo servers on every PORT, in one process
"""
import os
import socket
import struct
import sys
import threading
import time


def checksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def udp_packet(src, dst, dport, payload, ident):
    s, d = socket.inet_aton(src), socket.inet_aton(dst)
    udp_len = 8 + len(payload)
    udp = struct.pack("!HHHH", 40000 + ident % 20000, dport, udp_len, 0) + payload
    pseudo = s + d + struct.pack("!BBH", 0, 17, udp_len)
    csum = checksum(pseudo + udp) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", csum) + udp[8:]
    total = 20 + udp_len
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, ident & 0xFFFF, 0, 64, 17, 0, s, d)
    hdr = hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:]
    return hdr + udp


def send_udp(src, dst, dport, count=None, interval=0.0, stopfile=None):
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    n = 0
    while True:
        if count is not None and n >= count:
            break
        if stopfile is not None and os.path.exists(stopfile):
            break
        sock.sendto(udp_packet(src, dst, dport, b"netvm-e2e %d" % n, n + 1), (dst, 0))
        n += 1
        if interval:
            time.sleep(interval)
    print(n)


def echo_server(addr, port):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((addr, port))
    srv.listen(16)

    def serve(c):
        with c:
            while True:
                data = c.recv(4096)
                if not data:
                    return
                c.sendall(data)
    while True:
        c, _ = srv.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


def flow(addr, port, log, interval):
    with open(log, "a", buffering=1) as f:
        try:
            c = socket.create_connection((addr, port), timeout=5)
            c.settimeout(5)
            f.write("%d connected %s\n" % (time.time_ns(), c.getsockname()))
            n = 0
            while True:
                n += 1
                msg = b"%d\n" % n
                c.sendall(msg)
                got = b""
                while not got.endswith(b"\n"):
                    chunk = c.recv(64)
                    if not chunk:
                        raise IOError("closed by peer")
                    got += chunk
                if got != msg:
                    raise IOError("wrong echo %r" % got)
                f.write("%d ok %d\n" % (time.time_ns(), n))
                time.sleep(interval)
        except Exception as e:  # any failure ends the flow: it must never happen
            f.write("%d BROKEN %s\n" % (time.time_ns(), e))
            return 1


def udp_probe(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1.0)
    s.connect((addr, port))  # connected: ICMP errors are reported to us
    try:
        s.send(b"netvm-e2e probe")
        s.recv(4096)
        print("answer")
    except socket.timeout:
        print("silent")
    except OSError as e:
        print("rejected (%s)" % e.strerror)


def listen(addr, ports):
    def tcp(srv):
        while True:
            c, _ = srv.accept()
            c.close()

    def udp(srv):
        while True:
            data, peer = srv.recvfrom(4096)
            srv.sendto(data, peer)
    threads = []
    for p in ports:
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        t.bind((addr, p))
        t.listen(8)
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind((addr, p))
        threads += [threading.Thread(target=tcp, args=(t,), daemon=True),
                    threading.Thread(target=udp, args=(u,), daemon=True)]
    for t in threads:
        t.start()
    print("listening", flush=True)
    while True:
        time.sleep(3600)


def main(a):
    if len(a) >= 5 and a[0] == "udp":
        send_udp(a[1], a[2], int(a[3]), count=int(a[4]), interval=float(a[5]) if len(a) > 5 else 0.0)
    elif len(a) >= 5 and a[0] == "udp-until":
        send_udp(a[1], a[2], int(a[3]), stopfile=a[4], interval=float(a[5]) if len(a) > 5 else 0.0)
    elif len(a) == 3 and a[0] == "echo-server":
        echo_server(a[1], int(a[2]))
    elif len(a) >= 4 and a[0] == "flow":
        return flow(a[1], int(a[2]), a[3], float(a[4]) if len(a) > 4 else 0.1)
    elif len(a) >= 3 and a[0] == "listen":
        listen(a[1], [int(p) for p in a[2:]])
    elif len(a) == 3 and a[0] == "udp-probe":
        udp_probe(a[1], int(a[2]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
