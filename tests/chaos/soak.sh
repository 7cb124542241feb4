#!/bin/bash
# The chaos soak (issue 15): many guests with traffic while faults hit the netvm at random, and the
# invariants checked all along.   tests/chaos/soak.sh [MINUTES]   (default 2; as root)
#
# Topology: the shared one (distribution/sandbox/testlib.sh): upstream with dnsmasq, the netvm runtime
# with the embedded xenstored, SOAK_GUESTS guests (default 100) in namespaces, online through the real
# hotplug script. One process (guests.py) drives every guest's traffic: a ping to the upstream every
# 0.3 s and a DNS query every second (DNS1/DNS2 in turn); every SOAK_FORGER_EVERY-th guest (default
# 10) also forges sources (to the upstream and to other guests) and tries other guests with its own.
# Each guest namespace counts at its eth0 what arrives from another guest (source 10.137/16, or UDP
# port 41000); the upstream counts forged datagrams (port 40002) and queries still addressed to DNS1/DNS2.
#
# Faults, one at a time at random intervals for MINUTES: SIGKILL and SIGTERM of the agent (started
# again), SIGKILL of its `nft -i` (only when nft runs as processes: with libnftables in process there
# is none), a guest's anti-spoofing element deleted by another root process (drift), a restart of the embedded xenstored (its bundle stopped and
# started: the store comes back empty), a backend swap, resolv.conf flapped (no nameserver, then
# back), vif churn (offline+online, a guest removed, a new domain), a hostile guest client against
# its domain-D.sock (hostile_xs.py). The embedded store lives in the agent, so after a store loss
# (agent restart, xenstored restart) the toolstack (this script) writes its keys again, as a
# toolstack without Xen has to; the fault ends when that is done.
#
# Invariants (PASS/FAIL lines, then the summary):
#   - 0 forged packets and 0 guest-to-guest packets reach their target (counted at the receivers; a
#     forgery at the upstream is a datagram with guests.py's tag, seen by forged_log.py);
#   - 0 packets meant for a guest are sent back out of the netvm's uplink (destination 10.137/16, a
#     source other than the uplink's: e.g. answers to a guest whose host route is absent; a guest's
#     own new packets to an address no guest holds right now are masqueraded and may leave);
#   - after each fault ends, every online guest gets a ping answer from the upstream within 2 s;
#   - DNS answered or dropped, never leaked: 0 queries to DNS1/DNS2 reach the upstream untranslated;
#   - the agent's RSS stays below SOAK_RSS_MB (default 400);
#   - `netvm status` is honest: degraded (dns-no-upstream) within 20 s once resolv.conf names no nameserver, and
#     in-sync again within SOAK_SETTLE seconds (default 30) after every fault.
# Exits non-zero if any invariant failed. SOAK_SUMMARY=FILE also writes the summary there.
# SOAK_FAULTS="swap kill9 ..." draws only from those faults (default: all, weighted as FAULT_NAMES).
# Every forged datagram that reaches the upstream is logged by forged_log.py (its payload names the
# sender, the forged source and the time sent) and printed with the fault active when it was sent, or
# the one that had ended last.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
. "$TOP/distribution/sandbox/testlib.sh"
MINUTES=${1:-2}
GUESTS=${SOAK_GUESTS:-100}
FORGER_EVERY=${SOAK_FORGER_EVERY:-10}
RSS_LIMIT_MB=${SOAK_RSS_MB:-400}
SETTLE=${SOAK_SETTLE:-30}
NT_SUMMARY="chaos soak"
NT_KEEP=${SOAK_KEEP:-0}
NT_LOGS=${SOAK_LOGS:-}
nt_init soak "$$" nft dnsmasq dig ping conntrack
HOSTILE_DOMS="4001 4002"
ONLINE=$RUN/online       # "D NS IP ROLE" per online guest (guests.py follows it)
STATE=$RUN/state         # guests.py: answered pings per guest
declare -A FAULTS=()
REACH_FAILS=0; REACH_CHECKS=0; REACH_WORST=
SETTLE_FAILS=0; SETTLE_MAX=0; HONEST_FAILS=0; HONEST_CHECKS=0; DEGRADED_MAX=0; DRIFT_MAX=0; DRIFT_DONE=0
now_ms() { date +%s%3N; }

