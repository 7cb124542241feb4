#!/bin/bash
# End-to-end: DNS through the netvm (DNS1/DNS2 DNAT onto the upstream nameservers of its resolv.conf).
#
# Three dnsmasq instances in the upstream namespace answer the same name (e2e.test) with different
# addresses (198.51.100.1 -> 203.0.113.1, .3 -> .3, .5 -> .5), so every answer a guest gets tells
# which upstream its query went to: the DNS1/DNS2 mapping is checked, not just "it resolves".
#   - guests reach the upstream (ping);
#   - 2 upstreams: DNS1 -> upstream 1, DNS2 -> upstream 2 (UDP and TCP, two guests);
#   - 1 upstream: DNS1 and DNS2 -> that one;
#   - 0 upstreams (empty file; then only unusable ones: 127.0.0.53 stub, IPv6): no answer, and not
#     one packet to port 53 leaves the netvm (counter at the upstream's prerouting hook);
#   - redirect latency after resolv.conf changes: until the new DNAT rule is in the kernel (nft
#     monitor event, taken while the test does nothing else) and, on two more changes, until the
#     first answer from the new upstream (a dig loop). Two paths: the shipped layout (/etc/resolv.conf,
#     which `ip netns exec` bind-mounts from /etc/netns/<ns>/resolv.conf: an in-place edit there
#     raises no inotify event for /etc, so the agent's 5 ms stat check finds it), and a resolv.conf in
#     a plain directory (installed layout with its own configuration), where the change is an inotify
#     event (in-place write and atomic rename). Bounds asserted: 2 s and 1 s, deliberately generous
#     so the test is not flaky on a loaded machine; the figures and whether the 20 ms target was met
#     (every change's rule within 20 ms) are printed.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init dns

setup_upstream || { fail "setup: upstream namespace" "see above"; e2e_finish; }
start_agent || { fail "setup: netvm runtime starts" "see above"; e2e_finish; }
log "netvm runtime ready in $AGENT_START_MS ms"
write_netvm_keys
for d in 1 2; do
    add_guest $d || { fail "setup: guest $d online" "vif$d.0 not online"; e2e_finish; }
done

# --- reachability
for d in 1 2; do
    check_within 10 "guest $d pings the upstream through the netvm" bash -c \
        "ip netns exec $(guest_ns $d) ping -c 2 -i 0.2 -W 2 198.51.100.1 | sed -n 's/.*= [0-9.]*\/\([0-9.]*\)\/.*/rtt avg \1 ms/p'; exit \${PIPESTATUS[0]}"
done

dns1_is() { [ "$(dig_short 1 $DNS1)" = "$1" ]; }

# expect_map DNS1_ANSWER DNS2_ANSWER: both guests, UDP and TCP; waits up to 3 s for the mapping
expect_map() {
    local want1=$1 want2=$2 d p got1 got2 bad=
    wait_until 3 eval "[ \"\$(dig_short 1 $DNS1)\" = $want1 ] && [ \"\$(dig_short 1 $DNS2)\" = $want2 ]"
    for d in 1 2; do
        for p in udp tcp; do
            got1=$(dig_short $d $DNS1 $p)
            got2=$(dig_short $d $DNS2 $p)
            [ "$got1" = "$want1" ] && [ "$got2" = "$want2" ] ||
                bad="$bad guest $d $p: DNS1 -> '${got1:-no answer}', DNS2 -> '${got2:-no answer}';"
        done
    done
    [ -z "$bad" ] || { echo "expected DNS1 -> $want1, DNS2 -> $want2;$bad"; return 1; }
    echo "DNS1 -> $want1, DNS2 -> $want2 for 2 guests over UDP and TCP"
}

set_upstreams 198.51.100.1 198.51.100.3
check "2 upstreams: DNS1 answered by upstream 1, DNS2 by upstream 2" expect_map 203.0.113.1 203.0.113.3

set_upstreams 198.51.100.5
check "1 upstream: DNS1 and DNS2 both answered by it (DNS2 does not leak)" expect_map 203.0.113.5 203.0.113.5

