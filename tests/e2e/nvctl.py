#!/usr/bin/python3
"""Client of the netvm control socket for the end-to-end tests (call() is distribution/bin/netvm-ctl's).

It speaks the same protocol as distribution/bin/netvm (org.netvm.cli.protocol.ControlProtocol:
request = u32 argc, then u32 length + UTF-8 per argument; response = frames u8 channel + u32 length +
bytes, channel 'o' stdout, 'e' stderr, 'x' exit status) without starting a JVM per call, so that a
test can issue hundreds of requests (100 vifs coming and going) in seconds.

  nvctl.py SOCKET ARG...            one request; relays stdout/stderr, exits with the agent's status
  nvctl.py SOCKET --batch N         requests from stdin, one per line, arguments separated by TABs,
                                    N at a time; prints "<status>\t<line number>\t<stderr/stdout>"
                                    per request (in completion order) and exits 0
"""
import sys
import threading


def _load_call():
    # the protocol lives in one place: the shipped client distribution/bin/netvm-ctl
    import importlib.machinery
    import importlib.util
    import os
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "distribution", "bin", "netvm-ctl")
    loader = importlib.machinery.SourceFileLoader("netvm_ctl", path)
    spec = importlib.util.spec_from_loader("netvm_ctl", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod.call


call = _load_call()


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