# --- guests
role_of() { [ $(( $1 % FORGER_EVERY )) = 0 ] && echo forger || echo plain; }
soak_add_guest() { # D: online, receiver counters, listed
    local d=$1 ns
    ns=$(guest_ns $d)
    add_guest $d || return 1
    ip netns exec "$ns" nft -f - <<'NFT' || return 1
table inet soak {
  counter from_guests { }
  counter port41000 { }
  chain pre {
    type filter hook prerouting priority -300; policy accept;
    iifname "eth0" ip saddr 10.137.0.0/16 counter name "from_guests"
    iifname "eth0" udp dport 41000 counter name "port41000"
  }
}
NFT
    echo "$d $ns $(guest_ip $d) $(role_of $d)" >> "$ONLINE.add"
}
publish_online() { cat "$ONLINE.add" >> "$ONLINE"; : > "$ONLINE.add"; }
unlist() { # D
    grep -v "^$1 " "$ONLINE" > "$ONLINE.new"; mv "$ONLINE.new" "$ONLINE"
}
received() { # NS: packets that reached this guest from other guests
    ip netns exec "$1" nft list table inet soak 2>/dev/null | sed -n 's/.*packets \([0-9]*\).*/\1/p' | awk '{s += $1} END {print s + 0}'
}
soak_remove_guest() { # D: offline through the hotplug script, counters kept, namespace and keys gone
    local d=$1 ns
    ns=$(guest_ns $d)
    unlist $d
    vif_hotplug offline $d >/dev/null 2>&1
    received "$ns" >> "$RUN/received.removed"
    ip netns del "$ns"
    toolstack_xs rm "$XSB/$d" >/dev/null 2>&1
}

