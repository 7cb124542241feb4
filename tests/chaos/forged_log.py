#!/usr/bin/python3
"""Logs every forged datagram that reaches the upstream (tests/chaos/soak.sh), run inside its namespace.

  forged_log.py IFACE LOG_FILE STOP_FILE

Reads IFACE with a packet socket (so a datagram is seen whatever the upstream's routing and rp_filter
would do with it) and appends one line per IPv4 UDP datagram to ports 40001-40099:
  "<ms received> <source on the wire> <destination>:<port> <payload>"
where the payload of guests.py's forgeries is "forged D SRC SEQ MS" (sender, forged source, sequence,
time sent). Anything else there is not a forgery: e.g. a DNS answer meant for a guest whose
ephemeral port happens to lie in that range, sent back out of the netvm's uplink. Ends when STOP_FILE
exists.
"""
import os
import socket
import struct
import sys
import time

ETH_P_IP = 0x0800


def parse(frame):
    """(source, destination:port, payload) of a UDP datagram to ports 40001-40099 in a frame, else None."""
    if len(frame) < 14 + 20 + 8 or struct.unpack("!H", frame[12:14])[0] != ETH_P_IP:
        return None
    ip = frame[14:]
    hl = (ip[0] & 0x0F) * 4
    if ip[9] != 17 or len(ip) < hl + 8:
        return None
    dport = struct.unpack("!H", ip[hl + 2:hl + 4])[0]
    if not 40001 <= dport <= 40099:
        return None
    payload = ip[hl + 8:]
    text = payload.decode("ascii") if payload.startswith(b"forged ") else "not-forged (%d bytes)" % len(payload)
    return socket.inet_ntoa(ip[12:16]), "%s:%d" % (socket.inet_ntoa(ip[16:20]), dport), text


def main(iface, log_file, stop_file):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP))
    s.bind((iface, 0))
    s.settimeout(0.2)
    with open(log_file, "a", buffering=1) as log:
        while not os.path.exists(stop_file):
            try:
                frame, addr = s.recvfrom(4096)
            except socket.timeout:
                continue
            if addr[2] == socket.PACKET_OUTGOING:
                continue
            hit = parse(frame)
            if hit:
                log.write("%d %s %s %s\n" % ((time.time_ns() // 1000000,) + hit))


if __name__ == "__main__":
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    main(*sys.argv[1:])
