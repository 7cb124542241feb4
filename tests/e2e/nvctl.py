#!/usr/bin/python3
"""Minimal client of the netvm control socket, for the end-to-end tests.

It speaks the same protocol as distribution/bin/netvm (org.netvm.control.internal.ControlProtocol:
request = u32 argc, then u32 length + UTF-8 per argument; response = frames u8 channel + u32 length +
bytes, channel 'o' stdout, 'e' stderr, 'x' exit status) without starting a JVM per call, so that a
test can issue hundreds of requests (100 vifs coming and going) in seconds.

  nvctl.py SOCKET ARG...            one request; relays stdout/stderr, exits with the agent's status
  nvctl.py SOCKET --batch N         requests from stdin, one per line, arguments separated by TABs,
                                    N at a time; prints "<status>\t<line number>\t<stderr/stdout>"
                                    per request (in completion order) and exits 0
"""
import socket
import struct
import sys
import threading


def call(path, args, timeout=120.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path)
        req = struct.pack(">I", len(args))
        for a in args:
            b = a.encode("utf-8")
            req += struct.pack(">I", len(b)) + b
        s.sendall(req)
        buf = b""
        out, err = b"", b""

        def need(n):
            nonlocal buf
            while len(buf) < n:
                chunk = s.recv(65536)
                if not chunk:
                    raise IOError("agent closed the connection without an exit status")
                buf += chunk
        while True:
            need(5)
            ch, ln = buf[0], struct.unpack(">I", buf[1:5])[0]
            need(5 + ln)
            payload, buf = buf[5:5 + ln], buf[5 + ln:]
            if ch == ord("o"):
                out += payload
            elif ch == ord("e"):
                err += payload
            elif ch == ord("x"):
                return struct.unpack(">i", payload)[0], out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
            else:
                raise IOError("bad frame channel %r" % ch)
    finally:
        s.close()


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    path = sys.argv[1]
    if sys.argv[2] == "--batch":
        width = int(sys.argv[3])
        lines = [l.rstrip("\n") for l in sys.stdin if l.strip()]
        lock = threading.Lock()
        todo = list(enumerate(lines, 1))

        def worker():
            while True:
                with lock:
                    if not todo:
                        return
                    n, line = todo.pop(0)
                try:
                    st, out, err = call(path, line.split("\t"))
                except (IOError, OSError) as e:
                    st, out, err = 3, "", str(e)
                text = (err.strip() or out.strip()).replace("\n", " | ")
                with lock:
                    print("%d\t%d\t%s" % (st, n, text), flush=True)
        threads = [threading.Thread(target=worker) for _ in range(max(1, width))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return 0
    try:
        st, out, err = call(path, sys.argv[2:])
    except (IOError, OSError) as e:
        print("nvctl: cannot reach the agent at %s: %s" % (path, e), file=sys.stderr)
        return 3
    sys.stdout.write(out)
    sys.stderr.write(err)
    return st


if __name__ == "__main__":
    sys.exit(main())
