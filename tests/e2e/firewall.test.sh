#!/bin/bash
# End-to-end: the per-guest firewall (issue 10) with real traffic in namespaces.
#   - qubes-service/qubes-firewall=1; guest 1's rules written as the toolstack does (rules, then the
#     "done" write of qubes-firewall/1): allowed host/port passes, another host and port are rejected
#     and the guest sees ICMP admin-prohibited (EHOSTUNREACH / "Packet filtered") at once; an icmptype
#     rule; specialtarget=dns through DNS1, also right after a DNS change (the new server only enters the
#     firewall's DNS sets); the handled counter as the toolstack sees it;
#   - a rule change cuts a now-forbidden established flow while an allowed one continues;
#   - hostile rule text for guest 2 blocks only guest 2 (guest 1 keeps passing), with the reason logged
#     and in `netvm status` / `--json`;
#   - guest 3: a dsthost resolved by the upstream's dnsmasq (e2e.test), an expiring rule that disappears
#     live, and 20 backend swaps while it sends a forbidden and an allowed UDP packet every 10 ms (each a
#     new flow): the upstream counts 0 forbidden packets and every allowed one.
#   FW_BACKEND=iptables: the same checks with the iptables backend in charge.
#   - guest 4, an IPv6 guest (testlib's setup_upstream6/add_guest6): a dst6 accept rule lets its UDP reach
#     the upstream (counted there), a dst6 drop rule answers its ping with ICMPv6 admin-prohibited.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init firewall

setup_upstream || { fail "setup: upstream namespace" "see above"; e2e_finish; }
start_agent || { fail "setup: netvm runtime starts" "see above"; e2e_finish; }
# FW_BACKEND=iptables runs every check on the iptables backend (default: nftables); the swaps use both
if [ "${FW_BACKEND:-nftables}" != nftables ]; then
    nvx backend use "$FW_BACKEND" >/dev/null || { fail "setup: backend $FW_BACKEND" "refused"; e2e_finish; }
fi
write_netvm_keys
nvx xs write /local/domain/0/qubes-service/qubes-firewall 1 >/dev/null
for d in 1 2; do
    add_guest $d || { fail "setup: guest $d online" "vif$d.0 not online"; e2e_finish; }
done
for port in 8080 8081; do
    ip netns exec "$UP" socat -u TCP-LISTEN:$port,bind=198.51.100.1,fork,reuseaddr OPEN:"$RUN/s$port",creat,append &
    E2E_PIDS+=($!)
done
ip netns exec "$UP" socat -u TCP-LISTEN:8080,bind=198.51.100.3,fork,reuseaddr OPEN:/dev/null &
E2E_PIDS+=($!)
FW=/local/domain/0/qubes-firewall

# set_rules D POLICY RULE...: what the toolstack does: rules, then the "done" write
set_rules() {
    local d=$1 policy=$2 i=0 args=()
    shift 2
    nvx xs rm "$FW/$d" >/dev/null 2>&1
    args+=("$FW/$d/policy" "$policy")
    for r in "$@"; do args+=("$FW/$d/$(printf %04d $i)" "$r"); i=$((i + 1)); done
    nvx xs write "${args[@]}" >/dev/null && nvx xs write "$FW/$d" "" >/dev/null
}
handled() { nvx xs read /local/domain/0/qubes-firewall-handled/$1 2>/dev/null | tr -d '[:space:]'; }
tcp_try() { # D ADDR PORT -> "connected" | the error
    gexec "$1" timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1" && echo connected' "$2" "$3" 2>&1 | tail -1
}

set_rules 1 drop "action=accept proto=tcp dst4=198.51.100.1 dstports=8080-8081" \
    "action=accept specialtarget=dns" "action=accept proto=icmp icmptype=8 dst4=198.51.100.5"
set_rules 2 accept 'action=accept dsthost=$(reboot);x}{' "action=drop proto=tcp dstports=0-99999"

handled_counter() {
    wait_until 5 eval '[ "$(handled 1)" = 1 ] && [ "$(handled 2)" = 1 ]'
    echo "qubes-firewall-handled/1=$(handled 1), /2=$(handled 2)"
    [ "$(handled 1)" = 1 ] && [ "$(handled 2)" = 1 ]
}
check "the handled counter goes to 1 after the done signal (both guests)" handled_counter