# --- the toolstack after a store loss: every key again, the hostile domains introduced
repopulate() {
    local args=() d
    args=($NV_HOME/qubes-netvm-network 1 $NV_HOME/qubes-netvm-gateway $GW $NV_HOME/qubes-netvm-primary-dns $DNS1
        $NV_HOME/qubes-netvm-secondary-dns $DNS2)
    wait_until 30 toolstack_xs write "${args[@]}" || { log "toolstack: the netvm's keys not written again"; return 1; }
    args=()
    while read -r d _; do
        args+=("$XSB/$d/0/ip" "$(guest_ip $d)" "$XSB/$d/0/mac" "$(guest_mac $d)")
        # a control request carries at most 256 arguments
        [ ${#args[@]} -lt 200 ] && continue
        wait_until 30 toolstack_xs write "${args[@]}" || { log "toolstack: keys not written again"; return 1; }
        args=()
    done < "$ONLINE"
    [ ${#args[@]} = 0 ] || wait_until 30 toolstack_xs write "${args[@]}" || { log "toolstack: keys not written again"; return 1; }
    for d in $HOSTILE_DOMS; do
        toolstack_xs introduce $d >/dev/null 2>&1
        toolstack_xs write /local/domain/$d/data "" >/dev/null && toolstack_xs chmod /local/domain/$d/data "n$d" >/dev/null
    done
}

# --- the invariants' probes
state_at_least() { awk -v t="$1" '$1 == "now" {exit !($2 >= t)}' "$STATE" 2>/dev/null; }
unreached() { # END_MS: online guests without a ping answer in [END, END + 2 s]
    local end=$1
    wait_until 15 state_at_least $((end + 2000))
    awk -v e="$end" 'NR == FNR {on[$1] = 1; next}
        ($1 in on) {seen[$1] = 1; for (i = 2; i <= NF; i++) if ($i >= e && $i <= e + 2000) ok[$1] = 1}
        END {for (d in on) if (!(d in ok)) print d}' "$ONLINE" "$STATE" | sort -n | tr '\n' ' '
}
status_line() { # "netvm: in-sync" or "netvm: degraded: CODE..." (the reasons' codes)
    nvx status 2>/dev/null | awk 'NR == 1 {v = $0} /^  - / {sub(/:.*/, "", $2); r = r " " $2} END {print v (r ? ":" r : "")}'
}
status_in_sync() { [ "$(status_line)" = "netvm: in-sync" ]; }
after_fault() { # NAME END_MS: the 2 s reach check, then status settles
    local name=$1 end=$2 miss t0 ms
    miss=$(unreached "$end")
    REACH_CHECKS=$((REACH_CHECKS + 1))
    if [ -n "$miss" ]; then
        REACH_FAILS=$((REACH_FAILS + 1))
        fail "reach after $name" "guests without an upstream answer within 2 s of the fault's end: $(echo $miss | cut -c1-200)"
    fi
    t0=$(now_ns)
    if wait_until "$SETTLE" status_in_sync; then
        ms=$(ms_since "$t0"); [ "$ms" -gt "$SETTLE_MAX" ] && SETTLE_MAX=$ms
    else
        SETTLE_FAILS=$((SETTLE_FAILS + 1))
        fail "status settles after $name" "not in-sync $SETTLE s after the fault: $(status_line | cut -c1-300)"
    fi
}

# --- faults; each returns after the fault ended and sets END
END=0
agent_back() { # after the agent died: start it, write the toolstack's keys again
    start_agent || return 1
    echo "$AGENT_PID" > "$RUN/agent.pid"
    repopulate
}
f_kill9() { kill -9 "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null; agent_back; END=$(now_ms); }
f_term() {
    local t0; t0=$(now_ns)
    kill -TERM "$AGENT_PID"
    wait_until 15 eval "! kill -0 $AGENT_PID" || { fail "SIGTERM ends the agent" "still running 15 s after SIGTERM"; kill -9 "$AGENT_PID"; }
    wait "$AGENT_PID" 2>/dev/null
    log "agent stopped $(ms_since "$t0") ms after SIGTERM"
    agent_back; END=$(now_ms)
}
nft_interactive() { ps -o pid=,args= --ppid "$AGENT_PID" | awk '$2 ~ /nft$/ && $3 == "-i" {print $1}'; }
f_nft() {
    local p; p=$(nft_interactive)
    if [ -z "$p" ]; then FAULTS[nft-i-absent]=$(( ${FAULTS[nft-i-absent]:-0} + 1 )); fi
    [ -n "$p" ] && kill -9 $p
    # the next change goes through a new nft -i: make one (a guest's offline+online)
    END=$(now_ms)
}
# drift: another root process deletes one guest's anti-spoofing element behind the agent's back (in
# the set of the backend in charge: nft set `inet netvm allowed`, or ipset NETVM-allowed.i4). Fail closed
# (the guest cannot send meanwhile); the agent must notice the change and put it back. Which backend is
# in charge is asked of the agent at each fault (`netvm backend`), not remembered by this script: a swap
# lasts until the agent restarts (kill9, term), and the one that comes back (nftables) sweeps the idle
# iptables backend's ipsets, so a remembered "iptables" looked in a set that no longer existed.
drift_element_present() { # BACKEND D
    if [ "$1" = nftables ]; then
        ip netns exec "$NV" nft get element inet netvm allowed "{ \"vif$2.0\" . $(guest_ip "$2") }" >/dev/null 2>&1
    else
        ip netns exec "$NV" ipset test NETVM-allowed.i4 "$(guest_ip "$2"),vif$2.0" >/dev/null 2>&1
    fi
}
f_drift() {
    local d t0 b
    b=$(backend_active)
    case $b in nftables|iptables) ;; *)
        fail "drift: a backend in charge" "netvm backend says: $(nvx backend 2>&1 | head -1)"; END=$(now_ms); return ;;
    esac
    BACKEND=$b
    d=$(pick_guest)
    [ -n "$d" ] || { END=$(now_ms); return; }
    if ! drift_element_present "$b" "$d"; then
        FAULTS[drift-absent]=$(( ${FAULTS[drift-absent]:-0} + 1 )); END=$(now_ms); return
    fi
    t0=$(now_ns)
    if [ "$b" = nftables ]; then
        ip netns exec "$NV" nft delete element inet netvm allowed "{ \"vif$d.0\" . $(guest_ip "$d") }"
    else
        ip netns exec "$NV" ipset del NETVM-allowed.i4 "$(guest_ip "$d"),vif$d.0"
    fi || { FAULTS[drift-lost-race]=$(( ${FAULTS[drift-lost-race]:-0} + 1 )); END=$(now_ms); return; }
    FAULTS[drift-$b]=$(( ${FAULTS[drift-$b]:-0} + 1 ))
    if wait_until 15 drift_element_present "$b" "$d"; then
        ms=$(ms_since "$t0"); [ "$ms" -gt "$DRIFT_MAX" ] && DRIFT_MAX=$ms; DRIFT_DONE=$((DRIFT_DONE + 1))
        log "drift: vif$d.0's element deleted from $b's set, back after $ms ms"
    elif grep -q "^$d " "$ONLINE"; then
        fail "drift repaired" "vif$d.0's element in $b's allowed set still missing 15 s after it was deleted"
    fi
    END=$(now_ms)
}
f_xenstored() {
    local id
    id=$(nvx bundles | awk '$0 ~ /org\.netvm\.xenstore\.server/ {print $1; exit}')
    [ -n "$id" ] || { fail "xenstored restart" "no org.netvm.xenstore.server bundle listed"; END=$(now_ms); return; }
    nvx bundles stop "$id" >/dev/null && nvx bundles start "$id" >/dev/null || fail "xenstored restart" "bundle $id did not stop and start"
    repopulate
    END=$(now_ms)
}
BACKEND=nftables
backend_active() { # the backend in charge, as the agent says ("active:     NAME (in sync)")
    nvx backend 2>/dev/null | awk '$1 == "active:" {print $2; exit}'
}
backend_in_sync() { # NAME: "active:     NAME (in sync)"
    local s; s=$(nvx backend 2>/dev/null | head -1)
    [[ $s =~ ^active:\ +$1\ \(in\ sync\) ]]
}
f_swap() {
    local to=iptables
    BACKEND=$(backend_active)
    [ "$BACKEND" = iptables ] && to=nftables
    nvx backend use $to >/dev/null || fail "backend swap to $to" "$(nvx backend use $to 2>&1 | tail -1)"
    BACKEND=$to
    wait_until 30 backend_in_sync "$to" || fail "backend swap to $to" "not in charge and in sync within 30 s: $(nvx backend 2>&1 | head -1)"
    END=$(now_ms)
}
dns_degraded() { # (not `status_line | grep`: with pipefail, status's exit status 1 when degraded failed it)
    local s; s=$(status_line)
    [[ $s == *degraded*dns-no-upstream* ]]
}
f_resolv() {
    : > "/etc/netns/$NV/resolv.conf"
    HONEST_CHECKS=$((HONEST_CHECKS + 1))
    local t0; t0=$(now_ns)
    if wait_until 20 dns_degraded; then
        ms=$(ms_since "$t0"); [ "$ms" -gt "$DEGRADED_MAX" ] && DEGRADED_MAX=$ms
    else
        HONEST_FAILS=$((HONEST_FAILS + 1))
        fail "status honest: no nameserver" "status 20 s after resolv.conf lost its nameservers: $(status_line | cut -c1-200)"
    fi
    if [ $((RANDOM % 2)) = 0 ]; then set_upstreams 198.51.100.5; sleep 1; fi
    set_upstreams 198.51.100.1 198.51.100.3
    END=$(now_ms)
}
pick_guest() { shuf -n 1 "$ONLINE" | awk '{print $1}'; }
NEXT_D=$((GUESTS + 1))
f_churn() {
    local d
    case $((RANDOM % 3)) in
    0) d=$(pick_guest); unlist $d
       vif_hotplug offline $d >/dev/null 2>&1; sleep 0.5
       vif_hotplug online $d >/dev/null 2>&1 || fail "churn: vif$d.0 online again" "$(toolstack_xs read $XSB/$d/0/hotplug-error 2>&1)"
       wait_until 10 vif_is_programmed $d
       echo "$d $(guest_ns $d) $(guest_ip $d) $(role_of $d)" >> "$ONLINE.add"; publish_online
       FAULTS[churn-offline-online]=$(( ${FAULTS[churn-offline-online]:-0} + 1 )) ;;
    1) d=$(pick_guest); soak_remove_guest $d
       FAULTS[churn-removed]=$(( ${FAULTS[churn-removed]:-0} + 1 )) ;;
    2) d=$NEXT_D; NEXT_D=$((NEXT_D + 1))
       soak_add_guest $d >/dev/null || fail "churn: new domain $d online" "see the log"; publish_online
       FAULTS[churn-new-domain]=$(( ${FAULTS[churn-new-domain]:-0} + 1 )) ;;
    esac
    END=$(now_ms)
}
f_hostile() {
    local d out
    d=$(echo $HOSTILE_DOMS | tr ' ' '\n' | shuf -n 1)
    out=$("$PY" "$HERE/hostile_xs.py" "$RUN/xenstored/domains/domain-$d.sock" /local/domain/$d 3 2>&1)
    log "hostile domain $d: $out"
    nvx help >/dev/null 2>&1 || fail "the agent answers after a hostile guest client" "control socket silent"
    END=$(now_ms)
}

