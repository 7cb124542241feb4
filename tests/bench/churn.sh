#!/bin/bash
# tests/bench/churn.sh [N] - issue 12 goal 5: a DNS change and one guest's firewall change while N guests
# (default 1000) are attached, each with the 20 Qubes firewall rules of tests/bench/firewall.sh, and vifs
# churn. One run, as root, in network namespaces of its own (removed afterwards); the real runtime with its
# embedded xenstored, the nftables backend (libnftables), the firewall on (qubes-service/qubes-firewall=1).
#
#   attach     N guests: backend/vif/D/0/{ip,mac} and qubes-firewall/D/{policy,0000..0019} + the "done"
#              write, written with xenstore-write on the embedded store's socket (as a toolstack would), N
#              veth pairs vifD.0 <-> gD in the netvm namespace (the vif bundle programs them from the xenstore
#              and link events); waits until every vif is programmed and every firewall handled
#   dns        resolv.conf of the netvm namespace edited in place, alternating between two upstream lists;
#              latency = the write until `nft monitor` shows the new DNAT rule (dnat to the new upstream)
#   firewall   guest N/2's rule 0001 changed (dstports 8001-8080 / 8002-8080) and the "done" write, one
#              xenstore-write; latency = before that write until `nft monitor` shows the new port range
#   churn      a background loop adds and removes vifs of 50 other guests (keys, veth pair, then link and keys
#              removed), no pause but 50 ms between add and remove
# Each kind is measured CHURN_REPS times (default 15) first with no churn (the baseline of the same run), then
# while the vifs churn; p50/p90/max and the load are printed.
# Output: readable lines; keep the last run in tests/bench/churn-latest.txt (redirect it there).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../e2e/lib.sh"
e2e_init bchurn
N=${1:-1000}
REPS=${CHURN_REPS:-15}
CHURNERS=50
command -v xenstore-write >/dev/null || { echo "needs xenstore-write (xenstore-utils)"; exit 1; }
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
us() { echo "${EPOCHREALTIME/./}"; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
FW=$NV_HOME/qubes-firewall
xsw() { XENSTORED_PATH=$XS xenstore-write "$@"; }
echo "# churn benchmark (issue 12 goal 5), $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load $(load), kernel $(uname -r), N=$N"

# rules D VARIANT: guest D's 20 rules as path/value pairs (the same as FirewallBenchmark.rules(D, VARIANT))
rules() {
    local d=$1 v=$2 i
    local r=("action=accept proto=tcp dst4=192.168.$((d % 250)).0/24 dstports=443"
        "action=accept proto=tcp dstports=$((8000 + v))-8080"
        "action=accept specialtarget=dns"
        "action=accept proto=icmp icmptype=8"
        "action=drop dst6=2001:db8::/32"
        "action=accept proto=udp dst4=10.20.$((d % 250)).1 dstports=123")
    printf '%s\n%s\n' "$FW/$d/policy" drop
    for ((i = 0; i < 20; i++)); do
        printf '%s\n' "$FW/$d/$(printf %04d $i)"
        if [ $i -lt 6 ]; then printf '%s\n' "${r[i]}"; else printf '%s\n' "action=accept proto=tcp dst4=172.16.$i.$((d % 250)) dstports=$((1000 + i))"; fi
    done
}

setup_upstream || { echo "setup: upstream namespace failed"; exit 1; }
AGENT_START_LIMIT=120
start_agent || { echo "the agent did not start"; exit 1; }
write_netvm_keys
xsw $NV_HOME/qubes-service/qubes-firewall 1 || { echo "xenstore-write on the embedded store ($XS) failed"; exit 1; }

# --- attach N guests
t=$(date +%s%N)
args=()
for ((d = 1; d <= N; d++)); do
    args+=("$XSB/$d/0/ip" "$(guest_ip $d)" "$XSB/$d/0/mac" "$(guest_mac $d)")
    mapfile -t -O ${#args[@]} args < <(rules $d 0)
    if [ ${#args[@]} -ge 2000 ]; then xsw "${args[@]}" || exit 1; args=(); fi
done
[ ${#args[@]} = 0 ] || xsw "${args[@]}" || exit 1
args=()
for ((d = 1; d <= N; d++)); do args+=("$FW/$d" ""); done # the "done" writes
xsw "${args[@]}" || exit 1
XS_MS=$(ms $t)
t=$(date +%s%N)
b=$RUN/batch
for ((d = 1; d <= N; d++)); do echo "link add vif$d.0 type veth peer name g$d"; done > "$b"
ip -n "$NV" -batch "$b" || exit 1
for ((d = 1; d <= N; d++)); do
    echo "link set vif$d.0 address fe:ff:ff:ff:ff:ff"
    echo "link set g$d address $(guest_mac $d) up"
done > "$b"
ip -n "$NV" -batch "$b" || exit 1
handled_all() { [ "$(XENSTORED_PATH=$XS xenstore-ls $NV_HOME/qubes-firewall-handled 2>/dev/null | grep -c ' = "1"')" -ge "$N" ]; }
attached() {
    local l
    l=$(nvx vif list 2>/dev/null) || return 1
    [ "$(printf '%s\n' "$l" | grep -c ' programmed ')" -ge "$N" ] && handled_all &&
        nvx backend 2>/dev/null | grep -e '^active: .*(in sync)' >/dev/null
}
wait_until 600 attached || { echo "not all $N guests programmed and their firewalls handled after 600 s"; exit 1; }
RULES=$(ip netns exec "$NV" nft list ruleset | grep -c -e ' accept$' -e ' drop$' -e ' reject' -e ' jump ' -e ' dnat ' -e ' goto ')
echo "attached: $N guests, xenstore keys in $XS_MS ms, programmed with their firewalls $(ms $t) ms after the links appeared (~$RULES nft rules); load $(load)"

# --- the monitor: every nft event with a timestamp (no fork per line)
MON=$RUN/monitor.txt
: > "$MON"
mkfifo "$RUN/mon.fifo"
ip netns exec "$NV" nft monitor > "$RUN/mon.fifo" 2>&1 &
NT_PIDS+=($!)
(while IFS= read -r l; do echo "${EPOCHREALTIME/./} $l"; done < "$RUN/mon.fifo" >> "$MON") &
NT_PIDS+=($!)
sleep 0.5

# seen MARK PATTERN: the timestamp (us) of the first monitor line after line MARK matching PATTERN (5 s)
seen() {
    local mark=$1 pat=$2 at= _
    for _ in $(seq 1 250); do
        at=$(tail -n +$((mark + 1)) "$MON" | grep -m1 -e "$pat" | cut -d' ' -f1)
        [ -n "$at" ] && { echo "$at"; return 0; }
        sleep 0.02
    done
    return 1
}

# measure KIND OUT: REPS changes of KIND (dns|firewall), each latency in ms appended to OUT ("timeout" if unseen)
FG=$((N / 2))
measure() {
    local kind=$1 out=$2 i mark t0 at pat
    for ((i = 1; i <= REPS; i++)); do
        mark=$(wc -l < "$MON")
        if [ "$kind" = dns ]; then
            if [ $((i % 2)) = 1 ]; then set_upstreams 198.51.100.5; pat="ip daddr $DNS1 udp dport 53 dnat to 198.51.100.5"
            else set_upstreams 198.51.100.1 198.51.100.3; pat="ip daddr $DNS1 udp dport 53 dnat to 198.51.100.1"; fi
            t0=$(us)
        else
            local v=$((1 + i % 2))
            # the new range's first port: nft monitor prints the end of a concatenation's range as garbage
            # ("8001-0x55b4...") with nft 1.0.x, so the pattern stops at the dash
            pat="^[0-9]* add .* $((8000 + v))-"
            t0=$(us)
            xsw "$FW/$FG/0001" "action=accept proto=tcp dstports=$((8000 + v))-8080" "$FW/$FG" ""
        fi
        if at=$(seen "$mark" "$pat"); then echo $(( (at - t0) / 1000 )) >> "$out"; else echo timeout >> "$out"; fi
        sleep 0.3
    done
}

# pct: p50, p90, max of the numbers on stdin, and how many timed out
pct() {
    sort -n | awk '/timeout/ {t++; next} {v[++n]=$1} END {if (!n) {print "no samples"; exit}
        i50=int((n+1)*0.5); i90=int(n*0.9+0.999); if (i50<1) i50=1; if (i90<1) i90=1
        printf "p50 %d ms, p90 %d ms, max %d ms (n=%d%s)", v[i50], v[i90], v[n], n, t ? ", " t " not seen within 5 s" : ""}'
}

# churn: add and remove vifs of guests N+1..N+50 in a loop until $RUN/churn.stop exists; counts in churn.count
churn() {
    local i=0 d
    while [ ! -e "$RUN/churn.stop" ]; do
        d=$((N + 1 + i % CHURNERS))
        xsw "$XSB/$d/0/ip" "$(guest_ip $d)" "$XSB/$d/0/mac" "$(guest_mac $d)"
        ip -n "$NV" link add "vif$d.0" type veth peer name "g$d" 2>/dev/null
        ip -n "$NV" link set "g$d" address "$(guest_mac $d)" up 2>/dev/null
        sleep 0.05
        ip -n "$NV" link del "vif$d.0" 2>/dev/null
        XENSTORED_PATH=$XS xenstore-rm "$XSB/$d" 2>/dev/null
        i=$((i + 1))
        echo $i > "$RUN/churn.count"
    done
}

for phase in quiet churning; do
    if [ $phase = churning ]; then
        rm -f "$RUN/churn.stop" "$RUN/churn.count"
        churn &
        CHURN_PID=$!
        NT_PIDS+=($CHURN_PID)
        sleep 2
        c0=$(cat "$RUN/churn.count" 2>/dev/null || echo 0)
        tc=$(date +%s%N)
    fi
    : > "$RUN/$phase.dns"
    : > "$RUN/$phase.fw"
    measure dns "$RUN/$phase.dns"
    measure firewall "$RUN/$phase.fw"
    extra=
    if [ $phase = churning ]; then
        c1=$(cat "$RUN/churn.count" 2>/dev/null || echo 0)
        secs=$(( $(ms $tc) / 1000 ))
        touch "$RUN/churn.stop"
        wait $CHURN_PID 2>/dev/null
        extra=" ($((c1 - c0)) vifs added and removed in ${secs} s meanwhile)"
    fi
    echo "$phase$extra: DNS change (resolv.conf write -> DNAT rule in the kernel): $(pct < "$RUN/$phase.dns"); load $(load)"
    echo "$phase$extra: one guest's firewall change (xenstore write -> its rule in the kernel): $(pct < "$RUN/$phase.fw"); load $(load)"
done
echo "goal (issue 12): both <= 20 ms while $N guests are attached and vifs churn"
drift=$(grep -c 'drift in ' "$RUN/netvm.log")
echo "agent log: $(grep -c 'apply backend=' "$RUN/netvm.log") apply lines, $drift drift repairs"
kill "$AGENT_PID" 2>/dev/null
wait "$AGENT_PID" 2>/dev/null
AGENT_PID=
