#!/usr/bin/env python3
"""Vif online latency, one guest at a time, with N guests already attached (used by vifs.sh).

Each mode first joins the namespace it measures (setns on /run/netns/NAME, once), so that every
hotplug call is what Xen's hotplug does in a netvm: one fork+exec of the script by a process already
in the netvm's (only) network namespace. For comparison some calls still go through the benchmark's
former wrapper, `ip netns exec NAME env ...` per call (the lines say "old wrapper").

  vifs.py netvm CTL NV PEERNS XS_SOCKET HOTPLUG FIRST COUNT
      COUNT new guests (domids FIRST..) through the agent: veth pair, keys (xenstore-write, as a
      toolstack), then the hotplug call, in turn: the whole hotplug script run directly
      (distribution/hotplug/vif-route-netvm, as Xen runs it; it asks the agent through its fast
      channel, FIFOs with shell builtins, and falls back to netvm-ctl), the agent's own part (the same
      `vif online` request over the control socket, no client start-up), the script through its
      fallback (NETVM_CONTROL names the socket under another name: no channel next to it), the script
      through the old wrapper, the native client (VIF_BENCH_NATIVE=PATH: vif-route-netvm.c as built, the
      same contract without an interpreter); after each script call the floors: `bash -c :` and
      `/bin/true` (an exec and nothing else) run directly, and
      `ip netns exec + env + bash -c :` (the old wrapper's floor). Then where one direct call's time
      goes (a few more guests, the script under `bash -x` with EPOCHREALTIME stamps: the shipped
      script unchanged) and the agent's per-step breakdown of all these requests (`netvm vif steps
      --each`: p50/p90/p99/max per step), for all requests and for those whose pass programmed the vif.
  vifs.py baseline NS PEERNS FIRST COUNT
      COUNT new guests through a shell script shaped like Qubes' vif-route-qubes: one bash per vif,
      then one process per step (sysctl by echo, conntrack -D twice, ip neigh, one nft for both
      anti-spoofing elements, ip link, ip route, ip addr), as the original does; every other call
      through the old wrapper.

Prints one line per mode: "<mode> n=COUNT p50=.. p90=.. p99=.. max=.. ms".
"""
import ctypes
import math
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import nvctl  # noqa: E402

GW = "10.137.0.1"
CLONE_NEWNET = 0x40000000
OLD = "old wrapper: ip netns exec + env + "


