#!/bin/bash
# End-to-end: the user's own rules in custom-input / custom-forward (issue 11 #4; distribution/
# INSTALL.md "Your own rules"), nftables backend, real traffic:
#   - after start, netvm's table has the two user chains, jumped to from input and forward;
#   - an admin adds a counting rule to each with plain `nft add rule` (custom-forward: guest 1's UDP
#     to the upstream's port 40000; custom-input: guest 1's pings to the gateway); traffic counts;
#   - a drift repair (a netvm rule deleted by hand, re-applied by the 5 s resync: the table is
#     rewritten) and a further resync period: both rules still there, counters kept, still counting;
#   - kill -9 of the agent and a start again (as restart.test.sh; the embedded store died with it, so
#     the toolstack's keys are written again): after the restarted agent is in sync, both rules are
#     still there and count new traffic.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init userrules
WAIT=${DRIFT_WAIT_SECONDS:-20}   # resync is every 5 s (org.netvm.dataplane resyncSeconds)

inns() { ip netns exec "$NV" "$@"; }
repairs() { nvx backend | sed -n 's/.*drift repairs \([0-9]*\).*/\1/p'; }
repairs_above() { [ "$(repairs)" -gt "$1" ]; }
in_sync() { nvx backend | grep -e "^active: *nftables (in sync)" >/dev/null; }

setup_upstream || { fail "setup: upstream namespace" "see above"; e2e_finish; }
start_agent || { fail "setup: netvm runtime starts" "see above"; e2e_finish; }
write_netvm_keys
add_guest 1 || { fail "setup: guest 1 online" "see above"; e2e_finish; }
wait_until "$WAIT" in_sync || { fail "setup: nftables in sync" "$(nvx backend | head -1)"; e2e_finish; }
G1=$(guest_ip 1)

# netvm's inet table: found in the ruleset, not assumed
TABLE=$(inns nft list tables | awk '$2 == "inet" && /netvm/ {print $3; exit}')
user_chains() {
    [ -n "$TABLE" ] || { echo "no inet table of netvm in: $(inns nft list tables | tr '\n' ' ')"; return 1; }
    inns nft list chain inet "$TABLE" input | grep -e 'jump custom-input' >/dev/null || { echo "input does not jump to custom-input"; return 1; }
    inns nft list chain inet "$TABLE" forward | grep -e 'jump custom-forward' >/dev/null || { echo "forward does not jump to custom-forward"; return 1; }
    echo "table inet $TABLE: input -> custom-input, forward -> custom-forward"
}
check "netvm's table has the user chains, jumped to first" user_chains || e2e_finish

FWD_RULE=(iifname "vif1.0" ip saddr "$G1" udp dport 40000 counter comment '"admin-forward"')
IN_RULE=(iifname "vif1.0" icmp type echo-request counter comment '"admin-input"')
# count CHAIN COMMENT: packets counted by the admin's rule, empty if it is gone
count() { inns nft list chain inet "$TABLE" "$1" | grep -F "\"$2\"" | sed -n 's/.*counter packets \([0-9]*\).*/\1/p'; }
# traffic N: guest 1 sends N UDP datagrams to the upstream's port 40000 and N pings to its gateway
traffic() {
    gexec 1 "${PKT[@]}" udp "$G1" 198.51.100.1 40000 "$1" 0.01 >/dev/null || return 1
    gexec 1 ping -c "$1" -i 0.05 -W 1 $GW >/dev/null
}
# counting LABEL: both rules there and each counts 10 more packets of real traffic (the upstream too)
counting() {
    local f0 i0 u0 f1 i1 u1
    f0=$(count custom-forward admin-forward); i0=$(count custom-input admin-input); u0=$(upcount legit)
    [ -n "$f0" ] || { echo "$1: the custom-forward rule is gone: $(inns nft list chain inet "$TABLE" custom-forward | tr -s '\n ' '  ')"; return 1; }
    [ -n "$i0" ] || { echo "$1: the custom-input rule is gone: $(inns nft list chain inet "$TABLE" custom-input | tr -s '\n ' '  ')"; return 1; }
    traffic 10 || { echo "$1: guest 1's traffic failed"; return 1; }
    sleep 0.2
    f1=$(count custom-forward admin-forward); i1=$(count custom-input admin-input); u1=$(upcount legit)
    [ $((f1 - f0)) = 10 ] && [ $((i1 - i0)) = 10 ] && [ $((u1 - u0)) = 10 ] ||
        { echo "$1: custom-forward +$((f1 - f0)), custom-input +$((i1 - i0)), upstream +$((u1 - u0)) (want +10 each)"; return 1; }
    echo "$1: custom-forward $f0 -> $f1, custom-input $i0 -> $i1, upstream +10"
}

