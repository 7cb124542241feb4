#!/bin/bash
# netvm sandbox: the main job on one machine, no Xen.
#
# Creates network namespaces for an upstream network with a real DNS server (dnsmasq), a netvm and N
# guests; starts the netvm runtime (embedded xenstored playing the toolstack's store), writes the
# keys a toolstack writes, brings the vifs online through the hotplug path, starts a guest runtime in
# each guest namespace, then checks the result with real traffic and prints a report. Everything it
# created is removed at the end, also when interrupted, unless --keep is given.
#
# usage: netvm sandbox [--guests N] [--chain] [--keep] [--backend nftables|iptables] [--swaps N]
#   --swaps N: switch the backend to the other one and back N times under load (default 1)
#   --chain:   upstream <- netvm <- proxy <- N guests (Qubes' sys-net <- sys-firewall <- AppVMs): the
#              proxy is a runtime in the proxy role, a guest of the netvm and the netvm of its guests;
#              the netvm keeps one guest of its own. Checks ping, DNS through both DNAT hops, isolation
#              at both levels, spoofing blocked at the proxy, the upstream nameserver changing.
set -uo pipefail

HERE=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
GUESTS=2
KEEP=0
BACKEND=nftables
SWAPS=1
CHAIN=0
while [ $# -gt 0 ]; do
    case "$1" in
    --guests) GUESTS=${2:?--guests needs a number}; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --chain) CHAIN=1; shift ;;
    --backend) BACKEND=${2:?--backend needs a name}; shift 2 ;;
    --swaps) SWAPS=${2:?--swaps needs a number}; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "sandbox: unknown option '$1'" >&2; exit 2 ;;
    esac
done
case "$GUESTS" in ''|*[!0-9]*) echo "sandbox: --guests needs a number 1..50" >&2; exit 2 ;; esac
[ "$GUESTS" -ge 1 ] && [ "$GUESTS" -le 50 ] || { echo "sandbox: --guests needs a number 1..50" >&2; exit 2; }
case "$SWAPS" in ''|*[!0-9]*) echo "sandbox: --swaps needs a number" >&2; exit 2 ;; esac
case "$BACKEND" in nftables|iptables) ;; *) echo "sandbox: --backend is nftables or iptables" >&2; exit 2 ;; esac

NAME=sandbox.test
NT_SUMMARY=${NT_SUMMARY:-sandbox} # tests/e2e/chain.test.sh: "e2e chain"
NT_CHECK_MS=1
NT_KEEP=$KEEP
AGENT_COMMANDS="xs vif backend"
. "$HERE/testlib.sh"
nt_init nvsb $$ dnsmasq dig ping nft conntrack
T0=$(now_ns)

say() { printf '%s\n' "$*"; }
ms() { ms_since "$1"; }

nt_kept() {
    say ""
    say "kept (--keep). Enter the namespaces with:"
    say "  ip netns exec $NV bash            # the netvm"
    [ "$CHAIN" = 0 ] || say "  ip netns exec $PX bash            # the proxy, guest $PROXY of the netvm (agent: $NETVM --control $PCTL help)"
    for d in $GUEST_IDS; do say "  ip netns exec $(guest_ns $d) bash   # guest $d ($(guest_ip $d))"; done
    say "  ip netns exec $UP bash            # the upstream (dnsmasq on 198.51.100.1, .3 and .5)"
    say "xenstore: XENSTORED_PATH=$XS xenstore-ls -f /local/domain"
    say "agent:    $NETVM --control $CTL help"
    say "remove everything: kill ${NT_PIDS[*]} $AGENT_PID; ip netns del ...; rm -rf $RUN /etc/netns/nvsb-*-$SUF"
}

if [ "$CHAIN" = 1 ]; then
    # domids: 1 the netvm's own guest, 2 the proxy, 3.. the proxy's guests
    GUEST_IDS="1 $(seq -s ' ' 3 $((GUESTS + 2)))"
    say "netvm sandbox --chain: 1 upstream, 1 netvm with 1 guest, 1 proxy with $GUESTS guest(s), backend $BACKEND"
