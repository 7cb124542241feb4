#!/bin/bash
# End-to-end: IPv6 as Qubes does it (issue 11 #3), real namespaces and real traffic.
#   - the upstream has 2001:db8:100::1/64, the netvm's uplink ::2; the netvm gets
#     qubes-netvm-gateway6 ($GW6), then two guests whose backend/vif/D/0/ip holds "IPv4 IPv6";
#   - with gateway6: IPv6 forwarding on, each guest pings the upstream over IPv6 (counted there);
#   - a guest sending with a forged IPv6 source (an address not its own, and the other guest's):
#     not one datagram reaches the upstream, while the same datagrams with its own source do;
#   - guest to guest over IPv6 is blocked (both directions), as over IPv4;
#   - qubes-netvm-gateway6 removed: IPv6 forwarding off, the policy's "drop all IPv6 but loopback"
#     rule in prerouting, ping6 fails and no echo request reaches the upstream; IPv4 unharmed;
#   - gateway6 back: IPv6 works again.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init ipv6

setup_upstream || { fail "setup: upstream namespace" "see above"; e2e_finish; }
setup_upstream6 || { fail "setup: upstream IPv6" "see above"; e2e_finish; }
start_agent || { fail "setup: netvm runtime starts" "see above"; e2e_finish; }
log "netvm runtime ready in $AGENT_START_MS ms"
write_netvm_keys
toolstack_xs write $NV_HOME/qubes-netvm-gateway6 $GW6 >/dev/null || { fail "setup: gateway6" "xs write failed"; e2e_finish; }
for d in 1 2; do
    add_guest6 $d || { fail "setup: IPv6 guest $d online" "see above"; e2e_finish; }
done
G1_6=$(guest_ip6 1)
G2_6=$(guest_ip6 2)

fwd6() { ip netns exec "$NV" cat /proc/sys/net/ipv6/conf/all/forwarding; }
# the policy's IPv6-disabled rule (Qubes: no gateway6): in prerouting, drops IPv6 not from lo
drop_all6() { nv_ruleset | grep -E 'iifname != "lo" .*ip6 saddr ::/0 .*drop' >/dev/null; }

ipv6_on() {
    [ "$(fwd6)" = 1 ] || { echo "net.ipv6.conf.all.forwarding=$(fwd6)"; return 1; }
    drop_all6 && { echo "the drop-all-IPv6 rule is in the ruleset"; return 1; }
    echo "net.ipv6.conf.all.forwarding=1, no drop-all-IPv6 rule"
}
check_within 10 "with qubes-netvm-gateway6: IPv6 forwarding on, IPv6 not dropped" ipv6_on

# ping6_up D: guest D pings the upstream over IPv6; the upstream counts the echo requests
ping6_up() {
    local before after out
    before=$(upcount6 pings6)
    out=$(gexec $1 ping -6 -c 2 -i 0.2 -W 2 $UP6 2>&1) || { echo "ping -6 failed: $(printf '%s' "$out" | tail -2)"; return 1; }
    after=$(upcount6 pings6)
    [ $((after - before)) -ge 2 ] || { echo "the upstream counted $((after - before)) echo requests"; return 1; }
    printf '%s\n' "$out" | sed -n 's/.*= [0-9.]*\/\([0-9.]*\)\/.*/rtt avg \1 ms, counted at the upstream/p'
}
for d in 1 2; do
    check_within 10 "guest $d pings the upstream over IPv6 ($(guest_ip6 $d) -> $UP6)" ping6_up $d
done

