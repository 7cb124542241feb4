#!/bin/bash
# End-to-end: kill -9 of the netvm agent while 100 guests come and go, then a restart.
#
# dom0's xenstore is the real C xenstored (tests/harness/xenstored), a process of its own as on Xen:
# the toolstack's keys survive the agent (the embedded store would die with it). The toolstack is
# played by churn.py: veth pairs vifD.0 <-> eth-D (guest ends in one "bulk" namespace), keys written
# with xenstore-write, hotplug calls `vif online|offline` over the control socket, 10 at a time.
#   1. 100 vifs come online (figure: time for all 100);
#   2. 50 of them go and 50 new ones come; the agent is killed with SIGKILL halfway and started again
#      one second later while the churn goes on (hotplug calls fail while it is down, as they would);
#   3. after it settles, the kernel equals the desired state computed by the test itself (the vifs
#      whose xenstore entry and device exist): routes of protocol 110 with metric 32752-domid,
#      permanent neighbours, gateway addresses, the backend's set elements (allowed, downstream);
#      `netvm vif list` shows them programmed and synced, `netvm backend` in sync (figure: restart to
#      in sync);
#   4. a TCP connection of an untouched guest to the upstream, open since before the kill, still
#      carries data afterwards, on the same socket (figure: its longest pause);
#   5. forged packets sent by another guest all through the kill/restart window never reach the
#      upstream, while its true-source packets do (no hole in the anti-spoofing);
#   6. a graceful restart (SIGTERM, as systemctl restart): forwarding never goes off, the flow goes
#      on, forged packets still never arrive.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init restart

CXS=$RUN/cxs
STARTXS=$E2E_TOP/tests/harness/xenstored/start-xenstored.sh
setup_upstream || { fail "setup: upstream namespace" "see above"; e2e_finish; }
ip netns add "$BULK"
mkdir -p "$CXS"
XSPID=$(XS_STATE_DIR=$CXS "$STARTXS" "$CXS/socket" 2>"$CXS/start.err") ||
    { fail "setup: dom0's C xenstored starts" "$(tail -3 "$CXS/start.err")"; e2e_finish; }
NT_PIDS+=($XSPID)
export XENSTORED_PATH=$CXS/socket
AGENT_XENSTORE=unix:$CXS/socket
start_agent || { fail "setup: netvm runtime starts" "see above"; e2e_finish; }
log "netvm runtime ready in $AGENT_START_MS ms (xenstore: C xenstored, pid $XSPID)"
write_netvm_keys
for d in 1 2; do
    add_guest $d || { fail "setup: guest $d online" "vif$d.0 not online"; e2e_finish; }
done

# --- the long-lived flow of guest 1 (untouched by the churn)
ip netns exec "$UP" "${PKT[@]}" echo-server 198.51.100.1 7000 &
NT_PIDS+=($!)
sleep 0.3
FLOW=$RUN/flow.log
gexec 1 "${PKT[@]}" flow 198.51.100.1 7000 "$FLOW" 0.05 &
FLOW_PID=$!
NT_PIDS+=($FLOW_PID)
wait_until 5 grep -q ' ok 5$' "$FLOW" || { fail "setup: long-lived TCP flow from guest 1" "$(tail -2 "$FLOW")"; e2e_finish; }

# --- 1. 100 guests arrive
ops_up() { local d; for d in "$@"; do echo "up $d $(guest_ip $d) $(guest_mac $d)"; done; }
BULK1=$(seq 101 200)
t=$(now_ns)
ops_up $BULK1 | "${PKT[0]}" "$E2E_DIR/churn.py" "$CTL" "$NV" "$BULK" "$CXS/socket" 10 > "$RUN/churn1.out" 2>&1
T100=$(ms_since $t)
hundred() {
    local bad
    bad=$(awk '$4 != 0' "$RUN/churn1.out" | head -3)
    [ "$(grep -c . "$RUN/churn1.out")" = 100 ] || { echo "$(grep -c . "$RUN/churn1.out") of 100 ops reported"; return 1; }
    [ -z "$bad" ] || { echo "failed: $bad"; return 1; }
    local paths=() d
    for d in $BULK1; do paths+=("$XSB/$d/0/hotplug-status"); done
    local st
    st=$(nvx xs read "${paths[@]}" | sort | uniq -c | tr -s ' ')
    [ "$st" = " 100 connected" ] || { echo "hotplug-status: $st"; return 1; }
    echo "100 vifs online in $T100 ms (veth + keys + hotplug, 10 at a time); hotplug call $(awk '{print $5}' "$RUN/churn1.out" | stats)"
}
check "100 guests come online, all connected" hundred

