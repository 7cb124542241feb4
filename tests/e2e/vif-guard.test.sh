#!/bin/bash
# End-to-end: the vif guards of issue 15 (#3 duplicate addresses, #4 dangerous addresses, #6 orphan
# devices at start) and the vif side of issue 11 (#3 IPv6 per vif, #5 fidelity), through the real
# hotplug script, the real kernel and real traffic:
#   1. five orphan vif devices (no xenstore entry) exist before the agent starts: the first guest is
#      online within seconds (figure), the orphans are listed as pending, not programmed;
#   2. the vif of an IPv4-only guest has IPv6 disabled; an IPv6 guest's vif has it on, gateway6/128
#      and proxy_ndp;
#   3. a second vif with an online guest's IPv4 or IPv6 address is refused, hotplug-error names the
#      holder; packets it sends with that source never reach the upstream; the holder keeps working;
#   4. guest addresses that are the netvm's own (uplink router and address, gateway, gateway6, DNS1,
#      DNS2), class E, IPv6 link-local, an all-zero MAC and a missing MAC are refused, each with its
#      reason; the netvm still reaches its router;
#   5. an online guest whose address becomes the netvm's own (an address added to the uplink) is cut
#      off and reported, and comes back when the collision ends;
#   6. without qubes-netvm-gateway every vif fails saying so; with it back they are programmed again.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init vifguard

GW6=fd09:24ef:4179::a89:1
setup_upstream || { fail "setup: upstream namespace" "see above"; e2e_finish; }

# --- 1. orphan devices before the start (a device whose domain's xenstore entry is gone)
ip netns add "$BULK"
for d in 60 61 62 63 64; do
    ip link add "vif$d.0" netns "$NV" type veth peer name "o$d" netns "$BULK" ||
        { fail "setup: orphan vif$d.0" "ip link add failed"; e2e_finish; }
done
AGENT_T0=$(now_ns)
start_agent || { fail "setup: netvm runtime starts" "see above"; e2e_finish; }
write_netvm_keys
first_guest() {
    add_guest 1 || return 1
    local ms=$(ms_since $AGENT_T0)
    # before the fix the first pass waited 10 s (the dataplane timeout) per orphan: 50 s here
    [ $((ms - AGENT_START_MS)) -lt 10000 ] || { echo "guest 1 programmed $((ms - AGENT_START_MS)) ms after the agent was ready"; return 1; }
    echo "agent start to guest 1 programmed: $ms ms (agent ready after $AGENT_START_MS ms)"
}
check "issue 15 #6: five orphan vif devices do not stall the first guest" first_guest
orphans_listed() {
    local l
    l=$(nvx vif list)
    printf '%s\n' "$l" | grep '^vif60.0 ' | grep -w -e pending | grep -e 'without a xenstore entry' >/dev/null ||
        { echo "vif60.0 in vif list: $(printf '%s\n' "$l" | grep '^vif60.0 ')"; return 1; }
    ip -n "$NV" route show table all | grep -e 'dev vif6[0-4]\.0' && { echo "a route on an orphan"; return 1; }
    echo "orphans pending (no xenstore entry), nothing programmed on them"
}
check_within 5 "issue 15 #6: orphans are reported, not programmed" orphans_listed

good_guest() {
    gexec 1 ping -c 1 -W 1 198.51.100.1 >/dev/null || { echo "guest 1 cannot ping the upstream"; return 1; }
    [ "$(dig_short 1 $DNS1)" = 203.0.113.1 ] || { echo "guest 1 gets no DNS answer"; return 1; }
}
wait_until 15 good_guest >/dev/null || log "guest 1 does not work 15 s after online (the checks will show it)"

# --- 2. IPv6 per vif
sysctl6() { ip netns exec "$NV" cat "/proc/sys/net/ipv6/conf/$1/$2"; }
ipv4_only() {
    [ "$(sysctl6 vif1.0 disable_ipv6)" = 1 ] || { echo "disable_ipv6=$(sysctl6 vif1.0 disable_ipv6) on vif1.0"; return 1; }
    [ -z "$(ip -n "$NV" -6 addr show dev vif1.0)" ] || { echo "IPv6 addresses on vif1.0: $(ip -n "$NV" -6 addr show dev vif1.0 | tr -s '\n ' '  ')"; return 1; }
    echo "disable_ipv6=1, no IPv6 address on vif1.0"
}
check "issue 11 #3: the vif of an IPv4-only guest has IPv6 disabled" ipv4_only

