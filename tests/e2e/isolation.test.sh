#!/bin/bash
# End-to-end: what a guest must not be able to do through (or to) the netvm.
#   - forged source addresses (raw IPv4 packets built by the test: another guest's address, an unused
#     guest address, the gateway, the netvm's uplink, the upstream itself, a public and the loopback
#     address, DNS1) never leave the netvm: counted at the upstream's prerouting hook = 0, while the
#     same raw packets with the guest's true source are counted there (so the method would see a leak);
#     also kernel-made packets from a secondary address (ping -I) and a spoofed DNS query;
#   - a guest's address arriving from the uplink is not let through to a guest;
#   - guest to guest: ping, TCP and UDP blocked both ways, counted at the receiving guest;
#   - the upstream cannot open connections to a guest;
#   - no port of the netvm answers a guest: TCP and UDP on 22 53 67 68 80 443 8080 9100 7777, with
#     listeners started on purpose in the netvm namespace on all of them (which do answer inside it),
#     probed at the gateway address and at the uplink address.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init isolation

setup_upstream || { fail "setup: upstream namespace" "see above"; e2e_finish; }
start_agent || { fail "setup: netvm runtime starts" "see above"; e2e_finish; }
log "netvm runtime ready in $AGENT_START_MS ms"
write_netvm_keys
for d in 1 2; do
    add_guest $d || { fail "setup: guest $d online" "vif$d.0 not online"; e2e_finish; }
done
G1=$(guest_ip 1)
G2=$(guest_ip 2)
N1=$(guest_ns 1)
N2=$(guest_ns 2)

# counters in guest 2: everything from guest 1, and udp to port 8001
ip netns exec "$N2" nft -f - <<NFT
table inet e2e {
  counter from_g1 { }
  chain pre {
    type filter hook prerouting priority -300; policy accept;
    ip saddr $G1 counter name "from_g1"
  }
}
NFT
guest_count() { ip netns exec "$1" nft list counter inet e2e "$2" | sed -n 's/.*packets \([0-9]*\).*/\1/p'; }
antispoof_drops() { ip netns exec "$NV" nft list chain inet netvm antispoof | sed -n 's/.*counter packets \([0-9]*\).*drop.*/\1/p' | head -1; }

# --- forged sources
legit_raw() {
    local before after sent
    before=$(upcount legit)
    sent=$(gexec 1 "${PKT[@]}" udp "$G1" 198.51.100.1 40000 20)
    wait_until 2 eval "[ \$(( \$(upcount legit) - $before )) -ge $sent ]"
    after=$(upcount legit)
    echo "raw packets with the true source: $sent sent, $((after - before)) counted upstream"
    [ "$((after - before))" -ge "$sent" ] && [ "$sent" -gt 0 ]
}
check_within 5 "raw UDP with the guest's own source reaches the upstream (method works)" legit_raw

spoofed_raw() {
    local before other_before drops_before after other_after drops_after src port=40001 total=0 n
    before=$(upcount spoofed)
    other_before=$(upcount other)
    drops_before=$(antispoof_drops)
    for src in "$G2" 10.137.0.99 $GW 198.51.100.2 198.51.100.1 8.8.8.8 127.0.0.1 $DNS1 10.137.0.0 255.255.255.255; do
        n=$(gexec 1 "${PKT[@]}" udp "$src" 198.51.100.1 $port 20) || { echo "could not send from $src"; return 1; }
        total=$((total + n))
        port=$((port + 1))
    done
    sleep 0.5
    after=$(upcount spoofed)
    other_after=$(upcount other)
    drops_after=$(antispoof_drops)
    echo "$total forged packets sent (10 sources), $((after - before)) reached the upstream, $((other_after - other_before)) foreign sources seen there, $((drops_after - drops_before)) dropped by the netvm's antispoof chain"
    [ "$after" = "$before" ] && [ "$other_after" = "$other_before" ]
}
check "forged source addresses from a guest never leave the netvm" spoofed_raw

spoofed_ping() {
    gexec 1 ip addr add 10.137.0.98/32 dev eth0 || return 1
    local before after lb la
    before=$(upcount pings)
    gexec 1 ping -c 3 -i 0.2 -W 1 -I 10.137.0.98 198.51.100.1 >/dev/null 2>&1
    after=$(upcount pings)
    gexec 1 ip addr del 10.137.0.98/32 dev eth0
    lb=$(upcount pings)
    gexec 1 ping -c 3 -i 0.2 -W 1 198.51.100.1 >/dev/null 2>&1
    la=$(upcount pings)
    echo "pings from a secondary address: $((after - before)) of 3 reached the upstream; from the true address: $((la - lb)) of 3"
    [ "$after" = "$before" ] && [ "$((la - lb))" -ge 3 ]
}
check "pings from a secondary (unassigned) address never leave; true address does" spoofed_ping

spoofed_dns() {
    local before after
    before=$(upcount dns)
    gexec 1 "${PKT[@]}" udp "$G2" $DNS1 53 10 >/dev/null
    gexec 1 "${PKT[@]}" udp 10.137.0.99 $DNS2 53 10 >/dev/null
    sleep 0.3
    after=$(upcount dns)
    echo "20 DNS packets with forged sources to DNS1/DNS2: $((after - before)) reached the upstream"
    [ "$after" = "$before" ]
}
check "DNS queries with forged sources are not translated and sent upstream" spoofed_dns