# --- desired state (the test's own model) and the kernel's state, as sorted lines
ONLINE="1 2 $BULK1"
expected_state() {
    local d ip dev
    for d in $ONLINE; do
        ip=$(guest_ip $d)
        dev=vif$d.0
        echo "route $ip $dev $((32752 - d))"
        echo "neigh $ip $dev $(guest_mac $d)"
        echo "addr $dev $GW/32"
        echo "allowed $dev $ip"
        echo "downstream $ip"
    done | sort
}
kernel_state() {
    {
        ip -n "$NV" route show table all proto 110 | awk '{m=""; for (i=1;i<=NF;i++) if ($i=="metric") m=$(i+1); print "route", $1, $3, m}'
        ip -n "$NV" neigh show nud permanent | awk '$3 ~ /^vif/ {print "neigh", $1, $3, $5}'
        ip -n "$NV" -4 -o addr show | awk '$2 ~ /^vif/ {print "addr", $2, $4}'
        ip netns exec "$NV" nft -j list set inet netvm allowed | "$PY" -c '
import json, sys
for o in json.load(sys.stdin)["nftables"]:
    for e in o.get("set", {}).get("elem", []):
        e = e.get("elem", {}).get("val", e) if isinstance(e, dict) and "elem" in e else e
        print("allowed", *e["concat"])'
        ip netns exec "$NV" nft -j list set inet netvm downstream | "$PY" -c '
import json, sys
for o in json.load(sys.stdin)["nftables"]:
    for e in o.get("set", {}).get("elem", []):
        print("downstream", e.get("elem", {}).get("val", e) if isinstance(e, dict) else e)'
    } | sort
}
state_diff() { diff <(expected_state) <(kernel_state) | grep '^[<>]' | sed 's/^</missing:/; s/^>/unexpected:/'; }
vif_list_ok() { # every desired vif PROGRAMMED, no other vif programmed, synced
    local l d
    l=$(nvx vif list) || return 1
    # (first line by expansion: `printf | head -1` can fail with SIGPIPE under pipefail)
    [[ ${l%%$'\n'*} == *'synced true'* ]] || { echo "vif list: ${l%%$'\n'*}"; return 1; }
    local want got
    want=$(for d in $ONLINE; do echo vif$d.0; done | sort)
    got=$(printf '%s\n' "$l" | awk '$6 == "programmed" {print $1}' | sort)
    [ "$want" = "$got" ] || { echo "vif list programmed differs: $(diff <(echo "$want") <(echo "$got") | grep '^[<>]' | head -3 | tr '\n' ' ')"; return 1; }
}
in_sync() {
    [ -z "$(state_diff)" ] && vif_list_ok >/dev/null && nvx backend 2>/dev/null | grep -e '^active: .*(in sync)' >/dev/null
}
state_now() {
    local d
    d=$(state_diff)
    [ -z "$d" ] || { echo "$d" | head -3 | tr '\n' ' '; return 1; }
    echo "$(expected_state | wc -l) routes, neighbours, addresses and set elements as desired"
}
check_within 10 "before the kill: kernel state equals desired state (102 vifs)" state_now

# --- 2. churn + kill -9 + restart, with spoofing and legit traffic from guest 2 all along
STOP=$RUN/senders.stop
G2=$(guest_ip 2)
gexec 2 "${PKT[@]}" udp-until 10.137.0.99 198.51.100.1 40002 "$STOP" 0.002 > "$RUN/spoof.sent" &
NT_PIDS+=($!)
gexec 2 "${PKT[@]}" udp-until "$G2" 198.51.100.1 40000 "$STOP" 0.01 > "$RUN/legit.sent" &
NT_PIDS+=($!)
SPOOF0=$(upcount spoofed)
LEGIT0=$(upcount legit)
sleep 0.5

GOING=$(seq 101 150)
COMING=$(seq 201 250)
{
    paste -d'\n' <(for d in $GOING; do echo "down $d"; done) <(ops_up $COMING)
} > "$RUN/churn2.ops"
"${PKT[0]}" "$E2E_DIR/churn.py" "$CTL" "$NV" "$BULK" "$CXS/socket" 10 < "$RUN/churn2.ops" > "$RUN/churn2.out" 2>&1 &
CHURN_PID=$!
NT_PIDS+=($CHURN_PID)
wait_until 60 eval '[ "$(grep -c . "$RUN/churn2.out")" -ge 40 ]'
OLD_AGENT=$AGENT_PID
KILL_AT=$(now_ns)
kill -9 "$OLD_AGENT"
wait "$OLD_AGENT" 2>/dev/null
log "agent (pid $OLD_AGENT) killed with SIGKILL after $(grep -c . "$RUN/churn2.out") of 100 churn ops"
sleep 1
RESTART_AT=$(now_ns)
start_agent || { fail "the agent starts again after kill -9" "see above"; e2e_finish; }
RESTARTED_MS=$(ms_since $RESTART_AT)
wait "$CHURN_PID"
CHURN_DONE=$(now_ns)
ONLINE="1 2 $(seq 151 200) $COMING"
# in sync = kernel equals desired + vif list + backend say so
SYNC_MS=
for _ in $(seq 1 600); do
    if in_sync; then SYNC_MS=$(ms_since $RESTART_AT); break; fi
    sleep 0.1
