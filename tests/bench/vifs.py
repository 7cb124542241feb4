#!/usr/bin/env python3
"""Vif online latency, one guest at a time, with N guests already attached (used by vifs.sh).

  vifs.py netvm CTL NV PEERNS XS_SOCKET HOTPLUG FIRST COUNT
      COUNT new guests (domids FIRST..) through the agent: veth pair, keys (xenstore-write, as a
      toolstack), then the hotplug call, timed two ways: the whole hotplug script
      (distribution/hotplug/vif-route-netvm, as Xen's udev rule runs it; it asks the agent through its
      fast channel, FIFOs with shell builtins, and falls back to netvm-ctl), the script through its
      fallback (NETVM_CONTROL names the socket under another name: no channel next to it), the
      agent's own part (the same `vif online` request over the control socket, no client start-up),
      and the floor of every script call here (ip netns exec + env + an empty bash); then the agent's
      per-step breakdown of all these requests (`netvm vif steps`: p50/p90/p99/max per step).
  vifs.py baseline NS PEERNS FIRST COUNT
      COUNT new guests through a shell script shaped like Qubes' vif-route-qubes: one bash per vif,
      then one process per step (sysctl by echo, conntrack -D twice, ip neigh, one nft for both
      anti-spoofing elements, ip link, ip route, ip addr), as the original does.

Prints one line per mode: "<mode> n=COUNT p50=.. p90=.. p99=.. max=.. ms".
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import nvctl  # noqa: E402

GW = "10.137.0.1"


def guest_ip(d):
    return "10.%d.%d.%d" % (128 + d // 65536, d // 256 % 256, d % 256)


def guest_mac(d):
    return "00:16:3e:%02x:%02x:%02x" % (d // 65536, d // 256 % 256, d % 256)


def run(*argv, env=None):
    r = subprocess.run(argv, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(argv[:8]), (r.stderr or r.stdout).strip()))
    return r.stdout


def stats(label, ms):
    s = sorted(ms)

    def pct(p):
        return s[min(len(s) - 1, int(round(p / 100.0 * (len(s) - 1))))]

    print("%s n=%d p50=%.1f p90=%.1f p99=%.1f max=%.1f ms" % (label, len(s), pct(50), pct(90), pct(99), s[-1]),
          flush=True)


def veth(ns, peerns, d):
    run("ip", "link", "add", "vif%d.0" % d, "netns", ns, "type", "veth", "peer", "name", "g%d" % d, "netns", peerns)
    run("ip", "-n", ns, "link", "set", "vif%d.0" % d, "address", "fe:ff:ff:ff:ff:ff")
    run("ip", "-n", peerns, "link", "set", "g%d" % d, "address", guest_mac(d), "up")


def netvm(ctl, ns, peerns, xs, hotplug, first, count):
    env = dict(os.environ, XENSTORED_PATH=xs)
    # the same agent under another socket name: no fast channel next to it, so the script takes its
    # fallback (netvm-ctl over the control socket), the way every call went before the fast channel
    alias = os.path.join(os.path.dirname(ctl), "alias-" + os.path.basename(ctl))
    if not os.path.exists(alias):
        os.symlink(ctl, alias)
    script, agent, viactl, floor = [], [], [], []
    for i in range(count):
        d = first + i
        base = "/local/domain/0/backend/vif/%d/0" % d
        veth(ns, peerns, d)
        run("xenstore-write", base + "/ip", guest_ip(d), base + "/mac", guest_mac(d), env=env)
        if i % 3 != 1:  # the hotplug script, as Xen runs it (fast channel; every third call through the fallback)
            t = time.monotonic()
            run("ip", "netns", "exec", ns, "env", "vif=vif%d.0" % d, "XENBUS_PATH=backend/vif/%d/0" % d,
                "NETVM_CONTROL=" + (ctl if i % 3 == 0 else alias), hotplug, "online", env=env)
            (script if i % 3 == 0 else viactl).append((time.monotonic() - t) * 1000)
            # what the call costs before the script does anything: ip netns exec, env, bash
            t = time.monotonic()
            run("ip", "netns", "exec", ns, "env", "vif=vif%d.0" % d, "/bin/bash", "-c", ":")
            floor.append((time.monotonic() - t) * 1000)
        else:  # the agent's part only: the same request over the control socket
            t = time.monotonic()
            st, out, err = nvctl.call(ctl, ["vif", "online", "--vif", "vif%d.0" % d, "--xenbus-path",
                                            "backend/vif/%d/0" % d], timeout=60)
            agent.append((time.monotonic() - t) * 1000)
            if st != 0:
                raise RuntimeError("vif online vif%d.0: %s" % (d, (err or out).strip()))
        st = run("xenstore-read", base + "/hotplug-status", env=env).strip()
        if st != "connected":
            raise RuntimeError("vif%d.0: hotplug-status %s" % (d, st))
    stats("netvm hotplug script (ip netns exec + vif-route-netvm -> the agent's fast channel, no client process)", script)
    stats("netvm hotplug script, fallback (ip netns exec + vif-route-netvm -> netvm-ctl -> control socket)", viactl)
    stats("netvm agent (vif online over the control socket)", agent)
    stats("floor: ip netns exec + env + bash -c : (no script)", floor)
    # where the agent's time went: its per-step breakdown of these requests (both kinds)
    st, out, err = nvctl.call(ctl, ["vif", "steps"], timeout=60)
    for line in (out if st == 0 else "vif steps failed: " + err).strip().splitlines():
        print("agent steps: " + line, flush=True)


BASELINE = r'''
set -e
vif=$1 ip=$2 mac=$3 metric=$4 gw=$5
echo 1 > /proc/sys/net/ipv4/conf/$vif/proxy_arp
conntrack -D -s "$ip" >/dev/null 2>&1 || true
conntrack -D -d "$ip" >/dev/null 2>&1 || true
ip neigh replace "$ip" lladdr "$mac" dev "$vif" nud permanent
nft "add element ip qubes downstream { $ip }; add element ip qubes allowed { \"$vif\" . $ip }"
ip link set dev "$vif" group 2 up
ip route add "$ip" dev "$vif" metric "$metric"
ip addr add "$gw/32" dev "$vif"
'''


def baseline(ns, peerns, first, count):
    times = []
    for i in range(count):
        d = first + i
        veth(ns, peerns, d)
        t = time.monotonic()
        run("ip", "netns", "exec", ns, "bash", "-c", BASELINE, "vif-route-qubes", "vif%d.0" % d, guest_ip(d),
            guest_mac(d), str(32752 - d % 32752), GW)
        times.append((time.monotonic() - t) * 1000)
    stats("baseline (vif-route-qubes-shaped script, a process per step)", times)


def main():
    if sys.argv[1] == "netvm":
        netvm(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6], int(sys.argv[7]), int(sys.argv[8]))
    else:
        baseline(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))


if __name__ == "__main__":
    main()