from_uplink() {
    ip -n "$UP" route replace 10.137.0.0/16 via 198.51.100.2 || return 1
    local before after
    before=$(guest_count "$N2" from_g1)
    ip netns exec "$UP" "${PKT[@]}" udp "$G1" "$G2" 8001 10 >/dev/null
    sleep 0.3
    after=$(guest_count "$N2" from_g1)
    echo "10 packets with guest 1's address injected on the uplink: $((after - before)) reached guest 2"
    [ "$after" = "$before" ]
}
check "a guest's address arriving from the uplink is not let through" from_uplink

# --- guest to guest
g2g() {
    local before after why=
    # a TCP and a UDP service in each guest, reachable from inside that guest
    gexec 2 "${PKT[@]}" listen 0.0.0.0 8000 > "$RUN/g2listen" 2>&1 &
    NT_PIDS+=($!)
    gexec 1 "${PKT[@]}" listen 0.0.0.0 8000 > "$RUN/g1listen" 2>&1 &
    NT_PIDS+=($!)
    wait_until 5 grep -q listening "$RUN/g2listen" "$RUN/g1listen" || { echo "guest listeners did not start"; return 1; }
    gexec 2 nc -z -w 1 127.0.0.1 8000 || { echo "control: guest 2's own listener does not answer locally"; return 1; }
    before=$(guest_count "$N2" from_g1)
    gexec 1 ping -c 2 -i 0.2 -W 1 "$G2" >/dev/null 2>&1 && why="$why ping 1->2 answered;"
    gexec 1 nc -z -w 1 "$G2" 8000 && why="$why tcp 1->2 connected;"
    [ "$(gexec 1 "${PKT[@]}" udp-probe "$G2" 8000)" = answer ] && why="$why udp 1->2 answered;"
    gexec 2 ping -c 2 -i 0.2 -W 1 "$G1" >/dev/null 2>&1 && why="$why ping 2->1 answered;"
    gexec 2 nc -z -w 1 "$G1" 8000 && why="$why tcp 2->1 connected;"
    [ "$(gexec 2 "${PKT[@]}" udp-probe "$G1" 8000)" = answer ] && why="$why udp 2->1 answered;"
    after=$(guest_count "$N2" from_g1)
    [ -z "$why" ] || { echo "$why"; return 1; }
    [ "$after" = "$before" ] || { echo "guest 2 received $((after - before)) packet(s) from guest 1"; return 1; }
    echo "ping, TCP and UDP blocked both ways; 0 packets from guest 1 arrived at guest 2"
}
check "guest to guest blocked (ping, TCP, UDP, both ways)" g2g

inbound() {
    local why=
    ip -n "$UP" route replace 10.137.0.0/16 via 198.51.100.2 || return 1
    ip netns exec "$UP" ping -c 2 -i 0.2 -W 1 "$G1" >/dev/null 2>&1 && why="$why ping answered;"
    ip netns exec "$UP" nc -z -w 1 "$G1" 8000 && why="$why tcp connected;"
    [ -z "$why" ] || { echo "$why"; return 1; }
    echo "ping and TCP from the upstream to guest 1 blocked"
}
check "the upstream cannot open connections to a guest" inbound

# --- ports of the netvm
PORTS="22 53 67 68 80 443 8080 9100 7777"
netvm_ports() {
    ip netns exec "$NV" "${PKT[@]}" listen 0.0.0.0 $PORTS > "$RUN/nvlisten" 2>&1 &
    NT_PIDS+=($!)
    wait_until 5 grep -q listening "$RUN/nvlisten" || { echo "netvm listeners did not start: $(cat "$RUN/nvlisten")"; return 1; }
    local p a r open= udp= silent=0 rejected=0
    # control: every listener answers inside the netvm namespace
    for p in $PORTS; do
        ip netns exec "$NV" nc -z -w 1 127.0.0.1 $p || { echo "control: tcp $p does not answer locally"; return 1; }
        [ "$(ip netns exec "$NV" "${PKT[@]}" udp-probe 127.0.0.1 $p)" = answer ] || { echo "control: udp $p does not answer locally"; return 1; }
    done
    for a in $GW 198.51.100.2; do
        for p in $PORTS; do
            gexec 1 nc -z -w 1 $a $p 2>/dev/null && open="$open tcp $a:$p;"
            r=$(gexec 1 "${PKT[@]}" udp-probe $a $p)
            case "$r" in
            answer) udp="$udp udp $a:$p;" ;;
            silent) silent=$((silent + 1)) ;;
            *) rejected=$((rejected + 1)) ;;
            esac
        done
    done
    [ -z "$open$udp" ] || { echo "answered a guest:$open$udp"; return 1; }
    echo "18 TCP ports closed; 18 UDP probes: $silent silent, $rejected rejected with ICMP, 0 answered (listeners answer locally)"
}
check "no port of the netvm answers a guest (TCP+UDP, listeners on purpose)" netvm_ports

e2e_finish