done
touch "$STOP"
sleep 0.5
churn_ok() {
    local n down_failed up_failed
    n=$(grep -c . "$RUN/churn2.out")
    [ "$n" = 100 ] || { echo "$n of 100 churn ops reported"; return 1; }
    # status (4th field) 99: a toolstack step failed (the 5th field is the call's duration in ms)
    local broken
    broken=$(awk '$4 == 99' "$RUN/churn2.out" | head -1)
    [ -z "$broken" ] || { echo "a toolstack step failed: $broken"; return 1; }
    down_failed=$(awk '$2 == "down" && $4 != 0' "$RUN/churn2.out" | wc -l)
    up_failed=$(awk '$2 == "up" && $4 != 0' "$RUN/churn2.out" | wc -l)
    echo "50 guests left and 50 came; hotplug calls refused while the agent was down: $down_failed offline, $up_failed online"
}
check "churn of 100 guests across the kill (toolstack steps all done)" churn_ok

after_restart() {
    [ -n "$SYNC_MS" ] || { echo "not in sync 60 s after the restart: $(state_diff | head -3 | tr '\n' ' ') $(vif_list_ok) $(nvx backend | head -1)"; return 1; }
    echo "agent answering $RESTARTED_MS ms after start, kernel = desired (102 vifs) $SYNC_MS ms after start, $(( (CHURN_DONE - RESTART_AT) / 1000000 )) ms of that the churn was still running"
}
check "after the restart the kernel equals the desired state" after_restart
list_now() { vif_list_ok && echo "$(echo $ONLINE | wc -w) vifs PROGRAMMED, synced true"; }
check "netvm vif list: desired vifs programmed, synced" list_now
backend_now() { local l; l=$(nvx backend | head -1); echo "$l"; [[ $l == active:*'(in sync)'* ]]; }
check "netvm backend: in sync" backend_now
if nvx help | grep -e '^  status ' >/dev/null; then
    status_now() { # first line: "netvm: in-sync" or "netvm: degraded: reasons"
        local v
        v=$(nvx status | head -1)
        echo "$v"
        [ "$v" = "netvm: in-sync" ]
    }
    check "netvm status: in sync" status_now
fi
gone_clean() {
    local d r=
    for d in $GOING; do
        ip -n "$NV" link show vif$d.0 >/dev/null 2>&1 && r="$r vif$d.0 exists;"
        ip -n "$NV" route show table all | grep -e "^$(guest_ip $d) " >/dev/null && r="$r route for $(guest_ip $d);"
    done
    [ -z "$r" ] || { echo "$r" | cut -c1-300; return 1; }
    echo "no device, route or element of the 50 departed guests"
}
check "departed guests left nothing behind" gone_clean

flow_ok() {
    local broken conns gap last_ok
    broken=$(grep BROKEN "$FLOW")
    conns=$(grep -c connected "$FLOW")
    [ -z "$broken" ] || { echo "the connection broke: $broken"; return 1; }
    [ "$conns" = 1 ] || { echo "$conns connections (must be one socket)"; return 1; }
    last_ok=$(grep ' ok ' "$FLOW" | tail -1 | cut -d' ' -f1)
    [ "$last_ok" -gt $(( RESTART_AT + ${SYNC_MS:-0} * 1000000 )) ] || { echo "no data after the restart settled (last echo $(( (last_ok - RESTART_AT) / 1000000 )) ms after the start)"; return 1; }
    local at
    read -r gap at < <(grep ' ok ' "$FLOW" | awk '{t=$1/1e6; if (p && t-p > g) {g=t-p; a=p}; p=t} END {printf "%.0f %.0f\n", g, a}')
    echo "one TCP connection, $(grep -c ' ok ' "$FLOW") echoes, still echoing after the restart; longest pause $gap ms (one echo every 50 ms), from $(( at - KILL_AT / 1000000 )) ms after the kill = $(( at - RESTART_AT / 1000000 )) ms after the new agent was launched"
    # the restart must not stop the flow: the previous run's rules and forwarding stay in force, and
    # the first apply already holds every guest (a pause of seconds meant traffic was cut)
    [ "$gap" -lt 1000 ] || { echo "the flow stalled for $gap ms from $(( at - KILL_AT / 1000000 )) ms after the kill ($(( at - RESTART_AT / 1000000 )) ms after the launch): the restart cut traffic"; return 1; }
}
check "established flow of an untouched guest survives kill -9 and restart" flow_ok
conntrack_kept() {
    local c
    c=$(ip netns exec "$NV" conntrack -L -p tcp --dport 7000 2>/dev/null | grep ESTABLISHED)
    [ -n "$c" ] || { echo "no ESTABLISHED conntrack entry for the flow"; return 1; }
    echo "$(echo "$c" | grep -o 'src=[^ ]* dst=[^ ]* sport=[^ ]* dport=[^ ]*' | head -1)"
}
check "the flow's conntrack entry is still established" conntrack_kept