else
    GUEST_IDS=$(seq -s ' ' 1 "$GUESTS")
    say "netvm sandbox: 1 upstream, 1 netvm, $GUESTS guest(s), backend $BACKEND"
fi
say ""
say "setting up"
# --- upstream: a router with three nameservers (dnsmasq), each answering sandbox.test with its own address
setup_upstream || { fail "setup: upstream namespace with dnsmasq" "see above"; nt_finish; }
say "  upstream $UP: 198.51.100.1, .3 and .5; dnsmasq answers sandbox.test = 203.0.113.1, .3, .5 (which upstream answered)"

# --- the netvm runtime, with the embedded xenstored
start_agent "$RUN/felix-netvm" || { fail "setup: the netvm runtime starts" "see above"; nt_finish; }
say "  netvm $NV: runtime ready in $AGENT_START_MS ms (log $RUN/netvm.log)"
if [ "$BACKEND" != nftables ]; then nvx backend use "$BACKEND" >/dev/null; fi

# --- the toolstack's keys: the netvm's own, then per guest (each with a guest runtime); in a chain the
# netvm's guest 1 is set up with ip as setup-ip does, then the proxy and its guests
write_netvm_keys
hotplug_status() { nvx xs read "$XSB/$1/0/hotplug-status" 2>&1; }
# online D [on_proxy]: guest D online with its guest runtime (of the netvm, or of the proxy), said or failed
online() {
    local d=$1
    shift
    if "$@" add_guest_runtime $d; then
        say "  vif$d.0 online in $VIF_ONLINE_MS ms: hotplug-status=$("$@" hotplug_status $d)"
    else
        fail "vif$d.0 online" "see above"
    fi
}
if [ "$CHAIN" = 1 ]; then
    add_guest 1 || fail "guest 1 of the netvm online" "see above"
    start_proxy 2 || { fail "setup: the proxy runtime starts and configures its uplink" "see above"; nt_finish; }
    say "  proxy $PX: runtime ready in $PROXY_START_MS ms (log $RUN/proxy.log), uplink $(ip -n "$PX" -4 -o addr show dev eth0 | awk '{print $4}')"
    for d in $(seq 3 $((GUESTS + 2))); do online $d on_proxy; done
else
    for d in $GUEST_IDS; do online $d; done
fi
for d in $GUEST_IDS; do
    ns=$(guest_ns $d)
    on=; [ "$CHAIN" = 1 ] && [ "$d" -ge 3 ] && on=on_proxy
    $on wait_until 10 vif_is_programmed $d || fail "vif$d.0 programmed" "10 s after online: $($on vif_programmed $d)"
    [ "$CHAIN" = 1 ] && [ "$d" = 1 ] || wait_until 30 guest_configured $d
    say "  guest $ns: $(ip -n "$ns" -4 -o addr show dev eth0 | awk '{print $4}'), $(ip -n "$ns" route | head -1 | sed 's/ proto 110//'), resolv.conf: $(grep -c nameserver "/etc/netns/$ns/resolv.conf") nameservers"
done

