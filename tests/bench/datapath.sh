#!/bin/bash
# Data-path benchmark (issue 13, section 1): what a guest gets through the netvm, guest -> upstream, against
# the same veth topology with other rulesets, in namespaces this script creates and removes (the sandbox
# topology of distribution/sandbox/testlib.sh; nothing leaves them). Opt-in: not part of tests/run-all.sh.
#
#   netvm ns (the runtime, embedded xenstored)   guest 1 -- vif1.0 [nv: up0 198.51.100.2] -- upstream .1
#   router ns (a plain kernel router)            guest 1001 -- vif1001.0 [rt: up0 198.51.101.2] -- upstream 198.51.101.1
# Both routers hold 1 000 guests' anti-spoof elements and 20 firewall rules per guest (the measured guest's
# flow is accepted by its 20th rule; policy drop). In the netvm they come from the runtime: 999 more vifs
# (veth pairs, peers in a bulk namespace) with their xenstore keys, and qubes-firewall/<domid>/{policy,NNNN}
# written through xenstore as the toolstack does (the firewall bundle). Configurations, alternated in every round:
#   plain          the router ns with no rules at all (no conntrack either): the limit
#   plain-nat      the router ns with the least a NAT router needs: conntrack, `ct state established accept`
#                  and masquerade, nothing else: what connection tracking alone costs, the floor for any
#                  stateful firewall with NAT (netvm's and Qubes' included) when there is no flowtable
#   qubes          the router ns with Qubes' own ruleset loaded by hand: its anti-spoof and ipv4 tables, the
#                  qubes-firewall table (a jump per guest address, a chain of 20 rules each), and the
#                  qubes-nat-accel flowtable (if the kernel has flowtables)
#   netvm-nft      the runtime with the nftables backend (with its flowtable fast path when the kernel has one)
#   netvm-nft-nofp the same with the fast path's `flow add` rule removed by hand (only when there is one)
#   netvm-ipt      the runtime after `netvm backend use iptables`
# Each: TCP throughput with 1 and 4 streams (iperf3), UDP packet rate with 64-byte payloads (iperf3 -u -b 0,
# received packets per second), request/response latency (a 1-byte TCP ping-pong, netperf TCP_RR style,
# median and p99 round trip; Python on both ends, so its ~20-40 us of its own are in every figure).
# Prints medians over the rounds and ratios to plain routing; writes the run on top of tests/bench/datapath-latest.txt (earlier runs kept below).
#
# usage: sudo tests/bench/datapath.sh [ROUNDS (3)] [SECONDS per measurement (3)]
# Needs root, ip, nft, iptables, ipset, conntrack, dnsmasq, dig, python3, iperf3 (Debian: apt-get install -y
# iperf3; the script installs it if apt-get is there and it is missing), the runtime built (mvn install
# -DskipTests). Takes ~2 min of set-up and ~1 min per round. The machine's load is printed with the figures.
set -uo pipefail
ROUNDS=${1:-3}
SECS=${2:-3}
HERE=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
OUT=$HERE/datapath-latest.txt
. "$HERE/keep-earlier.sh"
. "$TOP/distribution/sandbox/testlib.sh"
NT_SUMMARY="datapath benchmark"
N=${DATAPATH_GUESTS:-1000}