# --- set-up
setup_upstream || { fail "setup: upstream namespace" "see above"; nt_finish; }
ip netns exec "$UP" nft -f - <<'NFT' || { fail "setup: upstream counters" "nft failed"; nt_finish; }
table inet soak {
  counter virtual_dns { }
  counter guest_sources { }
  counter to_guests { }
  chain pre {
    type filter hook prerouting priority -300; policy accept;
    iifname "eth0" ip daddr { 10.139.1.1, 10.139.1.2 } counter name "virtual_dns"
    iifname "eth0" ip saddr 10.137.0.0/16 counter name "guest_sources"
    iifname "eth0" ip daddr 10.137.0.0/16 ip saddr != 198.51.100.2 counter name "to_guests"
  }
}
NFT
start_agent || { fail "setup: netvm runtime starts" "see above"; nt_finish; }
echo "$AGENT_PID" > "$RUN/agent.pid"
write_netvm_keys
: > "$ONLINE"; : > "$ONLINE.add"; : > "$RUN/received.removed"
t=$(now_ns)
for start in $(seq 1 10 "$GUESTS"); do
    adders=()
    for d in $(seq "$start" $((start + 9))); do
        [ "$d" -le "$GUESTS" ] || break
        soak_add_guest $d > "$RUN/add$d.out" 2>&1 &
        adders+=($!)
    done
    wait "${adders[@]}" # (not a bare wait: dnsmasq and the agent are children too)