# --- the chain's checks (--chain): guest 1 belongs to the netvm, 3.. to the proxy (domid 2)
# proxy_uplink: what the proxy's guest component set: its address, default route, resolv.conf
proxy_uplink() {
    local a r ns
    a=$(ip -n "$PX" -4 -o addr show dev eth0 | awk '{print $4}')
    r=$(ip -n "$PX" route show default | sed 's/ proto [a-z0-9]*//')
    ns=$(sed -n 's/^nameserver //p' "/etc/netns/$PX/resolv.conf" | tr '\n' ' ')
    echo "eth0 $a, $r, resolv.conf: $ns"
    [ "$a" = "$(guest_ip $PROXY)/32" ] && [ "${r%% onlink*}" = "default via $GW dev eth0" ] && [ "$ns" = "$DNS1 $DNS2 " ]
}
# proxy_status: the proxy's one control socket answers `status` in-sync with every guest attached
proxy_status() {
    CTL=$PCTL nvx status --json | "$PY" -c 'import json, sys
s = json.load(sys.stdin); a = s["vifReconciler"]["attached"]
print("verdict %s, %d vif(s) attached, xenstore %s" % (s["verdict"], a, s["xenstore"]["address"]))
sys.exit(0 if s["verdict"] == "in-sync" and a == int(sys.argv[1]) else 1)' "$GUESTS"
}
# proxy_dnat: the proxy sends DNS1/DNS2 to its own nameservers, which are the netvm's DNS1/DNS2
proxy_dnat() {
    local c
    c=$(ip netns exec "$PX" nft list chain ip netvm-ip dnat-dns 2>&1)
    printf '%s\n' "$c" | grep -q "ip daddr $DNS1 udp dport 53 dnat to $DNS1" &&
        printf '%s\n' "$c" | grep -q "ip daddr $DNS2 udp dport 53 dnat to $DNS2" || { echo "the proxy's dnat-dns chain: $c"; return 1; }
    echo "in the proxy: $DNS1 -> $DNS1, $DNS2 -> $DNS2"
}
# unreachable D ADDR: guest D gets no answer from ADDR
unreachable() {
    ! gexec $1 ping -c 1 -W 1 "$2" >/dev/null 2>&1 || { echo "$2 answers"; return 1; }
    echo "no answer from $2"
}
antispoof_drops() { # NS: packets dropped by its anti-spoofing chain (nftables)
    ip netns exec "$1" nft list chain inet netvm antispoof | sed -n 's/.*counter packets \([0-9]*\).*drop.*/\1/p' | head -1
}
# chain_spoof: echo requests from a forged source in a proxy guest are dropped by the proxy (its
# anti-spoofing counter) and never reach the upstream; without it the proxy's masquerade would hide them
chain_spoof() {
    local g up px
    g=$(guest_ns 3)
    ip -n "$g" addr add 10.137.0.99/32 dev eth0
    up=$(upcount pings); px=$(antispoof_drops "$PX")
    [ -n "$up" ] && [ -n "$px" ] || { ip -n "$g" addr del 10.137.0.99/32 dev eth0; echo "cannot read the counters"; return 1; }
    ip netns exec "$g" ping -c 3 -i 0.2 -W 1 -I 10.137.0.99 198.51.100.1 >/dev/null 2>&1
    ip -n "$g" addr del 10.137.0.99/32 dev eth0
    up=$(( $(upcount pings) - up )); px=$(( $(antispoof_drops "$PX") - px ))
    echo "3 forged echo requests: $px packet(s) dropped by the proxy's anti-spoofing, $up reaching the upstream"
    [ "$up" = 0 ] && [ "$px" -ge 3 ]
}
# guest_component_roles: the guest component (it configures a VM's own uplink) works in the proxy and
# stays inactive in the netvm (its configuration is given only in the guest and proxy roles)
guest_component_roles() {
    local nv px
    nv=$(grep -c ' org\.netvm\.guest: ' "$RUN/netvm.log")
    px=$(grep -c ' org\.netvm\.guest: resolv\.conf: nameservers' "$RUN/proxy.log")
    echo "log lines of org.netvm.guest: $nv in the netvm, $px 'resolv.conf: nameservers' in the proxy"
    [ "$nv" = 0 ] && [ "$px" -ge 1 ]
}
chain_checks() {
    local d
    check "the proxy's uplink is set by its own guest component" proxy_uplink
    check "the guest component runs in the proxy role only" guest_component_roles
    check_within 10 "the proxy's one runtime reports in-sync with its $GUESTS guest(s)" proxy_status
    check_within 10 "guest 1 of the netvm pings the upstream" gexec 1 ping -c 1 -W 2 198.51.100.1
    for d in $(seq 3 $((GUESTS + 2))); do
        check_within 10 "proxy guest $d pings the upstream through the proxy and the netvm" gexec $d ping -c 1 -W 2 198.51.100.1
    done
    check_within 10 "the proxy's DNS DNAT points at its nameservers, the netvm's virtual DNS1/DNS2" proxy_dnat
    for d in $(seq 3 $((GUESTS + 2))); do
        check_within 10 "proxy guest $d resolves through DNS1, DNAT in the proxy then in the netvm" resolves $d 203.0.113.1 $DNS1
        check_within 10 "proxy guest $d resolves through DNS2, DNAT in the proxy then in the netvm" resolves $d 203.0.113.3 $DNS2
        check_within 10 "proxy guest $d resolves with its own resolv.conf (written by its guest role)" resolves $d 203.0.113.1
    done
    [ "$GUESTS" -lt 2 ] || check "proxy guest 3 cannot reach proxy guest 4 (isolation in the proxy)" unreachable 3 "$(guest_ip 4)"
    check "proxy guest 3 cannot reach guest 1 of the netvm (isolation in the netvm)" unreachable 3 "$(guest_ip 1)"
    check "guest 1 of the netvm cannot reach the proxy" unreachable 1 "$(guest_ip 2)"
    check "spoofed source from proxy guest 3 is dropped by the proxy (first hop), never reaching the upstream" chain_spoof
    check "no proxy port answers its guest (scan + a listener started on purpose)" closed "$(guest_ns 3)" "$(guest_ip 2)" "$PX"
    set_upstreams 198.51.100.5 198.51.100.3
    check_within 10 "the netvm's nameserver changes (resolv.conf): proxy guest 3's DNS1 answered by the new upstream" resolves 3 203.0.113.5 $DNS1
    check_within 10 "after the change proxy guest 3's DNS2 still answered by its upstream" resolves 3 203.0.113.3 $DNS2
    check "after the change the proxy still sends DNS1/DNS2 to the netvm's virtual DNS" proxy_dnat
}

