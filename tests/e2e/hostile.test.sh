#!/bin/bash
# End-to-end: hostile xenstore entries and interface names fail only their own vif.
# For each hostile vif (bad IP, MAC with shell characters, names outside ^vif\d+\.\d+$ including the
# uplink's, overlong values, domid 32753, a vif name that does not match its xenbus path), through
# the real hotplug script and CLI, the way Xen calls them:
#   - `vif-route-netvm online` exits non-zero (the bash script, then the native client when a C compiler
#     built it: each must write the failure again);
#   - hotplug-status = error and a hotplug-error text, read back with `netvm xs read`;
#   - nothing of it in the kernel: no IPv4 route, neighbour or address on its device, link not up,
#     proxy_arp untouched, no set element naming it or its address, no command injected;
#   - a good guest keeps working throughout (ping + DNS every 0.2 s in the background, and after
#     each case).
# Then a good vif goes offline through the hotplug script: every route, neighbour, address and set
# element it had is gone (also when the device disappeared before the offline call).
# Addresses a guest may not have (issue 15 #3/#4: the uplink router, DNS1, another guest's, class E,
# an all-zero MAC) are hostile cases too.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init hostile

setup_upstream || { fail "setup: upstream namespace" "see above"; e2e_finish; }
start_agent || { fail "setup: netvm runtime starts" "see above"; e2e_finish; }
log "netvm runtime ready in $AGENT_START_MS ms"
write_netvm_keys
native_hotplug "$RUN/native"
add_guest 1 || { fail "setup: good guest online" "vif1.0 not online"; e2e_finish; }
ip netns add "$BULK" # the guest ends of the hostile vifs (no traffic from them)
wait_until 15 eval '[ "$(dig_short 1 $DNS1)" = 203.0.113.1 ]' || log "guest 1 gets no DNS answer 15 s after online (the witness will show it)"

# --- the good guest, watched throughout: one line per probe, "ok" or "FAIL ..."
WITNESS=$RUN/witness.log
STOP=$RUN/witness.stop
(
    ns=$(guest_ns 1)
    while [ ! -e "$STOP" ]; do
        p=ok
        ip netns exec "$ns" ping -c 1 -W 1 198.51.100.1 >/dev/null 2>&1 || p="ping failed"
        a=$(ip netns exec "$ns" dig +short +time=1 +tries=1 @$DNS1 $NAME 2>/dev/null)
        [ "$a" = 203.0.113.1 ] || p="$p; dig answered '$a'"
        echo "$(date +%T.%N) $p"
        sleep 0.2
    done
) > "$WITNESS" 2>&1 &
NT_PIDS+=($!)

good_guest() {
    gexec 1 ping -c 1 -W 1 198.51.100.1 >/dev/null || { echo "ping failed"; return 1; }
    [ "$(dig_short 1 $DNS1)" = 203.0.113.1 ] || { echo "dig failed"; return 1; }
}

# what the uplink means, not text the kernel changes on its own (DAD's tentative flag, address
# lifetimes, the IPv6 local routes it adds when DAD ends): link flags, MTU and group; every address
# with its prefix; the IPv4 routes and the IPv6 routes not made by the kernel; proxy_arp
uplink_state() {
    ip -n "$NV" -d -o link show dev up0 | awk '{for (i = 1; i <= NF; i++) if ($i == "mtu" || $i == "group") printf "%s %s ", $i, $(i+1); print "flags", $3}'
    ip -n "$NV" -o addr show dev up0 | awk '{print "address", $3, $4}' | sort
    ip -n "$NV" -4 route show table all dev up0 | sort
    ip -n "$NV" -6 route show table all dev up0 | grep -v ' proto kernel ' | sed 's/ expires [0-9]*sec//' | sort
    echo "proxy_arp $(ip netns exec "$NV" cat /proc/sys/net/ipv4/conf/up0/proxy_arp)"
}
UPLINK_BEFORE=$(uplink_state)

