#!/bin/bash
# netvm sandbox: the main job on one machine, no Xen.
#
# Creates network namespaces for an upstream network with a real DNS server (dnsmasq), a netvm and N
# guests; starts the netvm runtime (embedded xenstored playing the toolstack's store), writes the
# keys a toolstack writes, brings the vifs online through the hotplug path, starts a guest runtime in
# each guest namespace, then checks the result with real traffic and prints a report. Everything it
# created is removed at the end, also when interrupted, unless --keep is given.
#
# usage: netvm sandbox [--guests N] [--keep] [--backend nftables|iptables] [--swaps N]
#   --swaps N: switch the backend to the other one and back N times under load (default 1)
set -uo pipefail

HERE=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
GUESTS=2
KEEP=0
BACKEND=nftables
SWAPS=1
while [ $# -gt 0 ]; do
    case "$1" in
    --guests) GUESTS=${2:?--guests needs a number}; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --backend) BACKEND=${2:?--backend needs a name}; shift 2 ;;
    --swaps) SWAPS=${2:?--swaps needs a number}; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "sandbox: unknown option '$1'" >&2; exit 2 ;;
    esac
done
case "$GUESTS" in ''|*[!0-9]*) echo "sandbox: --guests needs a number 1..50" >&2; exit 2 ;; esac
[ "$GUESTS" -ge 1 ] && [ "$GUESTS" -le 50 ] || { echo "sandbox: --guests needs a number 1..50" >&2; exit 2; }
case "$SWAPS" in ''|*[!0-9]*) echo "sandbox: --swaps needs a number" >&2; exit 2 ;; esac
case "$BACKEND" in nftables|iptables) ;; *) echo "sandbox: --backend is nftables or iptables" >&2; exit 2 ;; esac

NAME=sandbox.test
NT_SUMMARY=sandbox
NT_CHECK_MS=1
NT_KEEP=$KEEP
AGENT_COMMANDS="xs vif backend"
. "$HERE/testlib.sh"
nt_init nvsb $$ dnsmasq dig ping nft
T0=$(now_ns)

say() { printf '%s\n' "$*"; }
ms() { ms_since "$1"; }

nt_kept() {
    say ""
    say "kept (--keep). Enter the namespaces with:"
    say "  ip netns exec $NV bash            # the netvm"
    for d in $(seq 1 "$GUESTS"); do say "  ip netns exec $(guest_ns $d) bash   # guest $d ($(guest_ip $d))"; done
    say "  ip netns exec $UP bash            # the upstream (dnsmasq on 198.51.100.1, .3 and .5)"
    say "xenstore: XENSTORED_PATH=$XS xenstore-ls -f /local/domain"
    say "agent:    $NETVM --control $CTL help"
    say "remove everything: kill ${NT_PIDS[*]} $AGENT_PID; ip netns del ...; rm -rf $RUN /etc/netns/nvsb-*-$SUF"
}

say "netvm sandbox: 1 upstream, 1 netvm, $GUESTS guest(s), backend $BACKEND"
say ""
say "setting up"
# --- upstream: a router with three nameservers (dnsmasq), each answering sandbox.test with its own address
setup_upstream || { fail "setup: upstream namespace with dnsmasq" "see above"; nt_finish; }
say "  upstream $UP: 198.51.100.1, .3 and .5; dnsmasq answers sandbox.test = 203.0.113.1, .3, .5 (which upstream answered)"

# --- the netvm runtime, with the embedded xenstored
start_agent "$RUN/felix-netvm" || { fail "setup: the netvm runtime starts" "see above"; nt_finish; }
say "  netvm $NV: runtime ready in $AGENT_START_MS ms (log $RUN/netvm.log)"
if [ "$BACKEND" != nftables ]; then nvx backend use "$BACKEND" >/dev/null; fi

# --- the toolstack's keys: the netvm's own, then per guest
write_netvm_keys
for d in $(seq 1 "$GUESTS"); do
    ns=$(guest_ns $d)
    ip netns add "$ns"; ip -n "$ns" link set lo up
    mkdir -p "/etc/netns/$ns"; : > "/etc/netns/$ns/resolv.conf"
    make_vif $d "$ns" eth0 down # the guest runtime brings it up
    write_guest_keys $d
    write_vif_keys $d
    nvx xs introduce "$d" >/dev/null
    t=$(now_ns)
    if vif_online_hotplug $d; then
        say "  vif$d.0 online in $(ms $t) ms: hotplug-status=$(nvx xs read $XSB/$d/0/hotplug-status)"
    else
        fail "vif$d.0 online" "$(nvx xs read $XSB/$d/0/hotplug-error 2>&1)"
    fi
    ip netns exec "$ns" env NETVM_STATE="$RUN/felix-g$d" "$NETVM" run --role guest \
        --xenstore "unix:$RUN/xenstored/domains/domain-$d.sock" --control "$RUN/guest$d.sock" \
        </dev/null >"$RUN/guest$d.log" 2>&1 &
    NT_PIDS+=($!)
done
guest_configured() { # D: the guest runtime set its address and wrote resolv.conf
    ip -n "$(guest_ns $1)" -4 addr show dev eth0 | grep -q "$(guest_ip $1)/32" && grep -q nameserver "/etc/netns/$(guest_ns $1)/resolv.conf"
}
for d in $(seq 1 "$GUESTS"); do
    ns=$(guest_ns $d)
    wait_until 10 vif_is_programmed $d || fail "vif$d.0 programmed" "10 s after online: $(vif_programmed $d)"
    wait_until 30 guest_configured $d
    say "  guest $ns: $(ip -n "$ns" -4 -o addr show dev eth0 | awk '{print $4}'), $(ip -n "$ns" route | head -1 | sed 's/ proto 110//'), resolv.conf: $(grep -c nameserver "/etc/netns/$ns/resolv.conf") nameservers"
done

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
closed() {
    local p
    for p in 22 53 80 443 8080 9100; do
        ip netns exec "$g1" nc -z -w 1 10.137.0.1 $p 2>/dev/null && { echo "tcp port $p answers"; return 1; }
    done
    ip netns exec "$NV" nc -l -p 7777 >/dev/null 2>&1 &
    local l=$!
    sleep 0.2
    ip netns exec "$g1" nc -z -w 1 10.137.0.1 7777 2>/dev/null && { kill $l; echo "a listener on 7777 answers"; return 1; }
    kill $l 2>/dev/null
    return 0
}
check "no netvm port answers a guest (scan + a listener started on purpose)" closed
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

say ""
if [ "$NT_FAILED" = 0 ]; then
    say "sandbox: all $NT_PASSED checks passed in $(ms $T0) ms"
else
    say "sandbox: $NT_FAILED check(s) FAILED (rerun with --keep to inspect)"
    for f in "$RUN"/*.log; do say "--- $f"; tail -15 "$f"; done
fi
nt_finish