say ""
say "checks"
pings() { upcount pings; }
# resolves D WANT [SERVER]: guest D's answer for sandbox.test (through SERVER, else its resolv.conf)
resolves() {
    local got
    got=$(gexec $1 dig +short +time=2 +tries=1 ${3:+@$3} $NAME 2>/dev/null | grep -E '^[0-9.]+$' | head -1)
    echo "answer ${got:-none}, want $2"
    [ "$got" = "$2" ]
}
# closed NS ADDR NETVM_NS: no TCP port of the netvm (NETVM_NS) answers at ADDR from guest namespace NS,
# also not a listener started there on purpose
closed() {
    local p
    for p in 22 53 80 443 8080 9100; do
        ip netns exec "$1" nc -z -w 1 "$2" $p 2>/dev/null && { echo "tcp port $p answers"; return 1; }
    done
    ip netns exec "$3" nc -l -p 7777 >/dev/null 2>&1 &
    local l=$!
    sleep 0.2
    ip netns exec "$1" nc -z -w 1 "$2" 7777 2>/dev/null && { kill $l; echo "a listener on 7777 answers"; return 1; }
    kill $l 2>/dev/null
    return 0
}
report() {
    say ""
    if [ "$NT_FAILED" = 0 ]; then
        say "sandbox: all $NT_PASSED checks passed in $(ms $T0) ms"
    else
        say "sandbox: $NT_FAILED check(s) FAILED (rerun with --keep to inspect)"
        for f in "$RUN"/*.log; do say "--- $f"; tail -15 "$f"; done
    fi
    nt_finish
}
[ "$CHAIN" = 0 ] || { chain_checks; report; }

# the agent programs asynchronously: each check may repeat for 10 s (a failed query proves nothing
# wrong happened, only that it did not happen yet)
for d in $(seq 1 "$GUESTS"); do
    check_within 10 "guest $d pings the upstream through the netvm" gexec $d ping -c 1 -W 2 198.51.100.1
    check_within 10 "guest $d resolves sandbox.test through DNS1 (10.139.1.1)" resolves $d 203.0.113.1 $DNS1
    check_within 10 "guest $d resolves sandbox.test through DNS2 (10.139.1.2)" resolves $d 203.0.113.3 $DNS2
    check_within 10 "guest $d resolves with its own resolv.conf (written by the guest role)" resolves $d 203.0.113.1
done
g1=$(guest_ns 1)
spoof() {
    ip -n "$g1" addr add 10.137.0.99/32 dev eth0
    local before after
    before=$(pings)
    [ -n "$before" ] || { echo "cannot read the upstream's echo-request counter"; return 1; }
    ip netns exec "$g1" ping -c 3 -i 0.2 -W 1 -I 10.137.0.99 198.51.100.1 >/dev/null 2>&1
    after=$(pings)
    ip -n "$g1" addr del 10.137.0.99/32 dev eth0
    echo "echo requests from a spoofed source reaching the upstream: $((after - before))"
    [ "$after" = "$before" ]
}
check "spoofed source from guest 1 never leaves the netvm (counted upstream)" spoof
if [ "$GUESTS" -ge 2 ]; then
    check "guest 1 cannot reach guest 2" bash -c "! ip netns exec $g1 ping -c 1 -W 1 $(guest_ip 2) >/dev/null && echo 'no answer'"
fi
check "no netvm port answers a guest (scan + a listener started on purpose)" closed "$g1" $GW "$NV"
swap() {
    # guest 1 queries DNS1 (through the DNAT rule) and sends packets from a spoofed source, both
    # continuously, while the backend is switched to the other one and back $SWAPS times
    local other=iptables; [ "$BACKEND" = iptables ] && other=nftables
    ip -n "$g1" addr add 10.137.0.99/32 dev eth0
    local before; before=$(pings)
    touch "$RUN/swap.run"
    ip netns exec "$g1" bash -c 'ok=0; bad=0; while [ -e "$1" ]; do
        if [ "$(dig +short +time=1 +tries=1 @10.139.1.1 sandbox.test)" = 203.0.113.1 ]; then ok=$((ok+1)); else bad=$((bad+1)); fi
        sleep 0.02; done; echo "$ok $bad"' _ "$RUN/swap.run" > "$RUN/swap.out" &
    local q=$!
    ip netns exec "$g1" ping -q -i 0.05 -W 1 -I 10.137.0.99 198.51.100.1 >/dev/null 2>&1 &
    local s=$!
    sleep 0.3
    local i t total=0 worst=0 d
    for i in $(seq 1 "$SWAPS"); do
        for b in "$other" "$BACKEND"; do
            t=$(date +%s%N)
            nvx backend use "$b" >/dev/null || { rm -f "$RUN/swap.run"; kill $s; echo "switch to $b failed"; return 1; }
            d=$(ms $t); total=$((total + d)); [ $d -gt $worst ] && worst=$d
        done
    done
    sleep 0.3
    rm -f "$RUN/swap.run"
    wait $q
    kill $s 2>/dev/null; wait $s 2>/dev/null
    local after; after=$(pings)
    ip -n "$g1" addr del 10.137.0.99/32 dev eth0
    read -r ok bad < "$RUN/swap.out"
    echo "$((2 * SWAPS)) switches (mean $((total / (2 * SWAPS))) ms, worst $worst ms); queries answered $ok, lost $bad; spoofed packets forwarded $((after - before))"
    [ "$bad" = 0 ] && [ "$after" = "$before" ] && [ "$ok" -gt 0 ]
}
check "backend switched $((2 * SWAPS)) times under DNS load and spoofing: nothing lost, nothing leaked" swap

report