nvx xs write /local/domain/0/qubes-netvm-gateway6 $GW6 >/dev/null
# guest D with IPv4 IP4 and IPv6 IP6 in its own namespace; online through the hotplug script
guest6() { # D IP4 IP6
    local d=$1 ns
    ns=$(guest_ns $d)
    ip netns add "$ns" && ip -n "$ns" link set lo up && make_vif $d "$ns" eth0 || return 1
    nvx xs write "$XSB/$d/0/ip" "$2 $3" "$XSB/$d/0/mac" "$(guest_mac $d)" >/dev/null
    vif_hotplug online $d >/dev/null 2>&1 || { echo "online failed: $(nvx xs read $XSB/$d/0/hotplug-error)"; return 1; }
}
ipv6_guest() {
    guest6 2 10.137.0.12 fd09:24ef:4179::a89:c || return 1
    [ "$(sysctl6 vif2.0 disable_ipv6)" = 0 ] || { echo "disable_ipv6=$(sysctl6 vif2.0 disable_ipv6)"; return 1; }
    [ "$(sysctl6 vif2.0 proxy_ndp)" = 1 ] || { echo "proxy_ndp=$(sysctl6 vif2.0 proxy_ndp)"; return 1; }
    ip -n "$NV" -6 addr show dev vif2.0 | grep -e "inet6 $GW6/128" >/dev/null || { echo "no $GW6/128 on vif2.0"; return 1; }
    ip -n "$NV" -6 route show fd09:24ef:4179::a89:c | grep -e 'dev vif2.0' >/dev/null || { echo "no IPv6 route"; return 1; }
    nv_ruleset | grep -F '"vif2.0" . fd09:24ef:4179::a89:c' >/dev/null || { echo "no allowed6 element"; return 1; }
    echo "disable_ipv6=0, proxy_ndp=1, $GW6/128, route and anti-spoof element"
}
check "issue 11 #3: an IPv6 guest's vif has IPv6, gateway6/128, proxy_ndp, its route and element" ipv6_guest

# --- 3 and 4. refused addresses
# refused D IP MAC|- WANT: vif D (its own namespace) with these keys; online must fail with WANT in
# hotplug-error, nothing of it in the kernel, guest 1 unharmed
refused() {
    local d=$1 ip=$2 mac=$3 want=$4 ns out rc err
    ns=$(guest_ns $d)
    ip netns add "$ns" && ip -n "$ns" link set lo up && make_vif $d "$ns" eth0 || { echo "cannot create vif$d.0"; return 1; }
    if [ "$mac" = - ]; then
        nvx xs write "$XSB/$d/0/ip" "$ip" >/dev/null
    else
        nvx xs write "$XSB/$d/0/ip" "$ip" "$XSB/$d/0/mac" "$mac" >/dev/null
    fi
    out=$(vif_hotplug online $d 2>&1)
    rc=$?
    [ $rc != 0 ] || { echo "online exited 0: $out"; return 1; }
    [ "$(nvx xs read "$XSB/$d/0/hotplug-status")" = error ] || { echo "hotplug-status $(nvx xs read "$XSB/$d/0/hotplug-status")"; return 1; }
    err=$(nvx xs read "$XSB/$d/0/hotplug-error")
    case "$err" in *"$want"*) ;; *) echo "hotplug-error '$err' does not say '$want'"; return 1 ;; esac
    sleep 0.3
    [ -z "$(ip -n "$NV" route show table all dev vif$d.0)" ] || { echo "route on vif$d.0"; return 1; }
    [ -z "$(ip -n "$NV" neigh show dev vif$d.0)" ] || { echo "neighbour on vif$d.0"; return 1; }
    ip -n "$NV" link show dev vif$d.0 | grep -e '[<,]UP[,>]' >/dev/null && { echo "vif$d.0 is up"; return 1; }
    nv_ruleset | grep -F "\"vif$d.0\"" >/dev/null && { echo "the ruleset names vif$d.0"; return 1; }
    good_guest || return 1
    echo "hotplug-error: $err"
}
G1=$(guest_ip 1)
check "issue 15 #3: a duplicate IPv4 address is refused, naming the holder" \
    refused 31 "$G1" "$(guest_mac 31)" "ip $G1 is already held by vif1.0 (online)"
# the refused guest sends with the duplicate source anyway: nothing of it reaches the upstream
dup_traffic() {
    local before after
    gexec 31 ip addr add "$G1/32" dev eth0 && gexec 31 ip route add default dev eth0 || return 1
    before=$(upcount spoofed)
    gexec 31 "${PKT[@]}" udp "$G1" 198.51.100.1 40001 50 0.01 >/dev/null || return 1
    sleep 0.5
    after=$(upcount spoofed)
    [ "$after" = "$before" ] || { echo "$((after - before)) of 50 packets with the duplicate source arrived"; return 1; }
    good_guest || return 1
    echo "0 of 50 packets from the refused vif arrived; guest 1 still works"
}
check "issue 15 #3: the refused duplicate cannot send with the holder's address" dup_traffic
check "issue 15 #3: a duplicate IPv6 address is refused, naming the holder" \
    refused 32 "10.137.0.32 fd09:24ef:4179::a89:c" "$(guest_mac 32)" "ip fd09:24ef:4179::a89:c is already held by vif2.0 (online)"