# residue DEV [ADDR...]: prints what the kernel has for DEV (and for ADDR anywhere); empty = nothing.
# RESIDUE_LINK=0: only routes, neighbours, addresses and set elements (what offline must remove),
# not the link's state, group and proxy_arp (which a refused vif must not have touched either).
residue() {
    local dev=$1 a r
    shift
    if ip -n "$NV" link show dev "$dev" >/dev/null 2>&1 && [ "$dev" != up0 ]; then
        r=$(ip -n "$NV" -4 route show table all dev "$dev"); [ -n "$r" ] && echo "route on $dev: $r"
        r=$(ip -n "$NV" -4 neigh show dev "$dev"); [ -n "$r" ] && echo "neighbour on $dev: $r"
        r=$(ip -n "$NV" -4 addr show dev "$dev" | grep inet); [ -n "$r" ] && echo "address on $dev: $r"
        if [ "${RESIDUE_LINK:-1}" = 1 ]; then
            ip -n "$NV" link show dev "$dev" | grep -e '[<,]UP[,>]' >/dev/null && echo "$dev is up"
            r=$(ip -n "$NV" -d link show dev "$dev" | grep -o 'group [^ ]*'); [ "$r" = "group default" ] || [ -z "$r" ] || echo "$dev in $r"
            r=$(ip netns exec "$NV" cat /proc/sys/net/ipv4/conf/"$dev"/proxy_arp 2>/dev/null); [ "${r:-0}" = 0 ] || echo "proxy_arp=$r on $dev"
        fi
    fi
    nv_ruleset | grep -F "\"$dev\"" >/dev/null && echo "ruleset names $dev"
    for a in "$@"; do
        r=$(ip -n "$NV" route show table all | grep -F "$a"); [ -n "$r" ] && echo "route for $a: $r"
        r=$(ip -n "$NV" neigh show | grep -F "$a"); [ -n "$r" ] && echo "neighbour for $a: $r"
        nv_ruleset | grep -F "$a" >/dev/null && echo "ruleset has $a"
    done
}

# hostile LABEL D DEV XENBUS_DOMID IP MAC [ADDR_TO_LOOK_FOR...]: one case
hostile() {
    local label=$1 d=$2 dev=$3 xd=$4 ip=$5 mac=$6 out rc status err r
    shift 6
    if [ "$dev" != up0 ]; then
        ip link add "$dev" netns "$NV" type veth peer name "h$d" netns "$BULK" || { echo "cannot create $dev"; return 1; }
        ip -n "$NV" link set "$dev" address fe:ff:ff:ff:ff:ff
        ip -n "$BULK" link set "h$d" up
    fi
    nvx xs write "$XSB/$xd/0/ip" "$ip" "$XSB/$xd/0/mac" "$mac" >/dev/null || { echo "toolstack write refused"; return 1; }
    out=$(ip netns exec "$NV" env vif="$dev" XENBUS_PATH="backend/vif/$xd/0" NETVM_CONTROL="$CTL" \
        "$HOTPLUG" online 2>&1)
    rc=$?
    [ $rc != 0 ] || { echo "online exited 0: $out"; return 1; }
    status=$(netvm_cli xs read "$XSB/$xd/0/hotplug-status" 2>&1)
    err=$(netvm_cli xs read "$XSB/$xd/0/hotplug-error" 2>&1)
    [ "$status" = error ] || { echo "hotplug-status is '$status'"; return 1; }
    [ -n "$err" ] && [ "${err#xs read}" = "$err" ] || { echo "no hotplug-error: $err"; return 1; }
    if [ -n "${NATIVE_HOTPLUG:-}" ]; then # the same call through the native client, the failure written afresh
        nvx xs rm "$XSB/$xd/0/hotplug-status" >/dev/null 2>&1
        nvx xs rm "$XSB/$xd/0/hotplug-error" >/dev/null 2>&1
        out=$(ip netns exec "$NV" env vif="$dev" XENBUS_PATH="backend/vif/$xd/0" NETVM_CONTROL="$CTL" \
            "$NATIVE_HOTPLUG" online 2>&1)
        rc=$?
        [ $rc != 0 ] || { echo "native client: online exited 0: $out"; return 1; }
        status=$(nvx xs read "$XSB/$xd/0/hotplug-status" 2>&1)
        [ "$status" = error ] && [ -n "$(nvx xs read "$XSB/$xd/0/hotplug-error" 2>/dev/null)" ] ||
            { echo "native client: hotplug-status is $(printf %s "$status" | tr "\n" "|"), out $(printf %s "$out" | tr "\n" "|")"; return 1; }
    fi
    sleep 0.3 # a pass that would program it anyway would have run by now (coalesce 20 ms)
    r=$(residue "$dev" "$@")
    [ -z "$r" ] || { echo "in the kernel: $r"; return 1; }
    good_guest || { echo "the good guest broke"; return 1; }
    echo "exit $rc, hotplug-error: $err"
}