# expect_dropped: no answer through DNS1/DNS2 (UDP, TCP, both guests) and no packet to port 53 leaves
nft_drops() {
    guard_chain | grep -e "ip daddr $DNS1 udp dport 53 drop" >/dev/null && guard_chain | grep -e "ip daddr $DNS2 udp dport 53 drop" >/dev/null
}
ipt_drops() {
    local rules; rules=$(ip netns exec "$NV" iptables-save -t filter 2>/dev/null)
    grep -e "-d $DNS1/32 -p udp -m udp --dport 53 -j DROP" <<<"$rules" >/dev/null &&
        grep -e "-d $DNS2/32 -p udp -m udp --dport 53 -j DROP" <<<"$rules" >/dev/null
}
# expect_dropped [RULES_FN]: RULES_FN (default nft_drops) says the backend holds the drop rules
expect_dropped() {
    local rules_fn=${1:-nft_drops}
    # the rules must say drop before we measure (else we would measure the old mapping)
    wait_until 3 $rules_fn ||
        { echo "no drop rules for DNS1/DNS2 after 3 s ($rules_fn): $(guard_chain | tr -s ' \n' ' ')"; return 1; }
    local before after d p s got answered= n=0
    before=$(upcount dns)
    for d in 1 2; do
        for p in udp tcp; do
            for s in $DNS1 $DNS2; do
                got=$(dig_short $d $s $p)
                n=$((n + 1))
                [ -n "$got" ] && answered="$answered guest $d $p @$s -> $got;"
            done
        done
    done
    after=$(upcount dns)
    [ -n "$before" ] && [ -n "$after" ] || { echo "cannot read the upstream's dns counter"; return 1; }
    [ -z "$answered" ] || { echo "answered:$answered"; return 1; }
    [ "$after" = "$before" ] || { echo "$((after - before)) packet(s) to port 53 reached the upstream"; return 1; }
    echo "$n queries unanswered, 0 packets to port 53 on the uplink"
}
set_upstreams
check "0 upstreams (empty resolv.conf): queries dropped, none leaves the uplink" expect_dropped
printf 'nameserver 127.0.0.53\nnameserver ::1\nnameserver 2001:db8::53\noptions edns0\n' > "/etc/netns/$NV/resolv.conf"
check "0 usable upstreams (resolved stub, IPv6 only): queries dropped, none leaves" expect_dropped
# status_reason CODE: `netvm status --json` lists the reason CODE (status tells the truth about dropped DNS)
status_reason() {
    local json; json=$(nvx status --json 2>/dev/null)
    python3 -c 'import json,sys; r=[x["code"] for x in json.load(sys.stdin)["reasons"]]; print("reasons:", r); sys.exit(0 if sys.argv[1] in r else 1)' "$1" <<<"$json"
}
no_status_reason() { ! status_reason "$1"; }
check_within 10 "while every query is dropped, netvm status is degraded with dns-no-upstream" status_reason dns-no-upstream

set_upstreams 198.51.100.3 198.51.100.1 198.51.100.5
check "3 upstreams after none: DNS1 -> first, DNS2 -> second, third ignored" expect_map 203.0.113.3 203.0.113.1
check_within 10 "with upstreams again, dns-no-upstream is gone from netvm status" no_status_reason dns-no-upstream

# the same with the iptables backend in charge: its nat table cannot DROP (iptables-restore refuses),
# so the drops live in a filter chain at forward and every apply succeeds (found by the chaos soak)
nvx backend use iptables >/dev/null 2>&1
set_upstreams
check "iptables backend, 0 upstreams: queries dropped, none leaves the uplink" expect_dropped ipt_drops
applies_fine() { no_status_reason last-apply-failed && no_status_reason backend-out-of-sync && status_reason dns-no-upstream; }
check_within 10 "iptables backend, 0 upstreams: every apply succeeds, status says dns-no-upstream only" applies_fine
set_upstreams 198.51.100.1 198.51.100.3
check "iptables backend, upstreams back: DNS1 -> first, DNS2 -> second" expect_map 203.0.113.1 203.0.113.3
nvx backend use nftables >/dev/null 2>&1