added() {
    inns nft add rule inet "$TABLE" custom-forward "${FWD_RULE[@]}" || return 1
    inns nft add rule inet "$TABLE" custom-input "${IN_RULE[@]}" || return 1
    counting "added with nft"
}
check "an admin's nft rules in custom-forward and custom-input count real traffic" added

# a drift repair: a netvm rule deleted by hand, put back by the resync's full re-apply
drift() {
    local before handle f0 f1
    before=$(repairs)
    f0=$(count custom-forward admin-forward)
    handle=$(inns nft -a list chain inet "$TABLE" forward | sed -n 's/.*ct state established,related accept # handle \([0-9]*\)$/\1/p')
    [ -n "$handle" ] || { echo "no 'ct state established,related accept' rule in forward"; return 1; }
    inns nft delete rule inet "$TABLE" forward handle "$handle" || return 1
    wait_until "$WAIT" repairs_above "$before" || { echo "no drift repair within $WAIT s ($(nvx backend | head -1))"; return 1; }
    wait_until "$WAIT" in_sync || { echo "not in sync after the repair"; return 1; }
    f1=$(count custom-forward admin-forward)
    [ -n "$f1" ] && [ "$f1" -ge "$f0" ] || { echo "after the repair the custom-forward rule counts '${f1:-gone}' (before: $f0)"; return 1; }
    echo "drift repairs $before -> $(repairs); the admin's rule kept its counter ($f0 -> $f1)"
}
check "a drift repair (full re-apply) keeps the admin's rules and their counters" drift
sleep 6 # one more resync period (5 s) with the admin's rules in place: not drift
check "after drift repair and another resync period, both rules still count" counting "after repair + resync"
quiet() { local r0=$(repairs); sleep 6; [ "$(repairs)" = "$r0" ] && in_sync && echo "drift repairs stay $r0 over 6 s, in sync"; }
check "the admin's rules are not seen as drift (no repair over a resync period)" quiet

# --- kill -9 and start again
F_KILL=$(count custom-forward admin-forward)
LOG_MARK=$(wc -l < "$RUN/netvm.log")
kill -9 "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null
AGENT_PID=
sleep 1
# in the script's shell, not in a check (a check runs in a subshell: AGENT_PID would be lost)
start_agent "$RUN/felix" || { fail "the agent starts again after kill -9" "see above"; e2e_finish; }
# the embedded xenstored died with the agent: the toolstack writes its keys again
write_netvm_keys && write_vif_keys 1 && vif_online_hotplug 1 >/dev/null
restarted() {
    wait_until 10 vif_is_programmed 1 || { echo "vif1.0: $(vif_programmed 1)"; return 1; }
    wait_until "$WAIT" in_sync || { echo "not in sync: $(nvx backend | head -1)"; return 1; }
    local f applies
    f=$(count custom-forward admin-forward)
    [ -n "$f" ] && [ "$f" -ge "$F_KILL" ] || { echo "custom-forward rule counts '${f:-gone}' (before the kill: $F_KILL)"; return 1; }
    applies=$(tail -n +$((LOG_MARK + 1)) "$RUN/netvm.log" | grep -c 'apply backend=')
    echo "ready in $AGENT_START_MS ms, guest 1 online again, nftables in sync; $applies backend apply line(s) logged since; counter kept ($F_KILL -> $f)"
}
check "the agent starts again after kill -9 and is in sync" restarted
check "after kill -9 and restart, both rules are still there and count" counting "after restart"

e2e_finish