check "bad IP 10.137.0.256 fails only its vif" hostile ip 3 vif3.0 3 10.137.0.256 00:16:3e:5e:6c:03 10.137.0.256
check "MAC with shell characters fails only its vif, nothing injected" \
    hostile mac 4 vif4.0 4 10.137.0.44 "00:16:3e:5e:6c:00;touch $RUN/pwned;\$(touch $RUN/pwned2)" 10.137.0.44
check "nothing ran from the MAC's shell characters" bash -c "[ ! -e $RUN/pwned ] && [ ! -e $RUN/pwned2 ] && echo 'no file created'"
check "IP with shell characters fails only its vif" hostile ipsh 5 vif5.0 5 '10.137.0.45 $(reboot)' 00:16:3e:5e:6c:05 10.137.0.45
check "interface name vif6.0x (outside the pattern) is refused" hostile name 6 vif6.0x 6 10.137.0.46 00:16:3e:5e:6c:06 10.137.0.46
check "the uplink's name (up0) as a vif is refused, uplink untouched" \
    hostile uplink 7 up0 7 10.137.0.47 00:16:3e:5e:6c:07 10.137.0.47
uplink_same() {
    local now
    now=$(uplink_state)
    [ "$now" = "$UPLINK_BEFORE" ] || { echo "changed: $(diff <(echo "$UPLINK_BEFORE") <(echo "$now") | grep '^[<>]' | tr '\n' ' ')"; return 1; }
    echo "addresses, routes, link flags, group, proxy_arp as before"
}
check "uplink unchanged after the hostile up0 request" uplink_same
long=$(printf '1%.0s' $(seq 1 5000))
if nvx xs write "$XSB/8/0/ip" "$long" >/dev/null 2>&1; then
    check "overlong IP (5000 characters) fails only its vif" hostile long 8 vif8.0 8 "$long" 00:16:3e:5e:6c:08 10.137.0.48
else
    # the store refused it (xenstore values are at most 4096 bytes): the longest it takes
    long=$(printf '1%.0s' $(seq 1 4000))
    check "overlong IP (4000 characters; the store refuses 5000) fails only its vif" hostile long 8 vif8.0 8 "$long" 00:16:3e:5e:6c:08
fi
longmac=$(printf 'a%.0s' $(seq 1 4000))
check "overlong MAC (4000 characters) fails only its vif" hostile longmac 9 vif9.0 9 10.137.0.49 "$longmac" 10.137.0.49
check "domid 32753 (above 32752) is refused" hostile domid 32753 vif32753.0 32753 10.137.0.50 00:16:3e:5e:6c:0a 10.137.0.50
check "vif name not matching its xenbus path is refused" hostile mismatch 11 vif11.0 12 10.137.0.51 00:16:3e:5e:6c:0b 10.137.0.51
check "IPv4-mapped/hex-ish address 0x0a890033 is refused" hostile hexip 13 vif13.0 13 0x0a890033 00:16:3e:5e:6c:0d
check "multicast MAC 01:00:5e:00:00:01 is refused" hostile mcast 14 vif14.0 14 10.137.0.54 01:00:5e:00:00:01 10.137.0.54
# issue 15 #3/#4: addresses a guest may not have (the netvm's own, another online guest's)
check "issue 15 #4: a guest IP equal to the uplink router 198.51.100.1 is refused" \
    hostile router 15 vif15.0 15 198.51.100.1 00:16:3e:5e:6c:0f
check "issue 15 #4: class E 240.0.0.16 is refused" hostile classe 16 vif16.0 16 240.0.0.16 00:16:3e:5e:6c:10 240.0.0.16
check "issue 15 #4: an all-zero MAC is refused" hostile zeromac 17 vif17.0 17 10.137.0.57 00:00:00:00:00:00 10.137.0.57
check "issue 15 #3: guest 1's address on a second vif is refused" hostile dup 18 vif18.0 18 "$(guest_ip 1)" 00:16:3e:5e:6c:12
check "issue 15 #4: DNS1 as a guest address is refused" hostile dns1 19 vif19.0 19 $DNS1 00:16:3e:5e:6c:13