def guest_ip(d):
    return "10.%d.%d.%d" % (128 + d // 65536, d // 256 % 256, d % 256)


def guest_mac(d):
    return "00:16:3e:%02x:%02x:%02x" % (d // 65536, d // 256 % 256, d % 256)


def join_netns(ns):
    """This process (one thread) moves into the network namespace NS for good; its children start there."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open("/run/netns/" + ns, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns " + ns)
    finally:
        os.close(fd)


def run(*argv, env=None):
    r = subprocess.run(argv, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(argv[:8]), (r.stderr or r.stdout).strip()))
    return r.stdout


def timed(*argv, env=None):
    """Milliseconds of one call, fork+exec until it exited (fails on a non-zero exit)."""
    t = time.monotonic()
    run(*argv, env=env)
    return (time.monotonic() - t) * 1000


def pct(s, p):
    return s[min(len(s) - 1, int(round(p / 100.0 * (len(s) - 1))))]


def rank(s, p):
    """Nearest-rank percentile of sorted values (as the agent's own `vif steps` table)."""
    return s[max(0, min(len(s) - 1, math.ceil(p / 100.0 * len(s)) - 1))]


def stats(label, ms):
    s = sorted(ms)
    if not s:
        print("%s n=0" % label, flush=True)
        return
    print("%s n=%d p50=%.1f p90=%.1f p99=%.1f max=%.1f ms" % (label, len(s), pct(s, 50), pct(s, 90), pct(s, 99), s[-1]),
          flush=True)


def veth(ns, peerns, d):
    run("ip", "link", "add", "vif%d.0" % d, "netns", ns, "type", "veth", "peer", "name", "g%d" % d, "netns", peerns)
    run("ip", "-n", ns, "link", "set", "vif%d.0" % d, "address", "fe:ff:ff:ff:ff:ff")
    run("ip", "-n", peerns, "link", "set", "g%d" % d, "address", guest_mac(d), "up")


def new_guest(ns, peerns, env, d):
    base = "/local/domain/0/backend/vif/%d/0" % d
    veth(ns, peerns, d)
    run("xenstore-write", base + "/ip", guest_ip(d), base + "/mac", guest_mac(d), env=env)
    return base


def connected(env, base, d):
    st = run("xenstore-read", base + "/hotplug-status", env=env).strip()
    if st != "connected":
        raise RuntimeError("vif%d.0: hotplug-status %s" % (d, st))


def netvm(ctl, ns, peerns, xs, hotplug, first, count):
    join_netns(ns)
    env = dict(os.environ, XENSTORED_PATH=xs)
    # the same agent under another socket name: no fast channel next to it, so the script takes its
    # fallback (netvm-ctl over the control socket), the way every call went before the fast channel
    alias = os.path.join(os.path.dirname(ctl), "alias-" + os.path.basename(ctl))
    if not os.path.exists(alias):
        os.symlink(ctl, alias)
    script, agent, viactl, wrapped, floor, old_floor, before, native, true_floor = [], [], [], [], [], [], [], [], []
    # VIF_BENCH_HOTPLUG_BEFORE=PATH: another version of the script (e.g. the previous commit's) takes a
    # share of the direct calls, for an A/B of a script change in the same run
    other = os.environ.get("VIF_BENCH_HOTPLUG_BEFORE")
    # VIF_BENCH_NATIVE=PATH: the native client (distribution/hotplug/vif-route-netvm.c, built) takes a share
    client = os.environ.get("VIF_BENCH_NATIVE")
    kinds = ["script", "agent", "viactl", "wrapped"] + (["native"] if client else []) + (["before"] if other else [])
    for i in range(count):
        d = first + i
        base = new_guest(ns, peerns, env, d)
        call = dict(env, vif="vif%d.0" % d, XENBUS_PATH="backend/vif/%d/0" % d, NETVM_CONTROL=ctl)
        kind = kinds[i % len(kinds)]
        if kind == "script":  # the hotplug script, as Xen runs it in the netvm (fast channel)
            script.append(timed(hotplug, "online", env=call))
        elif kind == "agent":  # the agent's part only: the same request over the control socket
            t = time.monotonic()
            st, out, err = nvctl.call(ctl, ["vif", "online", "--vif", "vif%d.0" % d, "--xenbus-path",
                                            "backend/vif/%d/0" % d], timeout=60)
            agent.append((time.monotonic() - t) * 1000)
            if st != 0:
                raise RuntimeError("vif online vif%d.0: %s" % (d, (err or out).strip()))
        elif kind == "viactl":  # the script through its fallback
            viactl.append(timed(hotplug, "online", env=dict(call, NETVM_CONTROL=alias)))
        elif kind == "before":  # the other version of the script, directly (fast channel)
            before.append(timed(other, "online", env=call))
        elif kind == "native":  # the native client, directly (fast channel)
            native.append(timed(client, "online", env=call))
        else:  # the script through the benchmark's former wrapper (fast channel)
            wrapped.append(timed("ip", "netns", "exec", ns, "env", "vif=" + call["vif"],
                                 "XENBUS_PATH=" + call["XENBUS_PATH"], "NETVM_CONTROL=" + ctl, hotplug, "online", env=env))
        if kind != "agent":  # what a call costs before the script does anything: bash, directly and wrapped
            floor.append(timed("/bin/bash", "-c", ":", env=call))
            true_floor.append(timed("/bin/true", env=call))
            old_floor.append(timed("ip", "netns", "exec", ns, "env", "vif=" + call["vif"], "/bin/bash", "-c", ":"))
        connected(env, base, d)
    stats("netvm hotplug script (vif-route-netvm run directly -> the agent's fast channel, no client process)", script)
    stats("netvm hotplug script, fallback (vif-route-netvm run directly -> netvm-ctl -> control socket)", viactl)
    stats("netvm hotplug script, " + OLD + "vif-route-netvm -> fast channel", wrapped)
    if other:
        stats("netvm hotplug script BEFORE (%s run directly -> fast channel)" % other, before)
    if client:
        stats("netvm hotplug client (native vif-route-netvm run directly -> the agent's fast channel, no interpreter)", native)
    stats("netvm agent (vif online over the control socket)", agent)
    stats("floor: bash -c : run directly (no script)", floor)
    stats("floor: /bin/true run directly (an exec alone)", true_floor)
    stats("floor, " + OLD + "bash -c : (no script)", old_floor)
    trace(env, ns, peerns, ctl, hotplug, first + count, int(os.environ.get("VIF_BENCH_TRACE", "8")))
    steps(ctl)


def trace(env, ns, peerns, ctl, hotplug, first, count):
    """Where one direct call's time goes: the script under bash -x, each traced line stamped (EPOCHREALTIME)."""
    parts = {"start: fork+exec, bash up, script read": [], "script before the request": [],
             "request written -> reply read (the agent)": [], "script after the reply, exit": [], "whole call (traced)": []}
    for i in range(count):
        d = first + i
        base = new_guest(ns, peerns, env, d)
        call = dict(env, vif="vif%d.0" % d, XENBUS_PATH="backend/vif/%d/0" % d, NETVM_CONTROL=ctl)
        t0 = time.time()
        # (bash as root takes no PS4 from its environment: set here, the script sourced with its own $0)
        err = run_err("/bin/bash", "-c", 'PS4="+\\${EPOCHREALTIME} "; set -x; . "$0" "$@"', hotplug, "online", env=call)
        t1 = time.time()
        connected(env, base, d)
        if os.environ.get("VIF_BENCH_TRACE_KEEP"):  # the last call's trace, for reading
            with open(os.environ["VIF_BENCH_TRACE_KEEP"], "w") as f:
                f.write("%.6f spawn\n%s%.6f exited\n" % (t0, err, t1))
        stamps = []
        for line in err.splitlines():
            head = line.lstrip("+").split(" ", 1)
            try:
                stamps.append((float(head[0]), head[1] if len(head) > 1 else ""))
            except ValueError:
                continue
        # the request's printf is not traced (its stderr goes to /dev/null): the line after it is
        req = next((t for t, text in stamps if text.startswith("end=")), None)
        # the line after the read that returned the reply (xtrace stamps a line before it runs)
        rep = next((stamps[k + 1][0] for k in range(len(stamps) - 1)
                    if req is not None and stamps[k][0] >= req and stamps[k][1].startswith("read -r -t")), None)
        if not stamps or req is None or rep is None:
            print("script trace: could not find the request and reply lines in the trace", flush=True)
            print(err[:3000], file=sys.stderr, flush=True)
            return
        parts["start: fork+exec, bash up, script read"].append((stamps[0][0] - t0) * 1000)
        parts["script before the request"].append((req - stamps[0][0]) * 1000)
        parts["request written -> reply read (the agent)"].append((rep - req) * 1000)
        parts["script after the reply, exit"].append((t1 - rep) * 1000)
        parts["whole call (traced)"].append((t1 - t0) * 1000)
    for label, v in parts.items():
        if v:
            stats("script trace: " + label, v)
    if os.environ.get("VIF_BENCH_STRACE"):  # one more direct call under strace -f -tt (syscalls, processes)
        d = first + count
        base = new_guest(ns, peerns, env, d)
        run("strace", "-f", "-tt", "-o", os.environ["VIF_BENCH_STRACE"], hotplug, "online",
            env=dict(env, vif="vif%d.0" % d, XENBUS_PATH="backend/vif/%d/0" % d, NETVM_CONTROL=ctl))
        connected(env, base, d)


def run_err(*argv, env=None):
    r = subprocess.run(argv, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(argv[:8]), (r.stderr or r.stdout).strip()[-400:]))
    return r.stderr


def steps(ctl):
    """The agent's per-step table over all requests, then over those whose pass programmed the vif."""
    st, out, err = nvctl.call(ctl, ["vif", "steps", "--each"], timeout=60)
    lines = out.strip().splitlines() if st == 0 else []
    if not lines:
        print("agent steps: vif steps --each failed: " + (err or out).strip(), flush=True)
        return
    header = lines[0].split()
    rows = [dict(zip(header, line.split())) for line in lines[1:] if len(line.split()) == len(header)]
    # the step columns: those after "result" holding only numbers or "-" (not a column saying what the
    # request did, whatever its place)
    labels = [c for c in header[header.index("result") + 1:] if c not in FLAGS and all(number(r[c]) for r in rows)]
    programmed = [r for r in rows if did_program(r)]
    table("all hotplug requests", rows, labels)
    table("requests whose pass programmed the vif", programmed, labels)


FLAGS = ("how", "programmed", "work", "kind")


def number(v):
    try:
        float(v)
        return True
    except ValueError:
        return v == "-"


def did_program(row):
    """Whether this request's pass programmed its vif: the agent's how= column (planned: its pass planned
    the vif; joined: it came while a pass programmed it; answered/none: not), or another field saying so
    (programmed / work / kind), else whether its pass reached the plan (a request answered by the
    quick check of an already programmed vif does not)."""
    for key in FLAGS:
        v = row.get(key)
        if v is not None:
            v = v.split("=")[-1].lower()
            if v in ("yes", "true", "programmed", "program", "planned", "joined"):
                return True
            if v in ("no", "false", "none", "checked", "check", "answered", "-"):
                return False
            try:
                return float(v) > 0
            except ValueError:
                pass
    return row.get("plan", "-") != "-"


def table(title, rows, labels):
    print("agent steps: %s: %d; ms per step, each from the end of the previous one" % (title, len(rows)), flush=True)
    print("agent steps: %-15s %9s %9s %9s %9s" % ("step", "p50", "p90", "p99", "max"), flush=True)
    for label in labels:
        v = sorted(float(r[label]) for r in rows if r.get(label, "-") != "-")
        if v:
            print("agent steps: %-15s %9.3f %9.3f %9.3f %9.3f" % (label, rank(v, 50), rank(v, 90), rank(v, 99), v[-1]),
                  flush=True)
        else:
            print("agent steps: %-15s %9s %9s %9s %9s" % (label, "-", "-", "-", "-"), flush=True)


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
    join_netns(ns)
    direct, wrapped = [], []
    for i in range(count):
        d = first + i
        veth(ns, peerns, d)
        args = ("bash", "-c", BASELINE, "vif-route-qubes", "vif%d.0" % d, guest_ip(d), guest_mac(d),
                str(32752 - d % 32752), GW)
        if i % 2 == 0:
            direct.append(timed(*args))
        else:
            wrapped.append(timed("ip", "netns", "exec", ns, *args))
    stats("baseline (vif-route-qubes-shaped script run directly, a process per step)", direct)
    stats("baseline, old wrapper: ip netns exec + vif-route-qubes-shaped script", wrapped)


def main():
    if sys.argv[1] == "netvm":
        netvm(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6], int(sys.argv[7]), int(sys.argv[8]))
    else:
        baseline(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))


if __name__ == "__main__":
    main()