if ! command -v iperf3 >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q iperf3 >/dev/null 2>&1 || true
fi
nt_init nvb "dp-$$" nft iptables ipset conntrack dnsmasq dig iperf3 python3
RT=nvb-rt-$SUF
RG=$(guest_ns 1001)
FW=$NV_HOME/qubes-firewall
log() { printf '  # %s\n' "$*" >&2; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

# ---------------------------------------------------------------------------------------------
# set-up

# guest D's 20 rules (qubes-firewall keys): the kinds users write; the upstream TARGET is accepted by the last
rules_xs() { # D TARGET -> "path value" pairs, one per line
    local d=$1 i
    printf '%s\n' "$FW/$d/policy" drop
    printf '%s\n' "$FW/$d/0000" "action=accept proto=tcp dst4=192.168.$((d % 250)).0/24 dstports=443" \
        "$FW/$d/0001" "action=accept proto=tcp dstports=8000-8080" "$FW/$d/0002" "action=accept specialtarget=dns" \
        "$FW/$d/0003" "action=accept proto=icmp icmptype=8" "$FW/$d/0004" "action=drop dst6=2001:db8::/32" \
        "$FW/$d/0005" "action=accept proto=udp dst4=10.20.$((d % 250)).1 dstports=123"
    for i in $(seq 6 18); do
        printf '%s\n' "$FW/$d/$(printf %04d "$i")" "action=accept proto=tcp dst4=172.16.$i.$((d % 250)) dstports=$((1000 + i))"
    done
    printf '%s\n' "$FW/$d/0019" "action=accept dst4=$2/32"
}

# the same 20 rules as Qubes' qubes-firewall renders them into chain qbs-<address> (IPv4 part)
rules_qubes() { # D TARGET
    local d=$1 i
    echo "ip daddr 192.168.$((d % 250)).0/24 tcp dport 443 accept"
    echo "tcp dport 8000-8080 accept"
    echo "ip daddr @dns-addr udp dport 53 accept"
    echo "ip daddr @dns-addr tcp dport 53 accept"
    echo "meta l4proto icmp icmp type 8 accept"
    echo "ip daddr 10.20.$((d % 250)).1 udp dport 123 accept"
    for i in $(seq 6 18); do echo "ip daddr 172.16.$i.$((d % 250)) tcp dport $((1000 + i)) accept"; done
    echo "ip daddr $2 accept"
    echo "drop"
}

# Qubes' ruleset for the router ns, written after qubes-antispoof.nft, qubes-ipv4.nft and qubes-firewall's
# nft tables (qubesagent/firewall.py), with N guests' elements and chains; vif1001.0 is the measured guest
qubes_ruleset() {
    local d ip
    echo "table ip qubes {"
    echo "  set downstream {"
    echo "    type ipv4_addr"
    printf '    elements = { %s }\n' "$(for d in $(seq 2 "$N") 1001; do guest_ip "$d"; done | paste -sd, | sed 's/,/, /g')"
    echo "  }"
    echo "  set allowed {"
    echo "    type ifname . ipv4_addr"
    printf '    elements = { %s }\n' "$(for d in $(seq 2 "$N") 1001; do printf '"vif%s.0" . %s\n' "$d" "$(guest_ip "$d")"; done | paste -sd, | sed 's/,/, /g')"
    echo "  }"
    cat <<'NFT'
  chain prerouting {
    type filter hook prerouting priority raw; policy accept;
    iifgroup 2 goto antispoof
    ip saddr @downstream counter drop
  }
  chain antispoof {
    iifname . ip saddr @allowed accept
    counter drop
  }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifgroup 2 accept
    oif lo accept
    masquerade
  }
  chain custom-input {
  }
  chain custom-forward {
  }
  chain input {
    type filter hook input priority filter; policy drop;
    jump custom-input
    ct state invalid counter drop
    iifgroup 2 meta l4proto udp udp dport 68 counter drop
    ct state related,established accept
    iifgroup 2 meta l4proto icmp accept
    iif lo accept
    iifgroup 2 counter reject with icmp type host-prohibited
    counter
  }
  chain forward {
    type filter hook forward priority filter; policy accept;
    jump custom-forward
    ct state invalid counter drop
    ct state related,established accept
    iifgroup != 2 counter drop
    oifgroup 2 counter drop
  }
}
table ip qubes-firewall {
  set dns-addr {
    type ipv4_addr
    elements = { 10.139.1.1, 10.139.1.2 }
  }
  chain prerouting {
    type filter hook prerouting priority -300; policy accept;
  }
  chain postrouting {
    type filter hook postrouting priority -300; policy accept;
  }
NFT
    for d in $(seq 2 "$N") 1001; do
        ip=$(guest_ip "$d")
        printf '  chain qbs-%s {\n' "${ip//./-}"
        rules_qubes "$d" 198.51.101.1 | sed 's/^/    /'
        echo "  }"
    done
    echo "  chain qubes-forward {"
    for d in $(seq 2 "$N") 1001; do ip=$(guest_ip "$d"); printf '    ip saddr %s jump qbs-%s\n' "$ip" "${ip//./-}"; done
    echo "  }"
    cat <<'NFT'
  chain forward {
    type filter hook forward priority 0; policy drop;
    ct state established,related accept
    meta iifname != "vif*" accept
    jump qubes-forward
  }
}
NFT
}