allowed() { local r; r=$(tcp_try 1 198.51.100.1 8080); echo "$r"; [ "$r" = connected ]; }
check "allowed host/port passes (tcp 198.51.100.1:8080)" allowed
rejected_host() {
    local t r; t=$(now_ns); r=$(tcp_try 1 198.51.100.3 8080)
    echo "$r after $(ms_since $t) ms"; printf '%s' "$r" | grep -q "No route to host"
}
check "another host is rejected at once with ICMP admin-prohibited (EHOSTUNREACH)" rejected_host
rejected_port() { local r; r=$(tcp_try 1 198.51.100.1 9999); echo "$r"; printf '%s' "$r" | grep -q "No route to host"; }
check "another port is rejected (tcp 198.51.100.1:9999)" rejected_port
ping_filtered() {
    local out; out=$(gexec 1 ping -c1 -W2 198.51.100.1 2>&1)
    printf '%s\n' "$out" | grep -q "Packet filtered" && echo "ping 198.51.100.1: Packet filtered (ICMP type 3 code 13)"
}
check "ping to a host without an icmp rule: the guest sees ICMP admin-prohibited" ping_filtered
ping_allowed() { gexec 1 ping -c1 -W2 198.51.100.5 >/dev/null 2>&1 && echo "ping 198.51.100.5 answered"; }
check "icmptype=8 rule lets pings to 198.51.100.5 pass" ping_allowed
dns_ok() { local a; a=$(dig_short 1 $DNS1); echo "answer $a"; [ "$a" = 203.0.113.1 ]; }
check "specialtarget=dns: the guest's DNS1 answers" dns_ok
# a DNS change only changes the elements of the firewall's DNS sets: the guest's rule then lets it reach the
# new server (if the set kept the old one, the DNAT'd query would be rejected)
dns_moved() { local a; a=$(dig_short 1 $DNS1); echo "answer $a"; [ "$a" = 203.0.113.5 ]; }
set_upstreams 198.51.100.5  # not among the first servers (.1, .3)
check_within 5 "specialtarget=dns after a DNS change: DNS1 answers from the new server" dns_moved
set_upstreams 198.51.100.1 198.51.100.3
check_within 5 "... and from the first one again" dns_ok

hostile_blocked() {
    local r; r=$(tcp_try 2 198.51.100.1 8080)
    grep -q "firewall of domain 2" "$RUN/netvm.log" || { echo "no reason in the log"; return 1; }
    echo "guest 2: $r; log: $(grep -m1 'firewall of domain 2' "$RUN/netvm.log" | cut -c1-160)"
    printf '%s' "$r" | grep -q "No route to host"
}
check "hostile rule text blocks that guest, with the reason in the log" hostile_blocked
check "... and the other guest keeps passing" allowed

# flows: one to 8080 (to be forbidden), one to 8081 (stays allowed)
for port in 8080 8081; do
    gexec 1 bash -c 'exec 3<>"/dev/tcp/198.51.100.1/$0" || exit 1; while echo x >&3; do sleep 0.1; done' $port \
        >/dev/null 2>&1 &
    E2E_PIDS+=($!)
done
sleep 1
size() { stat -c %s "$RUN/s$1" 2>/dev/null || echo 0; }
cut_flow() {
    local a0 b0 a1 b1
    set_rules 1 drop "action=accept proto=tcp dst4=198.51.100.1 dstports=8081" "action=accept specialtarget=dns"
    wait_until 5 eval '[ "$(handled 1)" = 2 ]' || { echo "handled stayed $(handled 1)"; return 1; }
    sleep 1
    a0=$(size 8080); b0=$(size 8081); sleep 1.5; a1=$(size 8080); b1=$(size 8081)
    echo "after the change: 8080 flow +$((a1 - a0)) bytes, 8081 flow +$((b1 - b0)) bytes in 1.5 s"
    [ "$a1" = "$a0" ] && [ "$b1" -gt "$b0" ]
}
check "a rule change cuts the now-forbidden established flow, the allowed one continues" cut_flow

blocked_in_status() {
    local text json
    text=$(nvx status 2>&1); json=$(nvx status --json 2>&1)
    echo "$(printf '%s\n' "$text" | grep -m1 'firewall-blocked' | cut -c1-150)"
    grep -q 'firewall-blocked: 1 guest(s) blocked by the firewall: domain 2: ' <<< "$text" &&
        grep -q '"domid": *2' <<< "$json"
}
check "the blocked guest and its reason are in netvm status and --json" blocked_in_status

# guest 3: dsthost (dnsmasq at the first nameserver answers e2e.test with 203.0.113.1), an expiring rule
ip -n "$UP" addr add 203.0.113.1/32 dev lo
ip netns exec "$UP" socat -u TCP-LISTEN:8080,bind=203.0.113.1,fork,reuseaddr OPEN:/dev/null &
E2E_PIDS+=($!)
add_guest 3 || { fail "setup: guest 3 online" "vif3.0 not online"; e2e_finish; }
EXPIRE=$(( $(date +%s) + 5 ))
set_rules 3 drop "action=accept proto=tcp dsthost=$NAME dstports=8080" \
    "action=accept proto=udp dst4=198.51.100.1 dstports=40000" \
    "action=accept proto=tcp dst4=198.51.100.1 dstports=8081 expire=$EXPIRE"