done
publish_online
n=$(grep -c . "$ONLINE")
if [ "$n" = "$GUESTS" ]; then pass "setup: $GUESTS guests online" "$(ms_since $t) ms"; else
    fail "setup: $GUESTS guests online" "$n online; $(cat "$RUN"/add*.out | grep -v '^$' | head -3 | tr '\n' ' ')"; fi
repopulate
: > "$RUN/faults.log"; : > "$RUN/forged.log"
ip netns exec "$UP" "$PY" "$HERE/forged_log.py" eth0 "$RUN/forged.log" "$RUN/stop" 2> "$RUN/forged_log.err" &
NT_PIDS+=($!)
"$PY" "$HERE/guests.py" "$ONLINE" "$STATE" "$RUN/stop" 198.51.100.1 $DNS1 $DNS2 "$NAME" 2> "$RUN/guests.err" &
NT_PIDS+=($!)
( # the agent's RSS every second (the pid changes with each restart)
    while [ ! -e "$RUN/stop" ]; do
        p=$(cat "$RUN/agent.pid" 2>/dev/null)
        r=$(awk '/VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null)
        [ -n "$r" ] && echo "$(date +%s) $p $r"
        sleep 1
    done
) > "$RUN/rss.log" &
NT_PIDS+=($!)
sleep 1
check_within 30 "setup: every guest reaches the upstream" eval '[ -z "$(unreached $(( $(now_ms) - 1500 )))" ] && echo all'
check_within "$SETTLE" "setup: status in-sync" eval 'status_line; status_in_sync'

# --- the chaos
FAULT_NAMES=(kill9 term nft drift xenstored swap swap resolv resolv churn churn churn hostile hostile)
if [ -n "${SOAK_FAULTS:-}" ]; then
    read -r -a FAULT_NAMES <<< "$SOAK_FAULTS"
    for f in "${FAULT_NAMES[@]}"; do
        declare -F "f_$f" >/dev/null || { fail "SOAK_FAULTS" "no fault '$f'"; nt_finish; }
    done
fi
DEADLINE=$(( $(date +%s) + MINUTES * 60 ))
T_CHAOS=$(now_ns)
while [ "$(date +%s)" -lt "$DEADLINE" ]; do
    f=${FAULT_NAMES[$((RANDOM % ${#FAULT_NAMES[@]}))]}
    FAULTS[$f]=$(( ${FAULTS[$f]:-0} + 1 ))
    log "fault: $f"
    t_fault=$(now_ms)
    "f_$f"
    echo "$t_fault $END $f" >> "$RUN/faults.log"
    after_fault "$f" "$END"
    sleep "$(( RANDOM % 4 )).$(( RANDOM % 10 ))"
done
CHAOS_S=$(( $(ms_since "$T_CHAOS") / 1000 ))
touch "$RUN/stop"
sleep 1

# --- the invariants
forged_port=$(upcount spoofed)
forged=$(grep -c ' forged ' "$RUN/forged.log")
other=$(upcount other)
soakcount() { ip netns exec "$UP" nft list counter inet soak "$1" | sed -n 's/.*packets \([0-9]*\).*/\1/p'; }
vdns=$(soakcount virtual_dns)
unmasq=$(soakcount guest_sources)
to_guests=$(soakcount to_guests)
g2g=$(awk '{s += $1} END {print s + 0}' "$RUN/received.removed")
while read -r d ns _; do g2g=$((g2g + $(received "$ns"))); done < "$ONLINE"
read -r _ pings_sent pings_ok dns_sent dns_ok forged_sent g2g_sent < <(grep '^totals' "$STATE")
rss_max=$(awk 'BEGIN {m = 0} $3 > m {m = $3} END {print int(m / 1024)}' "$RUN/rss.log")
restarts=$(( ${FAULTS[kill9]:-0} + ${FAULTS[term]:-0} ))

# each datagram to ports 40001-40099 that arrived: a forgery (with the fault active when it was sent,
# or the last one ended), or something else (with the fault at the time it arrived)
forged_arrivals() {
    awk 'NR == FNR {s[NR] = $1; e[NR] = $2; n[NR] = $3; k = NR; next}
        function fault(t,   i, what) {
            what = "before any fault"
            for (i = 1; i <= k; i++) {
                if (t >= s[i] && t <= e[i]) return "during " n[i] " (" t - s[i] " ms after its start)"
                if (t > e[i]) what = "after " n[i] " (" t - e[i] " ms after its end)"
            }
            return what
        }
        $4 == "forged" {
            printf "forged from guest %s, source %s (on the wire %s), sent %s, %d ms in flight: %s\n", $5, $6, $2, $8, $1 - $8, fault($8)
            next
        }
        { printf "not a forgery: %s -> %s %s %s %s, at %s: %s\n", $2, $3, $4, $5, $6, $1, fault($1) }' "$RUN/faults.log" "$RUN/forged.log"
}
forged_arrivals | while read -r line; do log "$line"; done
check "0 forged packets reached the upstream" eval "echo '$forged of $forged_sent forged (to the upstream and to guests) arrived'; [ '$forged' = 0 ]"
check "0 packets meant for a guest sent back out of the uplink" eval "echo '$to_guests packets to 10.137/16, not from the uplink address, at the upstream'; [ '$to_guests' = 0 ]"
check "0 guest-to-guest packets reached a guest" eval "echo '$g2g of $g2g_sent (forged and own-source tries) arrived'; [ '$g2g' = 0 ]"
check "every online guest reached the upstream within 2 s of each fault's end" eval \
    "echo '$REACH_CHECKS fault ends, $REACH_FAILS with a guest unanswered'; [ $REACH_FAILS = 0 ] && [ $REACH_CHECKS -gt 0 ]"
check "DNS never leaked untranslated" eval "echo '$dns_ok of $dns_sent queries answered, the rest dropped; $vdns to DNS1/DNS2 at the upstream'; [ '$vdns' = 0 ]"
check "agent RSS bounded (< $RSS_LIMIT_MB MB)" eval "echo 'max $rss_max MB over $restarts restarts'; [ $rss_max -gt 0 ] && [ $rss_max -lt $RSS_LIMIT_MB ]"
check "status honest (degraded while broken, in-sync within $SETTLE s after each fault)" eval \
    "echo 'degraded in time in $((HONEST_CHECKS - HONEST_FAILS)) of $HONEST_CHECKS no-nameserver faults; settled after $((REACH_CHECKS - SETTLE_FAILS)) of $REACH_CHECKS faults, slowest $SETTLE_MAX ms'; [ $HONEST_FAILS = 0 ] && [ $SETTLE_FAILS = 0 ]"

summary() {
    local k
    echo "chaos soak summary: $CHAOS_S s of faults, $(grep -c . "$ONLINE") guests online at the end ($GUESTS at the start, every $FORGER_EVERY-th forging)"
    echo "  load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
    printf '  faults:'; for k in $(printf '%s\n' "${!FAULTS[@]}" | sort); do printf ' %s=%s' "$k" "${FAULTS[$k]}"; done; echo
    echo "  forged packets: $forged_sent sent, $forged reached the upstream (datagrams to its ports 40001-40099: $forged_port; packets with a source other than the uplink's at the upstream: $other, of them with a guest's address, not masqueraded: $unmasq)"
    forged_arrivals | sed 's/^/    /'
    echo "  packets meant for a guest sent back out of the uplink (destination 10.137/16, source not the uplink's): $to_guests"
    echo "  guest-to-guest: $g2g_sent sent, $g2g reached a guest"
    echo "  reachability: $REACH_CHECKS fault ends checked, $REACH_FAILS with a guest unanswered within 2 s; pings $pings_ok/$pings_sent answered"
    echo "  DNS: $dns_sent queries, $dns_ok answered, $((dns_sent - dns_ok)) dropped, $vdns leaked untranslated"
    echo "  agent RSS: max $rss_max MB (limit $RSS_LIMIT_MB MB)"
    echo "  drift: $DRIFT_DONE anti-spoofing elements deleted by hand, each back within $DRIFT_MAX ms (${FAULTS[drift]:-0} drift faults: drift-nftables/drift-iptables deleted one in that backend's set, drift-absent found none to delete)"
    echo "  status: degraded in $((HONEST_CHECKS - HONEST_FAILS))/$HONEST_CHECKS no-nameserver faults (slowest to say so $DEGRADED_MAX ms); in-sync again after $((REACH_CHECKS - SETTLE_FAILS))/$REACH_CHECKS faults (slowest $SETTLE_MAX ms)"
}
summary
[ -n "${SOAK_SUMMARY:-}" ] && summary > "$SOAK_SUMMARY"
nt_finish
