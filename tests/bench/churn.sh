#!/bin/bash
# tests/bench/churn.sh [N] - issue 12 goal 5: a DNS change and one guest's firewall change while N guests
# (default 1000) are attached, each with the 20 Qubes firewall rules of tests/bench/firewall.sh, and vifs
# churn. One run, as root, in network namespaces of its own (removed afterwards); the real runtime with its
# embedded xenstored, the nftables backend (libnftables), the firewall on (qubes-service/qubes-firewall=1).
#
#   attach     N guests: backend/vif/D/0/{ip,mac} and qubes-firewall/D/{policy,0000..0019} + the "done"
#              write, written with xenstore-write on the embedded store's socket (as a toolstack would), N
#              veth pairs vifD.0 <-> gD in the netvm namespace (the vif bundle programs them from the xenstore
#              and link events), then qubes-service/qubes-firewall=1; waits until every vif is programmed and
#              every firewall handled
#   probe      tests/bench/nft_events.py, one long-lived process in the netvm namespace: it listens to the
#              kernel's nf_tables events (what `nft monitor` shows, sent when a transaction commits; no
#              polling, no process per sample) and answers when the event it was told to wait for arrives.
#              nft 1.0.6's own monitor crashes on range elements of concatenations, the earlier probe.
#   dns        resolv.conf of the netvm namespace rewritten (bash builtins, no process), alternating between
#              two upstream lists; latency = just before the write until the kernel has announced both the
#              new DNAT rule (a NEWRULE holding DNS1 and the new upstream's address) and the new element of
#              the firewall's DNS set fw-dns4 (the upstreams a specialtarget=dns rule accepts)
#   firewall   guest N/2's rule 0001 changed (dstports 8001-8080 / 8002-8080) and the "done" write, sent by the
#              probe on its own xenstore connection (no xenstore-write process start in the figure); latency
#              = just before the first write is sent until the kernel announces the guest's new element
#              (a NEWSETELEM holding the guest's address and the new first port)
#   churn      a background loop takes the vifs of CHURN_GUESTS (default 50) attached guests offline and
#              online again, one after the other, as Xen does: link removed + the hotplug script "offline",
#              link added + the hotplug script "online" (which returns once the vif is programmed), 50 ms
#              between; the guests keep their xenstore keys and firewall rules
# Each kind is measured CHURN_REPS times (default 40) first with no churn (the baseline of the same run), then
# while the vifs churn; p50/p90/p99/max and the load are printed, then where the agent says the time went
# (its apply lines).
# Output: readable lines; keep the runs in tests/bench/churn-latest.txt (newest on top).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../e2e/lib.sh"
e2e_init bchurn
N=${1:-1000}
REPS=${CHURN_REPS:-40}
CHURNERS=${CHURN_GUESTS:-50}
command -v xenstore-write >/dev/null || { echo "needs xenstore-write (xenstore-utils)"; exit 1; }
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
us() { echo "${EPOCHREALTIME/./}"; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
FW=$NV_HOME/qubes-firewall
xsw() { XENSTORED_PATH=$XS xenstore-write "$@"; }
echo "# churn benchmark (issue 12 goal 5), $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load $(load), kernel $(uname -r), N=$N"

# ip_mac D: guest D's address and MAC (testlib's guest_ip, guest_mac) in IP and MAC, without a fork
ip_mac() { IP="10.137.$(( $1 / 200 )).$(( 10 + $1 % 200 ))"; printf -v MAC '00:16:3e:5e:%02x:%02x' $(( $1 / 256 )) $(( $1 % 256 )); }
[ "$(ip_mac 777; echo "$IP $MAC")" = "$(guest_ip 777) $(guest_mac 777)" ] || { echo "ip_mac differs from the testlib"; exit 1; }

# rules D VARIANT: guest D's 20 rules as path/value pairs (the same as FirewallBenchmark.rules(D, VARIANT)),
# appended to the array args (builtins only: a fork per rule made 1 000 guests take ~9 min on a loaded machine)
rules() {
    local d=$1 v=$2 i n
    local r=("action=accept proto=tcp dst4=192.168.$((d % 250)).0/24 dstports=443"
        "action=accept proto=tcp dstports=$((8000 + v))-8080"
        "action=accept specialtarget=dns"
        "action=accept proto=icmp icmptype=8"
        "action=drop dst6=2001:db8::/32"
        "action=accept proto=udp dst4=10.20.$((d % 250)).1 dstports=123")
    args+=("$FW/$d/policy" drop)
    for ((i = 0; i < 20; i++)); do
        printf -v n %04d $i
        if [ $i -lt 6 ]; then args+=("$FW/$d/$n" "${r[i]}"); else
            args+=("$FW/$d/$n" "action=accept proto=tcp dst4=172.16.$i.$((d % 250)) dstports=$((1000 + i))"); fi
    done
}

setup_upstream || { echo "setup: upstream namespace failed"; exit 1; }
# The agent reads the netvm namespace's resolv.conf at its real path, as a netvm's agent reads its own
# /etc/resolv.conf: a plain file, so inotify tells of every write. Through the bind mount `ip netns exec`
# puts over /etc/resolv.conf no event arrives and the 5 ms stat poll finds the change (2.5 ms more on
# average, a cost no netvm has); CHURN_RESOLV=bind measures that way.
if [ "${CHURN_RESOLV:-file}" = file ]; then
    sed "s|\"resolvConf\": \"/etc/resolv.conf\"|\"resolvConf\": \"/etc/netns/$NV/resolv.conf\"|" \
        "$E2E_TOP/launch/config/netvm.json" > "$RUN/netvm-churn.json"
    grep -q "\"/etc/netns/$NV/resolv.conf\"" "$RUN/netvm-churn.json" || { echo "setup: no resolvConf in launch/config/netvm.json"; exit 1; }
    export NETVM_CONFIG=$RUN/netvm-churn.json
fi
echo "# resolv.conf read by the agent: ${CHURN_RESOLV:-file} ($([ "${CHURN_RESOLV:-file}" = file ] && echo "its real path, inotify" || echo "through the ip netns exec bind mount, stat poll"))"
AGENT_START_LIMIT=120
start_agent || { echo "the agent did not start"; exit 1; }
write_netvm_keys
XENSTORED_PATH=$XS xenstore-read $NV_HOME >/dev/null || { echo "xenstore-read on the embedded store ($XS) failed"; exit 1; }

# --- attach N guests
t=$(date +%s%N)
args=()
for ((d = 1; d <= N; d++)); do
    ip_mac $d
    args+=("$XSB/$d/0/ip" "$IP" "$XSB/$d/0/mac" "$MAC")
    rules $d 0
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
    ip_mac $d
    echo "link set g$d address $MAC up"
done > "$b"
ip -n "$NV" -batch "$b" || exit 1
# the firewall service last: one pass reads every guest's rules (with it on while the keys are written, each
# guest's rules are read and applied as they arrive, ~30 min for 1 000 guests on a loaded machine)
xsw $NV_HOME/qubes-service/qubes-firewall 1 || exit 1
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

# --- the probe: one process in the netvm namespace, asked on its stdin, answering on its stdout
coproc PROBE { exec ip netns exec "$NV" "$PY" "$HERE/nft_events.py"; }
NT_PIDS+=($PROBE_PID)
PROBE_IN=${PROBE[1]}
PROBE_OUT=${PROBE[0]}
hexip() { local IFS=.; printf '%02x' $1; } # hexip A.B.C.D: its 4 bytes as hex, network order
hexport() { printf '%04x0000' "$1"; }      # a port in a 32-bit nf_tables register
probe_ask() { # LINE...: sends the tab-joined fields, reads the answer into REPLY_F (array), skipping late "seen" lines
    local IFS=$'\t'
    echo "$*" >&"$PROBE_IN"
    while read -r -t 10 -a REPLY_F <&"$PROBE_OUT"; do
        [ "${REPLY_F[0]}" = seen ] || return 0
    done
    return 1
}
probe_seen() { # ID...: the arrival time (us) of the last of the events watched as ID..., each within 5 s
    local f n=$# last=0 want=" $* "
    while [ $n -gt 0 ]; do
        IFS=$'\t' read -r -t 5 -a f <&"$PROBE_OUT" || return 1
        [ "${f[0]}" = seen ] && [[ $want == *" ${f[1]} "* ]] || continue # a late answer to an earlier change
        [ "${f[2]}" -gt $last ] && last=${f[2]}
        n=$((n - 1))
    done
    echo $last
}

# measure KIND OUT: REPS changes of KIND (dns|firewall), each latency in us appended to OUT ("timeout" if unseen)
FG=$((N / 2))
FG_HEX=$(hexip "$(guest_ip $FG)")
DNS1_HEX=$(hexip "$DNS1")
MEASURE_LOG=$RUN/measure.log
: > "$MEASURE_LOG"
# alternation counts across phases (SEQ), so that an odd CHURN_REPS does not make a phase's first change
# write what the previous phase's last one wrote (no change, nothing to see: a timeout)
SEQ_dns=0
SEQ_firewall=0
measure() {
    local kind=$1 out=$2 i t0 at up v ids seq
    for ((i = 1; i <= REPS; i++)); do
        seq=SEQ_$kind
        printf -v "$seq" %d $(( ${!seq} + 1 ))
        if [ "$kind" = dns ]; then
            if [ $(( ${!seq} % 2)) = 1 ]; then up=198.51.100.5; else up=198.51.100.1; fi
            # the DNAT rule and the firewall's DNS set (fw-dns4, the upstreams a specialtarget=dns rule accepts)
            probe_ask watch "$kind$i" newrule "$DNS1_HEX" "$(hexip $up)" && [ "${REPLY_F[0]}" = ok ] || { echo "probe silent"; exit 1; }
            probe_ask watch "$kind$i.set" newsetelem "$(hexip $up)" && [ "${REPLY_F[0]}" = ok ] || { echo "probe silent"; exit 1; }
            ids=("$kind$i" "$kind$i.set")
            t0=$(us)
            if [ $up = 198.51.100.5 ]; then set_upstreams 198.51.100.5; else set_upstreams 198.51.100.1 198.51.100.3; fi
        else
            v=$((1 + ${!seq} % 2))
            probe_ask watch "$kind$i" newsetelem "$FG_HEX" "$(hexport $((8000 + v)))" && [ "${REPLY_F[0]}" = ok ] || { echo "probe silent"; exit 1; }
            probe_ask write "$XS" "$FW/$FG/0001" "action=accept proto=tcp dstports=$((8000 + v))-8080" "$FW/$FG" ""
            [ "${REPLY_F[0]}" = wrote ] || { echo "probe: xenstore write failed: ${REPLY_F[*]}"; exit 1; }
            t0=${REPLY_F[1]}
            ids=("$kind$i")
        fi
        if at=$(probe_seen "${ids[@]}"); then
            echo $((at - t0)) >> "$out"
            echo "$(date -u +%H:%M:%S.%3N) $kind $i $((at - t0)) us" >> "$MEASURE_LOG"
        else
            echo timeout >> "$out"
            echo "$(date -u +%H:%M:%S.%3N) $kind $i timeout" >> "$MEASURE_LOG"
        fi
        sleep 0.25
    done
}

# pct: p50, p90, p99, max (ms, from us) of the numbers on stdin, and how many timed out (nearest rank)
pct() {
    sort -n | awk '/timeout/ {t++; next} {v[++n]=$1} END {if (!n) {print "no samples"; exit}
        split("50 90 99", q, " "); s = ""
        for (k = 1; k <= 3; k++) {i = int(n * q[k] / 100 + 0.999); if (i < 1) i = 1; s = s sprintf("p%s %.1f ms, ", q[k], v[i] / 1000)}
        printf "%smax %.1f ms (n=%d%s)", s, v[n] / 1000, n, t ? ", " t " not seen within 5 s" : ""}'
}