# send6 D SRC PORT N: N UDP datagrams from guest D with source SRC (added to its eth0 if not its own)
send6() {
    gexec $1 "$PY" -c '
import socket, sys
src, dst, port, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.bind((src, 0))
for _ in range(n):
    s.sendto(b"netvm-e2e", (dst, port))
' "$2" $UP6 "$3" "$4"
}
# forged D SRC: guest D sends 20 datagrams with source SRC; none may reach the upstream
forged() {
    local d=$1 src=$2 before after
    gexec $d ip -6 addr add "$src/128" dev eth0 nodad 2>/dev/null
    before=$(upcount spoofed)
    send6 $d "$src" 40001 20 || { echo "cannot send from $src"; return 1; }
    sleep 0.3
    after=$(upcount spoofed)
    gexec $d ip -6 addr del "$src/128" dev eth0 2>/dev/null
    [ "$after" = "$before" ] || { echo "$((after - before)) of 20 forged datagrams reached the upstream"; return 1; }
    echo "0 of 20 datagrams with source $src reached the upstream"
}
legit6() {
    local before after
    before=$(upcount legit)
    send6 1 "$G1_6" 40000 20 || return 1
    sleep 0.3
    after=$(upcount legit)
    [ $((after - before)) = 20 ] || { echo "$((after - before)) of 20 datagrams with its own source reached the upstream"; return 1; }
    echo "20 of 20 with source $G1_6 counted at the upstream"
}
check "control: guest 1's IPv6 datagrams with its own source reach the upstream" legit6
check "a forged IPv6 source (an address not guest 1's) is dropped" forged 1 fd09:24ef:4179::a89:99
check "guest 1 forging guest 2's IPv6 address is dropped" forged 1 "$G2_6"
check "a forged global IPv6 source is dropped" forged 1 2001:db8:666::1

# guest to guest over IPv6: blocked both ways (as over IPv4)
g2g6() {
    gexec 1 ping -6 -c 1 -W 1 "$G2_6" >/dev/null 2>&1 && { echo "guest 1 reaches guest 2 over IPv6"; return 1; }
    gexec 2 ping -6 -c 1 -W 1 "$G1_6" >/dev/null 2>&1 && { echo "guest 2 reaches guest 1 over IPv6"; return 1; }
    ping6_up 1 >/dev/null || { echo "control failed: guest 1 cannot reach the upstream over IPv6"; return 1; }
    echo "no echo reply either way; the upstream still answers"
}
check "guest to guest over IPv6 is blocked" g2g6

# --- gateway6 removed: no IPv6 forwarded any more
toolstack_xs rm $NV_HOME/qubes-netvm-gateway6 >/dev/null || fail "remove gateway6" "xs rm failed"
ipv6_off() {
    [ "$(fwd6)" = 0 ] || { echo "net.ipv6.conf.all.forwarding=$(fwd6)"; return 1; }
    drop_all6 || { echo "no drop-all-IPv6 rule in the ruleset"; return 1; }
    echo "net.ipv6.conf.all.forwarding=0, drop-all-IPv6 rule in prerouting"
}
check_within 10 "without qubes-netvm-gateway6: IPv6 forwarding off, all IPv6 but loopback dropped" ipv6_off
no_ipv6() {
    local d before after
    before=$(upcount6 pings6)
    for d in 1 2; do
        gexec $d ping -6 -c 2 -i 0.2 -W 1 $UP6 >/dev/null 2>&1 && { echo "guest $d still pings the upstream over IPv6"; return 1; }
    done
    after=$(upcount6 pings6)
    [ "$after" = "$before" ] || { echo "$((after - before)) IPv6 echo requests reached the upstream"; return 1; }
    gexec 1 ping -c 1 -W 2 198.51.100.1 >/dev/null || { echo "IPv4 broke too: guest 1 cannot ping 198.51.100.1"; return 1; }
    echo "ping -6 fails from both guests, 0 echo requests at the upstream; IPv4 still works"
}
check "without qubes-netvm-gateway6: no IPv6 forwarded" no_ipv6

# --- and back
toolstack_xs write $NV_HOME/qubes-netvm-gateway6 $GW6 >/dev/null || fail "gateway6 back" "xs write failed"
check_within 10 "qubes-netvm-gateway6 back: IPv6 forwarding on again" ipv6_on
check_within 10 "qubes-netvm-gateway6 back: guest 1 pings the upstream over IPv6 again" ping6_up 1

e2e_finish
