#!/bin/bash
# tests/bench/coldstart.sh [N ...] - cold start of the netvm agent with N guests attached, and the
# kernel floor of the same per-vif work, side by side, in one run (default N: 1000 2000 5000 10000).
# As root, in network namespaces of its own (removed afterwards).
#
# For each N:
#   agent   N guests attached before the agent starts (keys in dom0's xenstore, the real C xenstored;
#           N veth pairs vifD.0 in a fresh namespace, guest ends up without IPv6), then the agent is launched and
#           timed from launch (date before exec): runtime ready (the control socket listens; from
#           the agent's log), vif inputs complete (xenstore scan + link list), the dataplane's first
#           apply (every guest's anti-spoof elements + the base policy), all N host routes of
#           protocol 110 in the kernel (polled every 20 ms, the last vif's route first, then all
#           counted; they go in last, after each link is up),
#           every vif's status published (the "vif start-up done" line; in builds before it, the last
#           "vif event" line); then checked: every vif
#           programmed and the backend in sync (netvm vif list / backend). "From ready" = the same
#           moment minus runtime ready. CPU: the agent's user+system time at that moment.
#   floor   the same per-vif kernel work without netvm, the way the agent does it (IPv4-only vifs,
#           IPv6 disabled before link-up), in a fresh namespace with N veth pairs: sysctls
#           (disable_ipv6=1, proxy_arp=1; one shell, builtins), permanent neighbours (ip -batch),
#           the anti-spoof set with 2N elements (one nft -f), links group 2 up, host routes, the
#           gateway address on each vif (one ip -batch each); its total is the floor.
#
# COLDSTART_BEFORE=DIR also runs the agent of another build (DIR/bin/netvm, e.g. a copy of main's
#   distribution/{bin,target} with launch/config next to it) on the same N, in the same run.
# COLDSTART_FLOOR_ORDER=agent: the floor brings each vif up, adds its route and its gateway address in
#   turn (one batch, the agent's order) instead of all links, then all routes, then all addresses: on
#   this kernel a route among N devices that are all up costs far more (10 000 guests: host routes
#   91 s of a 105 s floor, while the agent programmed everything in 13.7 s).
# COLDSTART_REPEAT=K runs each agent K times per N (after and before alternating), to see the spread.
# COLDSTART_SETTLE=S: seconds to wait after each agent's namespace is deleted (default 3).
# COLDSTART_IDLE=S: then the agent's CPU over S seconds with the N guests and nothing changing (its periodic
#   checks: what a netvm with N guests costs at rest).
# COLDSTART_JAVA=PATH: the Java the agent runs on (default: the jlink runtime distribution/target/jre
#   if built, else bin/netvm's choice); an AOT cache is made once per jar (netvm aot-cache) unless
#   COLDSTART_AOT=0. COLDSTART_LOG=DIR keeps each agent's log there.
# Output: readable lines; tests/bench/coldstart-latest.txt keeps the last run (redirect it there).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../e2e/lib.sh"
e2e_init bcold
SIZES=${*:-1000 2000 5000 10000}
STARTXS=$E2E_TOP/tests/harness/xenstored/start-xenstored.sh
# the C xenstored as dom0 runs it: without the harness's request trace (-T), which made every request
# ~10x slower (~3 000 reads/s instead of ~30 000) and the agent's xenstore steps with it; XS_TRACE=1: traced
export XS_TRACE=${XS_TRACE:-0}
command -v xenstore-write >/dev/null || { echo "needs xenstore-write (xenstore-utils)"; exit 1; }
JRE=$E2E_TOP/distribution/target/jre/bin/java
export NETVM_JAVA=${COLDSTART_JAVA:-$([ -x "$JRE" ] && echo "$JRE")}
NL=$'\n'
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
load() { cut -d' ' -f1-3 /proc/loadavg; }
# guest D's address and MAC into $IP and $MAC: no subshell (the set-up used to fork two per guest:
# under load ~20 ms each, most of a minute for 1 000 guests, many minutes for 10 000)
ip_of() { IP="10.$((128 + $1 / 65536)).$(($1 / 256 % 256)).$(($1 % 256))"; }
mac_of() { printf -v MAC '00:16:3e:%02x:%02x:%02x' $(($1 / 65536)) $(($1 / 256 % 256)) $(($1 % 256)); }
echo "# cold start benchmark, $(date -u +%Y-%m-%dT%H:%MZ), commit $(git -C "$E2E_TOP" rev-parse --short HEAD 2>/dev/null)$(git -C "$E2E_TOP" diff --quiet 2>/dev/null || echo '+changes'), $(nproc) CPUs, load $(load), kernel $(uname -r)"
echo "# java: ${NETVM_JAVA:-chosen by bin/netvm}; AOT cache: $([ "${COLDSTART_AOT:-1}" = 1 ] && echo yes || echo no); C xenstored request trace: $([ "$XS_TRACE" = 0 ] && echo "off (as in dom0)" || echo on)"