dsthost() {
    local dns r
    wait_until 5 eval '[ "$(handled 3)" = 1 ]' || { echo "handled 3 = $(handled 3)"; return 1; }
    dns=$(nvx xs read /local/domain/0/qubes-firewall-dns/3/0000 2>&1); r=$(tcp_try 3 203.0.113.1 8080)
    echo "qubes-firewall-dns/3/0000=$dns; tcp 203.0.113.1:8080: $r"
    [ "$dns" = 203.0.113.1 ] && [ "$r" = connected ]
}
check "dsthost=$NAME is resolved by the upstream dnsmasq and allowed" dsthost
expiry() {
    local before after t
    before=$(tcp_try 3 198.51.100.1 8081)
    [ "$before" = connected ] || { echo "before expiry: $before"; return 1; }
    wait_until 10 eval '[ "$(date +%s)" -ge '$EXPIRE' ] && grep -q "No route to host" <<< "$(tcp_try 3 198.51.100.1 8081)"' ||
        { echo "still $(tcp_try 3 198.51.100.1 8081) at $(date +%s), expire $EXPIRE"; return 1; }
    t=$(date +%s%N)
    echo "connected before expire=$EXPIRE, rejected $(( (t / 1000000) - EXPIRE * 1000 )) ms after it"
}
check "a rule with expire a few seconds ahead disappears in the live run" expiry

# guest 4: IPv6, dst6 rules
setup_upstream6 || fail "setup: upstream IPv6" "see above"
toolstack_xs write $NV_HOME/qubes-netvm-gateway6 $GW6 >/dev/null || fail "setup: gateway6" "xs write failed"
add_guest6 4 || { fail "setup: IPv6 guest 4 online" "see above"; e2e_finish; }
set_rules 4 drop "action=accept proto=udp dst6=$UP6 dstports=40000" "action=drop proto=icmp dst6=$UP6/128"
dst6_allowed() {
    local before after
    wait_until 5 eval '[ "$(handled 4)" = 1 ]' || { echo "handled 4 = $(handled 4)"; return 1; }
    before=$(upcount legit)
    gexec 4 "$PY" -c '
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
for _ in range(10):
    s.sendto(b"netvm-e2e", (sys.argv[1], 40000))
' "$UP6" || return 1
    sleep 0.3
    after=$(upcount legit)
    echo "$((after - before)) of 10 datagrams to [$UP6]:40000 counted at the upstream"
    [ $((after - before)) = 10 ]
}
check "IPv6 guest: a dst6 accept rule lets udp to [$UP6]:40000 pass" dst6_allowed
dst6_dropped() {
    local out
    out=$(gexec 4 ping -6 -c1 -W2 "$UP6" 2>&1)
    printf '%s\n' "$out" | grep -m1 -i "unreachable" | cut -c1-120
    printf '%s' "$out" | grep -q "Administratively prohibited"
}
check "IPv6 guest: a dst6 drop rule answers ping -6 with ICMPv6 admin-prohibited" dst6_dropped

# 20 backend swaps while guest 3 sends a forbidden (udp 40050) and an allowed (udp 40000) packet every 10 ms
backend_is() { nvx backend | grep -q -e "^active: *$1 (in sync)"; }
swaps() {
    local legit0 bad0 legit1 bad1 sent i b out
    legit0=$(upcount legit); bad0=$(upcount spoofed)
    rm -f "$RUN/stop"
    gexec 3 "$PY" - "$RUN/stop" > "$RUN/sender.out" 2>&1 <<'PYTHON' &
import os, socket, sys, time
sent = 0
end = time.time() + 120
while time.time() < end and not os.path.exists(sys.argv[1]):
    for port in (40050, 40000):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # a new source port: a new flow each time
        try:
            s.sendto(b"x", ("198.51.100.1", port))
        except OSError:
            pass  # the forbidden one is rejected (ICMP admin-prohibited reported on the socket)
        s.close()
    sent += 1
    time.sleep(0.01)
print(sent)
PYTHON
    local sender=$!
    for i in $(seq 1 20); do
        if [ $((i % 2)) = 1 ]; then b=iptables; else b=nftables; fi
        out=$(nvx backend use $b 2>&1) || { echo "swap $i: $out"; touch "$RUN/stop"; wait $sender; return 1; }
        wait_until 20 backend_is $b || { echo "swap $i: $b not in sync"; touch "$RUN/stop"; wait $sender; return 1; }
    done
    sleep 0.5
    touch "$RUN/stop"; wait $sender
    sent=$(tail -1 "$RUN/sender.out")
    legit1=$(upcount legit); bad1=$(upcount spoofed)
    echo "20 swaps; $sent rounds sent; upstream counted forbidden +$((bad1 - bad0)), allowed +$((legit1 - legit0))"
    [ "$((bad1 - bad0))" = 0 ] && [ "$((legit1 - legit0))" = "$sent" ]
}
check "20 backend swaps: 0 forbidden packets reach the upstream, no allowed packet lost" swaps
e2e_finish