# ---------------------------------------------------------------------------------------------
# redirect latency
MON=$RUN/nft-monitor.txt
us() { echo "${EPOCHREALTIME/./}"; }
start_monitor() {
    : > "$MON"
    rm -f "$RUN/mon.fifo"
    mkfifo "$RUN/mon.fifo"
    ip netns exec "$NV" nft monitor rules > "$RUN/mon.fifo" 2>&1 &
    MON_PID=$!
    NT_PIDS+=($MON_PID)
    # timestamps without a fork per line; the loop ends when nft ends (end of file on the fifo)
    (while IFS= read -r l; do echo "${EPOCHREALTIME/./} $l"; done < "$RUN/mon.fifo" >> "$MON") &
    NT_PIDS+=($!)
    sleep 0.3
}
stop_monitor() {
    kill "$MON_PID" 2>/dev/null
    wait "$MON_PID" 2>/dev/null
}

# one_change MODE WRITER TARGET UPSTREAM...: writes the upstream list with WRITER; DNS1 must then go
# to TARGET (whose dnsmasq answers 203.0.113.<last octet>). MODE rule: nothing else runs meanwhile
# (a busy test would slow the agent it measures on 2 cores); the monitor's timestamp of the new rule
# gives "rule_ms". MODE answer: a dig loop from guest 1 gives "answer_ms" (first answer from the new
# upstream). Appends "MODE ms" (or "timeout") to $RUN/lat.
one_change() {
    local mode=$1 writer=$2 target=$3 t0 at= want=203.0.113.${3##*.} ns1 mark limit
    shift 3
    ns1=$(guest_ns 1)
    mark=$(wc -l < "$MON")
    $writer "$@"
    t0=$(us) # the change is visible now (a rename by `mv` costs a process start before that point)
    if [ "$mode" = answer ]; then
        limit=$((t0 + 5000000))
        while :; do
            [ "$(ip netns exec "$ns1" dig +short +time=1 +tries=1 @$DNS1 $NAME 2>/dev/null)" = "$want" ] && { at=$(us); break; }
            [ "$(us)" -lt $limit ] || break
        done
    else
        sleep 0.3 # the monitor stamps the rule when it arrives; look only afterwards
        for _ in $(seq 1 40); do
            at=$(tail -n +$((mark + 1)) "$MON" | grep -m1 "ip daddr $DNS1 udp dport 53 dnat to $target\$" | cut -d' ' -f1)
            [ -n "$at" ] && break
            sleep 0.05
        done
    fi
    [ -n "$at" ] || { echo "timeout" >> "$RUN/lat"; return; }
    echo "$mode $(( (at - t0) / 1000 ))" >> "$RUN/lat"
}

# latency_run LABEL BOUND_MS WRITER: 8 changes alternating between one and two upstreams; the
# redirect (rule in the kernel) is timed on 6 of them, the first answer from the new upstream on 2
latency_run() {
    local label=$1 bound=$2 writer=$3 i mode
    : > "$RUN/lat"
    local logmark
    logmark=$(wc -l < "$RUN/netvm.log")
    start_monitor
    for i in 1 2 3 4 5 6 7 8; do
        mode=rule; [ $i -gt 6 ] && mode=answer
        if [ $((i % 2)) = 1 ]; then one_change $mode $writer 198.51.100.5 198.51.100.5
        else one_change $mode $writer 198.51.100.1 198.51.100.1 198.51.100.3; fi
        sleep 0.2
    done
    stop_monitor
    if grep -q timeout "$RUN/lat"; then
        fail "$label" "$(grep -c timeout "$RUN/lat") of 8 changes not seen (rule or answer) within 5 s"
        return 1
    fi
    local rule ans rmax amax fig
    rule=$(awk '$1 == "rule" {print $2}' "$RUN/lat" | stats)
    ans=$(awk '$1 == "answer" {print $2}' "$RUN/lat" | stats)
    rmax=$(awk '$1 == "rule" {print $2}' "$RUN/lat" | sort -n | tail -1)
    amax=$(awk '{print $2}' "$RUN/lat" | sort -n | tail -1)
    # how long the backend's transactions took, as the agent logged them
    local applies
    applies=$(tail -n +$((logmark + 1)) "$RUN/netvm.log" | grep 'apply backend=.* owners="dns"' | sed -n 's/.*duration_ms=\([0-9]*\).*/\1/p' | stats)
    [ "$applies" = "no samples" ] && applies="not in the log (the agent rate-limits its apply lines)"
    fig="rule in kernel: $rule; first answer from the new upstream (dig loop): $ans; backend transaction (agent log): $applies; asserted <= $bound ms, 20 ms target $( [ "$rmax" -le 20 ] && echo met || echo 'not met')"
    if [ "$amax" -le "$bound" ]; then pass "$label" "$fig"; else fail "$label" "$fig"; return 1; fi
}
write_inplace_bind() { set_upstreams "$@"; }

set_upstreams 198.51.100.1 198.51.100.3
wait_until 3 dns1_is 203.0.113.1
latency_run "redirect latency, /etc/resolv.conf edited in place (bind mount, no inotify event: found by the 5 ms stat check)" 2000 write_inplace_bind

# --- the event path: the same runtime in the installed layout, resolv.conf in a plain directory
INST=$RUN/inst
ETC=$RUN/netvm-etc
installed_layout() {
    mkdir -p "$INST/bin" "$INST/lib" "$INST/config" "$ETC" || return 1
    cp "$E2E_TOP/distribution/bin/netvm" "$INST/bin/netvm" || return 1
    local j
    for j in netvm.jar netvm-guest.jar netvm-cli.jar; do
        ln -s "$E2E_TOP/distribution/target/$j" "$INST/lib/$j" || return 1
    done
    "$PY" - "$E2E_TOP/launch/config/netvm.json" "$INST/config/netvm.json" "$ETC/resolv.conf" <<'PYEOF' || return 1
import json, sys
src, dst, resolv = sys.argv[1:4]
with open(src) as f:
    c = json.load(f)
c.setdefault("org.netvm.dns.system", {})["resolvConf"] = resolv
with open(dst, "w") as f:
    json.dump(c, f, indent=2)
PYEOF
    printf 'nameserver 198.51.100.1\nnameserver 198.51.100.3\n' > "$ETC/resolv.conf"
}
write_inplace_plain() { local a; { for a in "$@"; do echo "nameserver $a"; done; } > "$ETC/resolv.conf"; }
write_rename_plain() {
    local a
    { for a in "$@"; do echo "nameserver $a"; done; } > "$ETC/.resolv.conf.tmp" && mv -f "$ETC/.resolv.conf.tmp" "$ETC/resolv.conf"
}

# point the bind-mounted file elsewhere: DNS1 -> upstream 1 afterwards proves the new file is used
set_upstreams 198.51.100.5
kill "$AGENT_PID" 2>/dev/null
wait "$AGENT_PID" 2>/dev/null
R="runtime restarted with resolv.conf in a plain directory (installed layout)"
if installed_layout && NETVM=$INST/bin/netvm start_agent "$RUN/felix2"; then
    # the embedded xenstored lived in the old process: the toolstack's keys are written again and the
    # vifs brought online again (with a dom0 xenstored they would still be there; see restart.test.sh)
    write_netvm_keys
    for d in 1 2; do write_vif_keys $d; vif_online_hotplug $d >/dev/null; done
    if wait_until 10 dns1_is 203.0.113.1; then
        pass "$R" "ready in $AGENT_START_MS ms; DNS1 -> upstream 1 from $ETC/resolv.conf"
        latency_run "redirect latency, resolv.conf written in place (inotify event)" 1000 write_inplace_plain
        latency_run "redirect latency, resolv.conf replaced by rename (inotify event)" 1000 write_rename_plain
    else
        fail "$R" "DNS1 answers '$(dig_short 1 $DNS1)', not upstream 1 (203.0.113.1), 10 s after the restart"
    fi
else
    fail "$R" "it did not start"
fi

e2e_finish