# veths NS N: N veth pairs vifD.0 <-> gD in NS (vif MAC fe:ff:ff:ff:ff:ff, guest end up with its MAC, IPv6 off)
veths() {
    local ns=$1 n=$2 d b=$RUN/batch
    ip netns add "$ns" || return 1
    ip -n "$ns" link set lo up
    for ((d = 1; d <= n; d++)); do echo "link add vif$d.0 type veth peer name g$d"; done > "$b"
    ip -n "$ns" -batch "$b" || return 1
    # the guest ends without IPv6 (one shell, builtins): no link-local address, DAD, router
    # solicitations and MLD reports of N guest devices on the kernel's workqueues while the agent runs
    ip netns exec "$ns" bash -c 'for ((d = 1; d <= '"$n"'; d++)); do echo 1 > /proc/sys/net/ipv6/conf/g$d/disable_ipv6; done' || return 1
    for ((d = 1; d <= n; d++)); do
        echo "link set vif$d.0 address fe:ff:ff:ff:ff:ff"
        mac_of $d
        echo "link set g$d address $MAC up"
    done > "$b"
    ip -n "$ns" -batch "$b"
}

# xenstore_keys N SOCKET: the netvm's keys and N guests' backend keys
xenstore_keys() {
    local n=$1 d args=(/local/domain/0/qubes-netvm-network 1 /local/domain/0/qubes-netvm-gateway $GW)
    for ((d = 1; d <= n; d++)); do
        ip_of $d
        mac_of $d
        args+=("$XSB/$d/0/ip" "$IP" "$XSB/$d/0/mac" "$MAC")
        if [ ${#args[@]} -ge 1000 ]; then XENSTORED_PATH=$2 xenstore-write "${args[@]}" || return 1; args=(); fi
    done
    [ ${#args[@]} = 0 ] || XENSTORED_PATH=$2 xenstore-write "${args[@]}"
}

# log_ms LOG PATTERN [last]: ms from LAUNCH to the first (last) log line matching PATTERN, or "?"
log_ms() {
    local ts
    if [ "${3:-}" = last ]; then ts=$(grep -e "$2" "$1" | tail -1 | cut -c1-23); else ts=$(grep -m1 -e "$2" "$1" | cut -c1-23); fi
    [ -n "$ts" ] && echo $(( $(date -d "${ts}Z" +%s%3N) - LAUNCH / 1000000 )) || echo "?"
}
cpu_ms() { # PID: user + system CPU time in ms
    local tck f
    tck=$(getconf CLK_TCK)
    f=$(cut -d' ' -f14,15 "/proc/$1/stat" 2>/dev/null) || { echo "?"; return; }
    echo $(( (${f% *} + ${f#* }) * 1000 / tck ))
}

# agent LABEL NETVM N: one cold start; prints one line
agent() {
    local label=$1 bin=$2 n=$3 cxs xspid log r routes_ms=? i cpu l ok setup0
    setup0=$(date +%s%N)
    NV=nvb-cs$n-$label-$SUF
    veths "$NV" "$n" || { echo "N=$n $label: could not create $n veth pairs"; return 1; }
    cxs=$RUN/cxs-$label-$n
    mkdir -p "$cxs"
    xspid=$(XS_STATE_DIR=$cxs "$STARTXS" "$cxs/socket" 2>"$cxs/start.err") || { echo "C xenstored: $(tail -3 "$cxs/start.err")"; return 1; }
    NT_PIDS+=($xspid)
    xenstore_keys "$n" "$cxs/socket" || return 1
    local lib
    lib=$(dirname "$bin")/../target
    if [ "${COLDSTART_AOT:-1}" = 1 ] && { [ ! -f "$lib/netvm.jar.aot" ] || [ "$lib/netvm.jar" -nt "$lib/netvm.jar.aot" ]; }; then
        "$bin" aot-cache >/dev/null 2>&1 || echo "# $label: no AOT cache, netvm aot-cache failed"
    fi
    log=$RUN/agent-$label-$n.log
    CTL=$RUN/ctl-$label-$n.sock
    local setup_ms
    setup_ms=$(ms "$setup0")
    sleep 1 # let the set-up's processes go
    local load0
    load0=$(load)
    LAUNCH=$(date +%s%N)
    ip netns exec "$NV" env NETVM_STATE="$RUN/felix-$label-$n" "$bin" run --role netvm \
        --xenstore "unix:$cxs/socket" --control "$CTL" </dev/null >"$log" 2>&1 &
    AGENT_PID=$!
    # polled every 20 ms: the route of the last vif (a dump filtered by device: little output) until
    # it is there, then all of them counted (a whole dump of N routes every 20 ms took most of a CPU
    # at 10 000 guests, away from the agent being measured)
    for ((i = 0; i < 30000; i++)); do
        if [ -n "$(ip -n "$NV" route show proto 110 dev "vif$n.0" 2>/dev/null)" ]; then
            r=$(ip -n "$NV" route show proto 110 2>/dev/null | grep -c ' dev vif')
            if [ "$r" -ge "$n" ]; then routes_ms=$(ms $LAUNCH); break; fi
        fi
        kill -0 $AGENT_PID 2>/dev/null || break
        sleep 0.02
    done
    local java
    java=$(pgrep -P "$AGENT_PID" java || echo "$AGENT_PID")
    cpu=$(cpu_ms "$java")
    ok=no
    for ((i = 0; i < 600; i++)); do
        l=$(nvx vif list 2>/dev/null) || { sleep 0.1; continue; }
        if [[ "${l%%$NL*}" == *'synced true'* ]] && [ "$(printf '%s\n' "$l" | grep -c ' programmed ')" -ge "$n" ] &&
            nvx backend 2>/dev/null | grep -e '^active: .*(in sync)' >/dev/null; then ok=yes; break; fi
        sleep 0.1
    done
    local ready inputs apply applyd status
    ready=$(log_ms "$log" 'control socket listening')
    inputs=$(log_ms "$log" 'vif inputs complete')
    apply=$(log_ms "$log" 'apply backend=.*outcome=ok')
    applyd=$(grep -m1 'apply backend=.*outcome=ok' "$log" | sed -n 's/.*duration_ms=\([0-9]*\).*/\1/p')
    status=$(log_ms "$log" 'vif start-up done')
    [ "$status" != "?" ] || status=$(log_ms "$log" 'vif event vif=' last) # a build before the summary line
    local from=?
    [ "$ready" != "?" ] && [ "$routes_ms" != "?" ] && from=$((routes_ms - ready))
    echo "N=$n agent ($label): all $n routes in ${routes_ms} ms after launch, ${from} ms after ready; runtime ready ${ready}, vif inputs complete ${inputs}, first apply done ${apply} (took ${applyd:-?}), last vif status ${status} ms; agent CPU ${cpu} ms; all programmed + in sync: $ok; load at launch $load0; set-up ${setup_ms} ms"
    if [ "${COLDSTART_IDLE:-0}" -gt 0 ] && [ "$ok" = yes ]; then # the agent's CPU with N guests and nothing happening
        local c0 c1 s0 s1 t0 tck
        tck=$(getconf CLK_TCK)
        c0=$(cpu_ms "$java"); s0=$(cut -d' ' -f15 "/proc/$java/stat"); t0=$(date +%s%N)
        sleep "$COLDSTART_IDLE"
        c1=$(cpu_ms "$java"); s1=$(cut -d' ' -f15 "/proc/$java/stat")
        local wall=$(( ($(date +%s%N) - t0) / 1000000 ))
        echo "N=$n agent ($label) idle: $((c1 - c0)) ms of CPU (system $(( (s1 - s0) * 1000 / tck ))) in ${wall} ms with $n guests and nothing changing ($(( (c1 - c0) * 1000 / wall )) per mille of a CPU)"
    fi
    [ -z "${COLDSTART_LOG:-}" ] || { mkdir -p "$COLDSTART_LOG"; cp "$log" "$COLDSTART_LOG/agent-$label-$n-$(date +%s).log"; }
    kill "$AGENT_PID" 2>/dev/null
    wait "$AGENT_PID" 2>/dev/null
    AGENT_PID=
    kill "$xspid" 2>/dev/null
    ip netns del "$NV"
    sleep "${COLDSTART_SETTLE:-3}" # the kernel frees the namespace's N devices meanwhile, not during the next run
}

# floor N: the agent's per-vif kernel work without netvm; prints one line
floor() {
    local n=$1
    local ns=nvb-floor$n-$SUF d total=0 out=""
    veths "$ns" "$n" || { echo "N=$n floor: could not create $n veth pairs"; return 1; }
    step() { # NAME CMD...: times CMD, adds it to the total
        local s e
        s=$(date +%s%N)
        "${@:2}" >/dev/null || echo "N=$n floor: $1 failed" >&2
        e=$(( ($(date +%s%N) - s) / 1000000 ))
        total=$((total + e))
        out+="$1 $e, "
    }
    printf 'for d in $(seq 1 %d); do echo 1 > /proc/sys/net/ipv6/conf/vif$d.0/disable_ipv6; echo 1 > /proc/sys/net/ipv4/conf/vif$d.0/proxy_arp; done\n' "$n" > "$RUN/f-sysctl"
    for ((d = 1; d <= n; d++)); do ip_of $d; mac_of $d; echo "neigh replace $IP lladdr $MAC dev vif$d.0 nud permanent"; done > "$RUN/f-neigh"
    {
        echo "table inet floor { set downstream { type ipv4_addr; }; set allowed { type ifname . ipv4_addr; }; }"
        for ((d = 1; d <= n; d++)); do
            ip_of $d
            echo "add element inet floor downstream { $IP }"
            echo "add element inet floor allowed { \"vif$d.0\" . $IP }"
        done
    } > "$RUN/f-nft"
    for ((d = 1; d <= n; d++)); do echo "link set dev vif$d.0 group 2 up"; done > "$RUN/f-up"
    for ((d = 1; d <= n; d++)); do ip_of $d; echo "route replace $IP dev vif$d.0 metric $((32752 - d)) proto 110"; done > "$RUN/f-route"
    for ((d = 1; d <= n; d++)); do echo "addr replace $GW/32 dev vif$d.0"; done > "$RUN/f-addr"
    sleep 1
    local load0
    load0=$(load)
    step sysctls ip netns exec "$ns" bash "$RUN/f-sysctl"
    step neighbours ip -n "$ns" -batch "$RUN/f-neigh"
    step "nft set elements" ip netns exec "$ns" nft -f "$RUN/f-nft"
    if [ "${COLDSTART_FLOOR_ORDER:-phases}" = agent ]; then
        # the agent's order: each vif's link up, host route and gateway address in turn, one batch
        paste -d '\n' "$RUN/f-up" "$RUN/f-route" "$RUN/f-addr" > "$RUN/f-pervif"
        step "per vif: link up, host route, gateway address" ip -n "$ns" -batch "$RUN/f-pervif"
    else
        step "links group 2 up" ip -n "$ns" -batch "$RUN/f-up"
        step "host routes" ip -n "$ns" -batch "$RUN/f-route"
        step "gateway addresses" ip -n "$ns" -batch "$RUN/f-addr"
    fi
    echo "N=$n floor: ${total} ms (${out%, }); load at start $load0"
    ip netns del "$ns"
}

for N in $SIZES; do
    floor "$N"
    for ((rep = 0; rep < ${COLDSTART_REPEAT:-1}; rep++)); do
        agent after "$NETVM" "$N"
        [ -z "${COLDSTART_BEFORE:-}" ] || agent before "$COLDSTART_BEFORE/bin/netvm" "$N"
    done
done
echo "# load at the end $(load)"