hole_check() {
    local spoofed sent_s sent_l legit
    spoofed=$(( $(upcount spoofed) - SPOOF0 ))
    legit=$(( $(upcount legit) - LEGIT0 ))
    sent_s=$(cat "$RUN/spoof.sent")
    sent_l=$(cat "$RUN/legit.sent")
    [ "$sent_s" -gt 0 ] || { echo "no forged packet was sent"; return 1; }
    [ "$legit" -gt 0 ] || { echo "no true-source packet arrived either: the path was never open"; return 1; }
    echo "forged source: $sent_s sent across kill and restart (one every 2 ms), $spoofed arrived; true source: $sent_l sent, $legit arrived"
    [ "$spoofed" = 0 ]
}
check "no hole: forged packets never reach the upstream during kill and restart" hole_check

# --- 6. a graceful restart (SIGTERM, as `systemctl restart` does): the runtime stops, and nothing of
# what it programmed is undone; the next start takes over without a pause in the flow or a hole
STOP2=$RUN/senders2.stop
gexec 2 "${PKT[@]}" udp-until 10.137.0.98 198.51.100.1 40003 "$STOP2" 0.002 > "$RUN/spoof2.sent" &
NT_PIDS+=($!)
SPOOF1=$(upcount spoofed)
FWD_LOG=$RUN/forwarding.log
( while [ ! -e "$STOP2" ]; do ip netns exec "$NV" cat /proc/sys/net/ipv4/ip_forward; sleep 0.02; done ) > "$FWD_LOG" 2>/dev/null &
NT_PIDS+=($!)
sleep 0.3
TERM_AT=$(now_ns)
kill -TERM "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null
TERM_EXIT_MS=$(ms_since $TERM_AT)
RESTART2_AT=$(now_ns)
start_agent || { fail "the agent starts again after SIGTERM" "see above"; e2e_finish; }
SYNC2_MS=
for _ in $(seq 1 300); do
    if in_sync; then SYNC2_MS=$(ms_since $RESTART2_AT); break; fi
    sleep 0.1
done
sleep 0.5
touch "$STOP2"
sleep 0.3
graceful_ok() {
    [ -n "$SYNC2_MS" ] || { echo "not in sync 30 s after the restart: $(state_diff | head -3 | tr '\n' ' ')"; return 1; }
    local zeros spoofed gap at
    zeros=$(grep -c '^0$' "$FWD_LOG")
    [ "$zeros" = 0 ] || { echo "IP forwarding was seen off $zeros times (every 20 ms) around the restart"; return 1; }
    spoofed=$(( $(upcount spoofed) - SPOOF1 ))
    [ "$spoofed" = 0 ] || { echo "$spoofed forged packets reached the upstream"; return 1; }
    read -r gap at < <(grep ' ok ' "$FLOW" | awk -v t0="$TERM_AT" '$1 >= t0 - 1e9 {t=$1/1e6; if (p && t-p > g) {g=t-p; a=p}; p=t} END {printf "%.0f %.0f\n", g, a}')
    [ -n "$gap" ] && [ "$gap" -lt 1000 ] || { echo "the flow stalled for ${gap:-?} ms around the graceful restart"; return 1; }
    echo "stopped in $TERM_EXIT_MS ms, in sync $SYNC2_MS ms after the new start; forwarding on throughout ($(grep -c . "$FWD_LOG") samples), flow's longest pause $gap ms, $(cat "$RUN/spoof2.sent") forged packets, 0 arrived"
}
check "graceful restart (SIGTERM): forwarding and rules stay, the flow goes on, no hole" graceful_ok

e2e_finish