# churn: vifs of guests 1..CHURNERS (not FG) offline and online in turn until $RUN/churn.stop exists; counts in churn.count
churn() {
    local i=0 d
    while [ ! -e "$RUN/churn.stop" ]; do
        d=$((1 + i % CHURNERS))
        [ $d = $FG ] && d=$((CHURNERS + 1))
        ip -n "$NV" link del "vif$d.0" 2>/dev/null
        vif_hotplug offline $d >/dev/null 2>&1
        sleep 0.05
        ip -n "$NV" link add "vif$d.0" type veth peer name "g$d" 2>/dev/null
        ip -n "$NV" link set "vif$d.0" address fe:ff:ff:ff:ff:ff 2>/dev/null
        ip -n "$NV" link set "g$d" address "$(guest_mac $d)" up 2>/dev/null
        vif_hotplug online $d >/dev/null 2>&1 || echo "churn: vif$d.0 online failed" >> "$RUN/churn.err"
        i=$((i + 1))
        echo $i > "$RUN/churn.count"
        sleep 0.05
    done
}

# the agent's apply lines between two log line numbers for OWNER: their count and median duration
applies_of() { # FROM TO OWNER-REGEX
    sed -n "$1,$2p" "$RUN/netvm.log" | grep 'apply backend=' | grep -E "owners=\"[^\"]*($3)" |
        sed -n 's/.*duration_ms=\([0-9]*\).*/\1/p' | sort -n |
        awk '{v[++n]=$1} END {if (!n) {printf "no apply lines"; exit} printf "%d apply lines, median %d ms, max %d ms", n, v[int((n+1)/2)], v[n]}'
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
    l0=$(wc -l < "$RUN/netvm.log")
    measure dns "$RUN/$phase.dns"
    load_dns=$(load)
    l1=$(wc -l < "$RUN/netvm.log")
    measure firewall "$RUN/$phase.fw"
    load_fw=$(load)
    l2=$(wc -l < "$RUN/netvm.log")
    extra=
    if [ $phase = churning ]; then
        c1=$(cat "$RUN/churn.count" 2>/dev/null || echo 0)
        secs=$(( $(ms $tc) / 1000 ))
        touch "$RUN/churn.stop"
        wait $CHURN_PID 2>/dev/null
        extra=" ($((c1 - c0)) vifs offline+online in ${secs} s meanwhile$([ -s "$RUN/churn.err" ] && echo ", $(grep -c . "$RUN/churn.err") online failures"))"
    fi
    echo "$phase$extra:"
    echo "  DNS change (resolv.conf write -> DNAT rule in the kernel): $(pct < "$RUN/$phase.dns"); load $load_dns"
    echo "    agent: $(applies_of "$l0" "$l1" 'dns')"
    echo "  one guest's firewall change (xenstore write -> its element in the kernel): $(pct < "$RUN/$phase.fw"); load $load_fw"
    echo "    agent: $(applies_of "$l1" "$l2" "firewall/$FG\\b")"
done
probe_ask stop
echo "goal (issue 12): both <= 20 ms while $N guests are attached and vifs churn; probe: ${REPLY_F[*]} (lost kernel events)"
drift=$(grep -c 'drift in ' "$RUN/netvm.log")
echo "agent log: $(grep -c 'apply backend=' "$RUN/netvm.log") apply lines, $drift drift repairs, $(grep -c ' WARN \| ERROR ' "$RUN/netvm.log") warnings/errors"
# CHURN_LOGS=DIR keeps the agent's log and the samples with their times
[ -z "${CHURN_LOGS:-}" ] || { mkdir -p "$CHURN_LOGS" && cp "$RUN/netvm.log" "$MEASURE_LOG" "$CHURN_LOGS/"; }
kill "$AGENT_PID" 2>/dev/null
wait "$AGENT_PID" 2>/dev/null
AGENT_PID=