listed() {
    local l
    l=$(nvx vif list)
    for v in vif3.0 vif4.0 vif5.0 vif9.0; do
        printf '%s\n' "$l" | grep "^$v " | grep -e " failed " >/dev/null || { echo "vif list does not show $v as FAILED: $(printf '%s\n' "$l" | grep "^$v ")"; return 1; }
    done
    printf '%s\n' "$l" | grep "^vif1.0 " | grep -e " programmed " >/dev/null || { echo "vif1.0 not PROGRAMMED in vif list"; return 1; }
    echo "hostile vifs FAILED, vif1.0 PROGRAMMED"
}
check_within 5 "netvm vif list: hostile vifs failed, the good one programmed" listed

# a hostile vif fixed by the toolstack comes online on the next hotplug call
fixed() {
    nvx xs write "$XSB/3/0/ip" 10.137.0.43 >/dev/null
    ip netns exec "$NV" env vif=vif3.0 XENBUS_PATH=backend/vif/3/0 NETVM_CONTROL="$CTL" \
        "$HOTPLUG" online >/dev/null 2>&1 || { echo "online failed: $(nvx xs read $XSB/3/0/hotplug-error)"; return 1; }
    [ "$(nvx xs read $XSB/3/0/hotplug-status)" = connected ] || { echo "hotplug-status $(nvx xs read $XSB/3/0/hotplug-status)"; return 1; }
    wait_until 10 eval "ip -n '$NV' route show 10.137.0.43 | grep -e 'dev vif3.0'" || { echo "no route 10 s after online"; return 1; }
    echo "connected, route 10.137.0.43 dev vif3.0"
}
check "a failed vif whose keys the toolstack fixed comes online" fixed

# --- offline removes everything it added
programmed() { # D IP: prints what is missing
    local d=$1 ip=$2 dev=vif$1.0
    vif_programmed $d $ip
    nv_ruleset | grep -F "\"$dev\" . $ip" >/dev/null || echo "no allowed element;"
}
offline_case() { # D GONE_FIRST
    local d=$1 ip dev=vif$1.0 ns out rc r miss
    ip=$(guest_ip $d)
    ns=$(guest_ns $d)
    add_guest $d || return 1
    wait_until 10 eval "[ -z \"\$(programmed $d $ip)\" ]"
    miss=$(programmed $d $ip)
    [ -z "$miss" ] || { echo "before offline: $miss ruleset: $(nv_ruleset | grep -A4 'set allowed {' | tr -s '\t\n' '  ')"; return 1; }
    wait_until 5 gexec $d ping -c 1 -W 1 198.51.100.1 || { echo "guest $d cannot ping before offline (5 s)"; return 1; }
    [ "$2" = 1 ] && ip -n "$NV" link del $dev
    out=$(ip netns exec "$NV" env vif=$dev XENBUS_PATH=backend/vif/$d/0 NETVM_CONTROL="$CTL" \
        "$HOTPLUG" offline 2>&1)
    rc=$?
    [ $rc = 0 ] || { echo "offline exited $rc: $out"; return 1; }
    r=$(RESIDUE_LINK=0 residue $dev $ip)
    [ -z "$r" ] || { echo "left behind: $r"; return 1; }
    echo "route, neighbour, address and set elements of $dev ($ip) removed"
}
check "vif offline removes everything it added" offline_case 20 0
check "vif offline after the device vanished removes the rest" offline_case 21 1

touch "$STOP"
sleep 1.5
witness() {
    local n bad
    n=$(grep -c . "$WITNESS")
    bad=$(grep -vc ' ok$' "$WITNESS")
    [ "$n" -ge 10 ] || { echo "only $n probes ran"; return 1; }
    [ "$bad" = 0 ] || { echo "$bad of $n probes failed, first: $(grep -v ' ok$' "$WITNESS" | head -1)"; return 1; }
    echo "$n probes (ping + dig every 0.2 s), all answered"
}
check "the good guest kept working throughout" witness

e2e_finish
