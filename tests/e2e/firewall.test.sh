#!/bin/bash
# End-to-end: the per-guest firewall (issue 10) with real traffic in namespaces.
#   - qubes-service/qubes-firewall=1; guest 1's rules written as the toolstack does (rules, then the
#     "done" write of qubes-firewall/1): allowed host/port passes, another host and port are rejected
#     and the guest sees ICMP admin-prohibited (EHOSTUNREACH / "Packet filtered") at once; an icmptype
#     rule; specialtarget=dns through DNS1; the handled counter as the toolstack sees it;
#   - a rule change cuts a now-forbidden established flow while an allowed one continues;
#   - hostile rule text for guest 2 blocks only guest 2 (guest 1 keeps passing), with the reason logged.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init firewall

setup_upstream || { fail "setup: upstream namespace" "see above"; e2e_finish; }
start_agent || { fail "setup: netvm runtime starts" "see above"; e2e_finish; }
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
e2e_finish