# qubes-nat-accel as vif-route-qubes loads it: a flowtable over every interface, flows of guests to the uplink
qubes_accel() {
    cat <<'NFT'
table inet qubes-nat-accel {
  flowtable qubes-accel {
    hook ingress priority filter
    devices = { "up0", "vif1001.0" }
  }
  chain qubes-accel {
    type filter hook forward priority filter + 5; policy accept;
    meta l4proto { tcp, udp } iifgroup 2 oifgroup 1 flow add @qubes-accel
    counter
  }
}
NFT
}

setup_router() { # the plain router ns and its guest, as vif-route-qubes and setup-ip leave them
    ip netns add "$RT" && ip netns add "$RG" || return 1
    ip -n "$RT" link set lo up; ip -n "$RG" link set lo up
    ip link add up0 netns "$RT" type veth peer name eth1 netns "$UP" || return 1
    ip -n "$UP" addr add 198.51.101.1/24 dev eth1; ip -n "$UP" link set eth1 up
    ip -n "$UP" route add 10.137.0.0/16 via 198.51.101.2 # plain routing has no NAT
    ip -n "$RT" addr add 198.51.101.2/24 dev up0; ip -n "$RT" link set up0 group 1 up
    ip -n "$RT" route add default via 198.51.101.1
    ip netns exec "$RT" sysctl -qw net.ipv4.ip_forward=1
    NV=$RT make_vif 1001 "$RG" eth0 || return 1
    ip -n "$RT" addr add $GW/32 dev vif1001.0
    ip -n "$RT" link set vif1001.0 group 2 up
    ip -n "$RT" route add "$(guest_ip 1001)" dev vif1001.0 metric 31751
    ip -n "$RT" neigh replace "$(guest_ip 1001)" dev vif1001.0 lladdr "$(guest_mac 1001)" nud permanent
    ip netns exec "$RT" sysctl -qw net/ipv4/conf/vif1001.0/proxy_arp=1
    setup_guest_side 1001 "$RG"
}