check "issue 15 #4: the uplink router's address is refused" refused 40 198.51.100.1 "$(guest_mac 40)" "is the netvm's router (via on up0)"
router_reachable() {
    ip netns exec "$NV" ping -c 1 -W 1 198.51.100.1 >/dev/null || { echo "the netvm cannot ping its router"; return 1; }
    echo "the netvm still reaches 198.51.100.1"
}
check "issue 15 #4: the netvm still reaches its router" router_reachable
check "issue 15 #4: the netvm's uplink address is refused" refused 41 198.51.100.2 "$(guest_mac 41)" "is the netvm's address on up0"
check "issue 15 #4: the gateway is refused" refused 42 $GW "$(guest_mac 42)" "is the netvm's gateway (qubes-netvm-gateway)"
check "issue 15 #4: DNS1 is refused" refused 43 $DNS1 "$(guest_mac 43)" "is DNS1 (qubes-netvm-primary-dns)"
check "issue 15 #4: DNS2 is refused" refused 44 $DNS2 "$(guest_mac 44)" "is DNS2 (qubes-netvm-secondary-dns)"
check "issue 15 #4: class E is refused" refused 45 240.0.0.45 "$(guest_mac 45)" "class E"
check "issue 15 #4: an IPv6 link-local guest address is refused" refused 46 "10.137.0.46 fe80::46" "$(guest_mac 46)" "link-local"
check "issue 15 #4: gateway6 as a guest address is refused" refused 47 "10.137.0.47 $GW6" "$(guest_mac 47)" "is the netvm's gateway6"
check "issue 15 #4: an all-zero MAC is refused" refused 48 10.137.0.48 00:00:00:00:00:00 "mac is all zeros"
check "issue 11 #5: a vif without mac fails (no default MAC)" refused 49 10.137.0.49 - "no mac in xenstore"

# --- 5. a collision that appears later: the uplink gets the guest's address
cut_off() {
    local ns=$(guest_ns 50)
    ip netns add "$ns" && ip -n "$ns" link set lo up && make_vif 50 "$ns" eth0 || return 1
    write_vif_keys 50 198.51.100.50
    vif_hotplug online 50 >/dev/null 2>&1 || { echo "vif50.0 online failed: $(nvx xs read $XSB/50/0/hotplug-error)"; return 1; }
    wait_until 5 vif_is_programmed 50 198.51.100.50 || { echo "vif50.0 not programmed: $(vif_programmed 50 198.51.100.50)"; return 1; }
    ip -n "$NV" addr add 198.51.100.50/32 dev up0 || return 1
    local t=$(now_ns)
    wait_until 15 eval "nvx vif list | grep '^vif50.0 ' | grep -e ' failed ' | grep -e \"is the netvm's address on up0\" >/dev/null" ||
        { echo "not reported 15 s after: $(nvx vif list | grep '^vif50.0 ')"; return 1; }
    local ms=$(ms_since $t)
    [ -z "$(ip -n "$NV" route show table all dev vif50.0)" ] || { echo "routes left on vif50.0"; return 1; }
    nv_ruleset | grep -F '"vif50.0"' >/dev/null && { echo "anti-spoof element left"; return 1; }
    good_guest || return 1
    echo "cut off and reported $ms ms after the uplink took its address"
}
check "issue 15 #4: an online guest whose address the uplink takes is cut off" cut_off
back_again() {
    ip -n "$NV" addr del 198.51.100.50/32 dev up0 || return 1
    wait_until 15 vif_is_programmed 50 198.51.100.50 || { echo "not programmed 15 s after: $(vif_programmed 50 198.51.100.50)"; return 1; }
    echo "programmed again"
}
check "issue 15 #4: it comes back when the collision ends" back_again

# --- 6. no gateway
no_gateway() {
    nvx xs rm /local/domain/0/qubes-netvm-gateway >/dev/null || return 1
    wait_until 10 eval "nvx vif list | grep '^vif1.0 ' | grep -e 'has no qubes-netvm-gateway' >/dev/null" ||
        { echo "vif1.0: $(nvx vif list | grep '^vif1.0 ')"; return 1; }
    local ns=$(guest_ns 51)
    ip netns add "$ns" && ip -n "$ns" link set lo up && make_vif 51 "$ns" eth0 || return 1
    write_vif_keys 51
    vif_hotplug online 51 >/dev/null 2>&1 && { echo "vif51.0 online succeeded without a gateway"; return 1; }
    case "$(nvx xs read $XSB/51/0/hotplug-error)" in *"has no qubes-netvm-gateway"*) ;; *) echo "hotplug-error: $(nvx xs read $XSB/51/0/hotplug-error)"; return 1 ;; esac
    echo "vif1.0 and the new vif51.0 say: the netvm has no qubes-netvm-gateway"
}
check "issue 11 #5: without qubes-netvm-gateway every vif says so" no_gateway
gateway_back() {
    write_netvm_keys
    wait_until 15 vif_is_programmed 1 || { echo "vif1.0: $(vif_programmed 1)"; return 1; }
    wait_until 10 good_guest >/dev/null || { echo "guest 1: $(good_guest)"; return 1; }
    echo "vif1.0 programmed again, guest 1 pings and resolves"
}
check "issue 11 #5: with the gateway back the vifs are programmed again" gateway_back

e2e_finish
