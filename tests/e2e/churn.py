#!/usr/bin/python3
"""Guests coming and going, as a Xen toolstack and its hotplug calls would make them (e2e tests).

  churn.py CONTROL NETVM_NS BULK_NS XENSTORED_SOCKET WORKERS < ops

ops, one per line:
  up D IP MAC     toolstack: veth vifD.0 (netvm ns, MAC fe:ff:ff:ff:ff:ff) <-> eth-D (bulk ns, MAC),
                  backend keys ip and mac in xenstore (xenstore-write, the real client); then the
                  hotplug call `vif online` over the agent's control socket
  down D          hotplug call `vif offline`; toolstack: delete the veth, xenstore-rm the backend dir
The toolstack steps never depend on the agent (it may be dead: the hotplug call then fails and is
reported). WORKERS ops run at a time. Prints per op, when done:
  <unix ns> <op> <D> <hotplug exit status> <hotplug ms> <message>
"""
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nvctl  # noqa: E402


def main():
    ctl, nv, bulk, xs_sock, workers = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
    env = dict(os.environ, XENSTORED_PATH=xs_sock)
    ops = [l.split() for l in sys.stdin if l.strip()]
    lock = threading.Lock()

    def run(*argv):
        r = subprocess.run(argv, env=env, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("%s: %s" % (" ".join(argv[:6]), r.stderr.strip()))

    def hotplug(cmd, d):
        t = time.monotonic()
        st, msg = hotplug_call(cmd, d)
        return st, "%d %s" % ((time.monotonic() - t) * 1000, msg)

    def hotplug_call(cmd, d):
        try:
            st, out, err = nvctl.call(ctl, ["vif", cmd, "--vif", "vif%s.0" % d, "--xenbus-path", "backend/vif/%s/0" % d],
                                      timeout=60)
            return st, (err or out).strip().replace("\n", " | ")
        except (IOError, OSError) as e:
            return 3, "agent not reached: %s" % e

    def do(op):
        kind, d = op[0], op[1]
        base = "/local/domain/0/backend/vif/%s/0" % d
        if kind == "up":
            ip, mac = op[2], op[3]
            run("ip", "link", "add", "vif%s.0" % d, "netns", nv, "type", "veth", "peer", "name", "eth-%s" % d,
                "netns", bulk)
            run("ip", "-n", nv, "link", "set", "vif%s.0" % d, "address", "fe:ff:ff:ff:ff:ff")
            run("ip", "-n", bulk, "link", "set", "eth-%s" % d, "address", mac, "up")
            run("xenstore-write", base + "/ip", ip, base + "/mac", mac)
            return hotplug("online", d)
        st, msg = hotplug("offline", d)
        run("ip", "-n", nv, "link", "del", "vif%s.0" % d)
        run("xenstore-rm", "/local/domain/0/backend/vif/%s" % d)
        return st, msg

    todo = list(ops)

    def worker():
        while True:
            with lock:
                if not todo:
                    return
                op = todo.pop(0)
            try:
                st, msg = do(op)
            except Exception as e:  # a toolstack step failed: reported, the test decides
                st, msg = 99, "0 toolstack step failed: %s" % e
            with lock:
                print("%d %s %s %d %s" % (time.time_ns(), op[0], op[1], st, msg), flush=True)

    threads = [threading.Thread(target=worker) for _ in range(max(1, workers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