add_bulk_guests() { # vifs 2..N: veth pairs (peers in the bulk ns), their keys; the runtime programs them
    local d args=() batch
    ip netns add "$BULK" || return 1
    for d in $(seq 2 "$N"); do
        args+=("$XSB/$d/0/ip" "$(guest_ip "$d")" "$XSB/$d/0/mac" "$(guest_mac "$d")")
        if [ ${#args[@]} -ge 200 ]; then toolstack_xs write "${args[@]}" >/dev/null || return 1; args=(); fi
    done
    [ ${#args[@]} = 0 ] || toolstack_xs write "${args[@]}" >/dev/null || return 1
    batch=$RUN/bulk.batch
    for d in $(seq 2 "$N"); do echo "link add vif$d.0 address fe:ff:ff:ff:ff:ff type veth peer name g$d netns $BULK"; done > "$batch"
    ip -n "$NV" -batch "$batch" || return 1
    for d in $(seq 2 "$N"); do echo "link set g$d up"; done > "$batch"
    ip -n "$BULK" -batch "$batch"
}
programmed_count() { nvx vif list 2>/dev/null | grep -c ' programmed '; }

write_firewall() { # N guests' rules, then every "done" signal
    local d args=() line k
    for d in $(seq 1 "$N"); do
        while IFS= read -r k && IFS= read -r line; do args+=("$k" "$line"); done < <(rules_xs "$d" 198.51.100.1)
        if [ ${#args[@]} -ge 200 ]; then nvx xs write "${args[@]}" >/dev/null || return 1; args=(); fi
    done
    [ ${#args[@]} = 0 ] || nvx xs write "${args[@]}" >/dev/null || return 1
    args=()
    for d in $(seq 1 "$N"); do
        args+=("$FW/$d" "")
        if [ ${#args[@]} -ge 200 ]; then nvx xs write "${args[@]}" >/dev/null || return 1; args=(); fi
    done
    [ ${#args[@]} = 0 ] || nvx xs write "${args[@]}" >/dev/null
}
handled_count() { nvx xs ls "$NV_HOME/qubes-firewall-handled" 2>/dev/null | grep -c '= "[1-9][0-9]*"$'; }
# every guest's rules handled; the "done" signals of guests still waiting are written again now and then (a
# toolstack would time out and retry; with many guests at once, some signals are not acted on at once)
firewall_handled() {
    local t=$(now_ns) d args
    while [ "$(handled_count)" -lt "$N" ]; do
        [ "$(ms_since "$t")" -lt 600000 ] || return 1
        sleep 5
        [ "$(handled_count)" -lt "$N" ] || break
        args=()
        for d in $(comm -23 <(seq 1 "$N" | sort) <(nvx xs ls "$NV_HOME/qubes-firewall-handled" 2>/dev/null |
                sed -n 's|.*/\([0-9]*\) = .*|\1|p' | sort)); do
            args+=("$FW/$d" "")
            if [ ${#args[@]} -ge 200 ]; then nvx xs write "${args[@]}" >/dev/null; args=(); fi
        done
        [ ${#args[@]} = 0 ] || nvx xs write "${args[@]}" >/dev/null
        RESIGNALLED=$((RESIGNALLED + 1))
    done
}
RESIGNALLED=0
in_sync() { nvx backend | grep -q -e "^active: *$1 (in sync)"; }

# ---------------------------------------------------------------------------------------------
# measurements (printed as "name value")

cat > "$RUN/rr.py" <<'PY'
# 1-byte TCP request/response (netperf TCP_RR style): "server PORT" echoes; "client HOST PORT SECONDS"
# prints "transactions/s median_us p99_us"
import socket, sys, time
if sys.argv[1] == "server":
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", int(sys.argv[2]))); s.listen(8)
    while True:
        c, _ = s.accept(); c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while (b := c.recv(1)):
            c.sendall(b)
        c.close()
else:
    c = socket.create_connection((sys.argv[2], int(sys.argv[3]))); c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    end = time.perf_counter() + float(sys.argv[4]); rtt = []
    while (t := time.perf_counter()) < end:
        c.sendall(b"x"); c.recv(1); rtt.append(time.perf_counter() - t)
    rtt.sort()
    print("%.0f %.1f %.1f" % (len(rtt) / float(sys.argv[4]), rtt[len(rtt) // 2] * 1e6, rtt[int(len(rtt) * 0.99)] * 1e6))
PY

iperf_json() { # NS TARGET ARGS... -> the JSON of one iperf3 run
    local ns=$1 target=$2
    shift 2
    ip netns exec "$ns" timeout $((SECS + 15)) iperf3 -c "$target" -t "$SECS" -J "$@" 2>/dev/null
}
measure() { # NS TARGET: prints "tcp1 Gbit/s", "tcp4 Gbit/s", "udp kpps", "rr_us median", "rr_p99 us"
    local ns=$1 target=$2 j
    j=$(iperf_json "$ns" "$target")
    echo "tcp1 $(printf '%s' "$j" | python3 -c 'import json,sys; print("%.3f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9))' 2>/dev/null || echo nan)"
    j=$(iperf_json "$ns" "$target" -P 4)
    echo "tcp4 $(printf '%s' "$j" | python3 -c 'import json,sys; print("%.3f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9))' 2>/dev/null || echo nan)"
    j=$(iperf_json "$ns" "$target" -u -l 64 -b 0)
    echo "udp $(printf '%s' "$j" | python3 -c 'import json,sys; s=json.load(sys.stdin)["end"]["sum"]; print("%.1f" % ((s["packets"]-s["lost_packets"])/s["seconds"]/1e3))' 2>/dev/null || echo nan)"
    local rr
    rr=$(ip netns exec "$ns" timeout $((SECS + 10)) python3 "$RUN/rr.py" client "$target" 7007 "$SECS" 2>/dev/null)
    echo "rr $(echo "$rr" | awk '{print $2}')"
    echo "rr99 $(echo "$rr" | awk '{print $3}')"
}

# ---------------------------------------------------------------------------------------------
# the configurations

use_plain() { ip netns exec "$RT" nft flush ruleset; }
use_plain_nat() {
    ip netns exec "$RT" nft flush ruleset
    ip netns exec "$RT" nft -f - <<'NFT'
table ip natfloor {
  chain forward { type filter hook forward priority 0; policy accept; ct state established,related accept; }
  chain postrouting { type nat hook postrouting priority 100; oifname "up0" masquerade; }
}
NFT
}
use_qubes() {
    ip netns exec "$RT" nft flush ruleset
    ip netns exec "$RT" nft -f "$RUN/qubes.nft" || return 1
    [ "$QUBES_ACCEL" = 0 ] || ip netns exec "$RT" nft -f "$RUN/qubes-accel.nft"
}
use_nft() {
    in_sync nftables || nvx backend use nftables >/dev/null || return 1
    [ "$FASTPATH" = 0 ] || ip netns exec "$NV" nft list chain inet netvm-fastpath fastpath | grep -q 'flow add' ||
        ip netns exec "$NV" nft add rule inet netvm-fastpath fastpath ct state established meta l4proto '{ tcp, udp }' flow add @ft
}
use_nft_nofp() { use_nft && ip netns exec "$NV" nft flush chain inet netvm-fastpath fastpath; }
use_ipt() { in_sync iptables || nvx backend use iptables >/dev/null; }
clear_ct() { ip netns exec "$RT" conntrack -F 2>/dev/null; ip netns exec "$NV" conntrack -F 2>/dev/null; true; }

# ---------------------------------------------------------------------------------------------

t0=$(now_ns)
log "set-up: upstream, the netvm runtime, $N guests with 20 firewall rules each (load $(load))"
setup_upstream || nt_precondition "upstream namespace"
ip netns exec "$UP" iperf3 -s -D --pidfile "$RUN/iperf3.pid" >/dev/null 2>&1 || nt_precondition "iperf3 server"
ip netns exec "$UP" python3 "$RUN/rr.py" server 7007 </dev/null >/dev/null 2>&1 &
NT_PIDS+=($!)
start_agent || nt_precondition "the netvm runtime did not start"
write_netvm_keys
nvx xs write "$NV_HOME/qubes-service/qubes-firewall" 1 >/dev/null
add_guest 1 || nt_precondition "guest 1 online"
add_bulk_guests || nt_precondition "bulk guests"
wait_until 300 eval '[ "$(programmed_count)" -ge '"$N"' ]' || nt_precondition "only $(programmed_count) of $N vifs programmed"
log "$N vifs programmed after $(ms_since "$t0") ms; firewall rules..."
write_firewall || nt_precondition "writing the firewall keys"
firewall_handled || nt_precondition "the firewall handled only $(handled_count) of $N guests' rules"
log "firewall: $N guests handled $(ms_since "$t0") ms after the start (done signals written again $RESIGNALLED times)"
wait_until 120 in_sync nftables || nt_precondition "nftables not in sync"
setup_router || nt_precondition "router namespace"
qubes_ruleset > "$RUN/qubes.nft"
qubes_accel > "$RUN/qubes-accel.nft"
QUBES_ACCEL=1
if ! ip netns exec "$RT" nft -c -f "$RUN/qubes-accel.nft" >/dev/null 2>&1; then QUBES_ACCEL=0; fi
FASTPATH=0
ip netns exec "$NV" nft list table inet netvm-fastpath >/dev/null 2>&1 && FASTPATH=1
use_qubes || nt_precondition "Qubes' ruleset refused"
ip netns exec "$RG" ping -c1 -W2 198.51.101.1 >/dev/null || nt_precondition "the router's guest cannot reach the upstream"
gexec 1 ping -c1 -W2 198.51.100.1 >/dev/null || nt_precondition "guest 1 cannot reach the upstream through the netvm"
log "set-up done in $(ms_since "$t0") ms; nftables fast path: $([ $FASTPATH = 1 ] && echo on || echo 'absent (kernel without flowtables)'); qubes-nat-accel: $([ $QUBES_ACCEL = 1 ] && echo loaded || echo 'refused by this kernel')"

CONFIGS=(plain plain-nat qubes netvm-nft netvm-ipt)
[ $FASTPATH = 1 ] && CONFIGS+=(netvm-nft-nofp)
RES=$RUN/results
: > "$RES"
for r in $(seq 1 "$ROUNDS"); do
    n=${#CONFIGS[@]}
    for i in $(seq 0 $((n - 1))); do
        c=${CONFIGS[$(( (i + r - 1) % n ))]}
        case $c in
        plain) use_plain; ns=$RG target=198.51.101.1 ;;
        plain-nat) use_plain_nat || log "plain-nat ruleset refused"; ns=$RG target=198.51.101.1 ;;
        qubes) use_qubes; ns=$RG target=198.51.101.1 ;;
        netvm-nft) use_nft || log "nftables swap failed"; ns=$(guest_ns 1) target=198.51.100.1 ;;
        netvm-nft-nofp) use_nft_nofp || log "nftables swap failed"; ns=$(guest_ns 1) target=198.51.100.1 ;;
        netvm-ipt) use_ipt || log "iptables swap failed"; ns=$(guest_ns 1) target=198.51.100.1 ;;
        esac
        clear_ct
        measure "$ns" "$target" | sed "s/^/$c /" >> "$RES"
        log "round $r: $c done (load $(load))"
    done
    echo "load $(load)" >> "$RES"
done
use_nft >/dev/null 2>&1

report() {
    python3 - "$RES" "${CONFIGS[@]}" <<'PY'
import sys, statistics
res, configs = sys.argv[1], sys.argv[2:]
vals, loads = {}, []
for line in open(res):
    p = line.split()
    if p[0] == "load":
        loads.append(" ".join(p[1:])); continue
    try: vals.setdefault((p[0], p[1]), []).append(float(p[2]))
    except ValueError: pass
cols = [("tcp1", "TCP 1 stream Gbit/s", 1), ("tcp4", "TCP 4 streams Gbit/s", 1), ("udp", "UDP 64 B kpps", 1),
        ("rr", "TCP_RR median us", -1), ("rr99", "TCP_RR p99 us", -1)]
med = lambda c, k: statistics.median(vals[(c, k)]) if vals.get((c, k)) else float("nan")
print("medians over %d rounds (load after each round: %s)" % (len(loads), "; ".join(loads)))
print("%-16s" % "configuration" + "".join("%22s" % h for _, h, _ in cols))
for c in configs:
    print("%-16s" % c + "".join("%22.2f" % med(c, k) for k, _, _ in cols))
def ratios(base, title):
    print(title)
    for c in configs:
        row = ""
        for k, _, d in cols:
            p, v = med(base, k), med(c, k)
            row += "%22.3f" % ((v / p) if d > 0 else (p / v))
        print("%-16s" % c + row)
ratios("plain", "ratio to plain routing (throughput: higher is better; latency: plain/config, higher is better)")
if "plain-nat" in configs:
    ratios("plain-nat", "ratio to the stateful NAT floor, plain-nat (conntrack + masquerade only): what the rules themselves cost")
PY
}
{
    echo "# tests/bench/datapath.sh $ROUNDS $SECS  ($(date -u +%Y-%m-%dT%H:%MZ), $(git -C "$TOP" rev-parse --short HEAD 2>/dev/null || echo '?'), kernel $(uname -r), $(nproc) CPUs)"
    echo "netvm data-path benchmark: guest -> upstream, $N guests' anti-spoof elements, 20 firewall rules per guest, ${SECS} s per measurement"
    echo "nftables fast path (flowtable): $([ $FASTPATH = 1 ] && echo on || echo 'absent: this kernel has no nftables flowtables (CONFIG_NF_FLOW_TABLE not set)')"
    echo "qubes-nat-accel flowtable: $([ $QUBES_ACCEL = 1 ] && echo loaded || echo 'refused by this kernel (no flowtables): qubes measured without it')"
    report
} | tee "$OUT.new"
keep_earlier_runs "$OUT" # the new run on top, the earlier ones below
echo "written: $OUT"
