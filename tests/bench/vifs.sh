#!/bin/bash
# tests/bench/vifs.sh [N ...] - the netvm role's vif benchmark, one run, as root, in network
# namespaces of its own (removed afterwards). For each N (default: 1000 10000):
#
#   cold start   N guests are attached (keys in dom0's xenstore, the real C xenstored, and N veth
#                pairs vifD.0 in the netvm namespace) before the agent starts; figures: launch ->
#                control socket answers, launch -> every vif programmed and the dataplane in sync
#                (routes of protocol 110 counted in the kernel);
#   online       (first N only; VIF_BENCH_COUNT more guests, default 100) one guest at a time with N
#                attached: toolstack steps, then the hotplug call; p50/p90/p99 of the hotplug script
#                (vif-route-netvm: the agent's fast channel, shell builtins only) and of the agent's own part (the same
#                request over the control socket). The driver (vifs.py) joins the netvm namespace once, so each
#                call is one fork+exec of the script, as Xen's hotplug runs it in a netvm; a share of the calls
#                and a floor line still go through the former `ip netns exec` per call ("old wrapper");
#   baseline     the same with a script shaped like Qubes' vif-route-qubes (a process per step) in a
#                namespace holding the same N attached guests (routes, neighbours, an nft table with
#                N-element sets), so both pay for the same kernel state; run the same two ways.
#
# VIF_BENCH_BEFORE=FILE: the online part runs twice in the same run, first with the agent restarted under
# the configuration FILE (e.g. a feature switched off: the "before"), then under the default one again
# (its lines say "before (FILE)"; the second run's guests come on top of the first's).
# VIF_BENCH_BEFORE_BIN=LAUNCHER: the same, with the "before" agent started by another netvm launcher (e.g.
# bin/netvm of an install of the previous build, or a wrapper that sets NETVM_JVM_FLAGS); with or without
# VIF_BENCH_BEFORE (its configuration).
# VIF_BENCH_BASELINE=0 leaves the baseline out (an A/B of the agent only).
# VIF_BENCH_TRACE=K: K more guests (default 8) whose direct call runs under bash -x with EPOCHREALTIME
# stamps, for where the script's time goes (start, before the request, the agent, after the reply);
# VIF_BENCH_TRACE_KEEP=PATH keeps the last one.
# VIF_BENCH_STRACE=PATH: one more direct call under strace -f -tt, written to PATH.
# VIF_BENCH_HOTPLUG_BEFORE=PATH: another version of the hotplug script takes a share of the online calls
# (run directly, its own line "BEFORE"): an A/B of a script change in the same run.
# The native client (distribution/hotplug/vif-route-netvm.c, built here with hotplug/build.sh when a C
# compiler is there) takes a share of the online calls too (its own line "netvm hotplug client (native");
# VIF_BENCH_NATIVE=PATH runs another build, VIF_BENCH_NATIVE= (empty) leaves it out.
# VIF_BENCH_LOG=PATH keeps the agent's log as PATH.N (with NETVM_LOG_DEBUG=1: a per-step line per pass
# and per hotplug request).
# Output: readable lines; tests/bench/vifs-latest.txt keeps the last run (redirect it there).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../e2e/lib.sh"
e2e_init bvifs
SIZES=${*:-1000 10000}
M=${VIF_BENCH_COUNT:-100}
T=$((${VIF_BENCH_TRACE:-8} + ${VIF_BENCH_STRACE:+1}+0))   # guests more for the traced direct calls (vifs.py)
STARTXS=$E2E_TOP/tests/harness/xenstored/start-xenstored.sh
# the C xenstored as dom0 runs it: without the harness's request trace (-T), which made every request
# ~10x slower (~3 000 reads/s instead of ~30 000) and the agent's xenstore steps with it; XS_TRACE=1: traced
export XS_TRACE=${XS_TRACE:-0}
command -v xenstore-write >/dev/null || { echo "needs xenstore-write (xenstore-utils)"; exit 1; }
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
if [ -z "${VIF_BENCH_NATIVE+set}" ]; then
    native_hotplug "$RUN/native"
    export VIF_BENCH_NATIVE=$NATIVE_HOTPLUG
else
    export VIF_BENCH_NATIVE
fi
[ -n "$VIF_BENCH_NATIVE" ] || echo "# no native hotplug client (no C compiler): the bash script alone is measured"
echo "# vif benchmark, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), kernel $(uname -r)"
echo "# C xenstored request trace: $([ "$XS_TRACE" = 0 ] && echo "off (as in dom0)" || echo on)"

ip_of() { echo "10.$((128 + $1 / 65536)).$(($1 / 256 % 256)).$(($1 % 256))"; }
mac_of() { printf '00:16:3e:%02x:%02x:%02x' $(($1 / 65536)) $(($1 / 256 % 256)) $(($1 % 256)); }

# attach N D1: N veth pairs vifD.0 <-> gD, D = D1..D1+N-1, both ends in $NV (the guest ends carry
# no traffic here; one namespace keeps ip -batch from opening a netns file per line)
attach_links() {
    local n=$1 first=$2 d b
    b=$RUN/batch
    for ((d = first; d < first + n; d++)); do echo "link add vif$d.0 type veth peer name g$d"; done > "$b"
    ip -n "$NV" -batch "$b" || return 1
    for ((d = first; d < first + n; d++)); do
        echo "link set vif$d.0 address fe:ff:ff:ff:ff:ff"
        echo "link set g$d address $(mac_of $d) up"
    done > "$b"
    ip -n "$NV" -batch "$b"
}

# wait_programmed N: until the agent reports N vifs programmed, in sync with its backend (30 s at most)
wait_programmed() {
    local l
    for _ in $(seq 1 300); do
        l=$(nvx vif list 2>/dev/null) || { sleep 0.1; continue; }
        if [[ ${l%%$'\n'*} == *'synced true'* ]] && [ "$(printf '%s\n' "$l" | grep -c ' programmed ')" -ge "$1" ] &&
            nvx backend 2>/dev/null | grep -e '^active: .*(in sync)' >/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# restart_agent N CONFIG [LAUNCHER]: the agent stopped and started again under CONFIG (empty: the default)
# by LAUNCHER (default: this checkout's bin/netvm), N vifs programmed
restart_agent() {
    kill "$AGENT_PID" 2>/dev/null
    wait "$AGENT_PID" 2>/dev/null
    NETVM=${3:-$NETVM} NETVM_CONFIG=$2 start_agent "$RUN/felix$N" || { echo "the agent did not start again${2:+ under $2}${3:+ by $3}"; return 1; }
    wait_programmed "$1" || { echo "the restarted agent did not program $1 vifs"; return 1; }
}

for N in $SIZES; do
    NV=nvb-nv$N-$SUF
    PEER=nvb-peer$N-$SUF
    ip netns add "$NV" && ip netns add "$PEER" || exit 1
    ip -n "$NV" link set lo up
    CXS=$RUN/cxs$N
    mkdir -p "$CXS"
    XSPID=$(XS_STATE_DIR=$CXS "$STARTXS" "$CXS/socket" 2>"$CXS/start.err") || { echo "C xenstored: $(tail -3 "$CXS/start.err")"; exit 1; }
    NT_PIDS+=($XSPID)
    export XENSTORED_PATH=$CXS/socket
    t=$(date +%s%N)
    args=(/local/domain/0/qubes-netvm-network 1 /local/domain/0/qubes-netvm-gateway $GW)
    for ((d = 1; d <= N; d++)); do
        args+=("$XSB/$d/0/ip" "$(ip_of $d)" "$XSB/$d/0/mac" "$(mac_of $d)")
        if [ ${#args[@]} -ge 1000 ]; then xenstore-write "${args[@]}" || exit 1; args=(); fi
    done
    [ ${#args[@]} = 0 ] || xenstore-write "${args[@]}" || exit 1
    XS_MS=$(ms $t)
    t=$(date +%s%N)
    attach_links "$N" 1 || { echo "could not create $N veth pairs"; exit 1; }
    echo "N=$N: attached before the agent starts: xenstore keys in $XS_MS ms, $N veth pairs in $(ms $t) ms"

    # --- cold start
    CTL=$RUN/ctl$N.sock
    AGENT_XENSTORE=unix:$CXS/socket
    AGENT_START_LIMIT=120
    LAUNCH=$(date +%s%N)
    start_agent "$RUN/felix$N" || { echo "the agent did not start"; exit 1; }
    READY_MS=$AGENT_START_MS
    PROG_MS=
    for _ in $(seq 1 3000); do
        l=$(nvx vif list 2>/dev/null) || { sleep 0.1; continue; }
        if [[ ${l%%$'\n'*} == *'synced true'* ]] && [ "$(printf '%s\n' "$l" | grep -c ' programmed ')" -ge "$N" ] &&
            nvx backend 2>/dev/null | grep -e '^active: .*(in sync)' >/dev/null; then
            PROG_MS=$(ms $LAUNCH)
            break
        fi
        sleep 0.1
    done
    ROUTES=$(ip -n "$NV" route show proto 110 | grep -c ' dev vif')
    ELEMS=$(ip netns exec "$NV" nft -j list set inet netvm downstream | "$PY" -c 'import json,sys; print(sum(len(o["set"].get("elem", [])) for o in json.load(sys.stdin)["nftables"] if "set" in o))')
    RSS=$(awk '/VmRSS/ {print $2 / 1024}' /proc/$(pgrep -P "$AGENT_PID" java || echo "$AGENT_PID")/status 2>/dev/null | cut -d. -f1)
    if [ -n "$PROG_MS" ]; then
        echo "N=$N: cold start: control socket answers $READY_MS ms after launch; all $N vifs programmed and in sync $PROG_MS ms after launch ($ROUTES routes of proto 110, $ELEMS elements in @downstream; agent RSS ${RSS:-?} MiB)"
    else
        echo "N=$N: cold start: NOT programmed within 300 s ($ROUTES routes, $ELEMS elements)"
    fi

    # --- online latency with N attached (first size only), then the baseline
    if [ "$N" = "${SIZES%% *}" ]; then
        FIRST=$((N + 1))
        if [ -n "${VIF_BENCH_BEFORE:-}${VIF_BENCH_BEFORE_BIN:-}" ]; then
            BEFORE=$(basename "${VIF_BENCH_BEFORE:-}")${VIF_BENCH_BEFORE_BIN:+ by $VIF_BENCH_BEFORE_BIN}
            restart_agent "$N" "${VIF_BENCH_BEFORE:-}" "${VIF_BENCH_BEFORE_BIN:-}" || exit 1
            "$PY" "$HERE/vifs.py" netvm "$CTL" "$NV" "$PEER" "$CXS/socket" "$E2E_TOP/distribution/hotplug/vif-route-netvm" \
                "$FIRST" "$M" | sed "s|^|N=$N: online before ($BEFORE): |"
            echo "N=$N: online: load $(cut -d' ' -f1-3 /proc/loadavg) after the online runs before ($BEFORE)"
            restart_agent "$((N + M + T))" "" || exit 1
            FIRST=$((N + M + T + 1))
        fi
        "$PY" "$HERE/vifs.py" netvm "$CTL" "$NV" "$PEER" "$CXS/socket" "$E2E_TOP/distribution/hotplug/vif-route-netvm" \
            "$FIRST" "$M" | sed "s/^/N=$N: online: /" | tee "$RUN/online.txt"
    fi
    if [ "$N" = "${SIZES%% *}" ] && [ "${VIF_BENCH_BASELINE:-1}" != 0 ]; then
        B=nvb-base$N-$SUF
        BP=nvb-basepeer$N-$SUF
        ip netns add "$B" && ip netns add "$BP" || exit 1
        NV_SAVE=$NV PEER_SAVE=$PEER
        NV=$B PEER=$BP
        attach_links "$N" 1 || exit 1
        {
            echo "table ip qubes {"
            echo "  set downstream { type ipv4_addr; }"
            echo "  set allowed { type ifname . ipv4_addr; }"
            echo "  chain prerouting { type filter hook prerouting priority raw; policy accept; iifgroup 2 ip saddr != @downstream drop; }"
            echo "}"
            for ((d = 1; d <= N; d++)); do
                echo "add element ip qubes downstream { $(ip_of $d) }"
                echo "add element ip qubes allowed { \"vif$d.0\" . $(ip_of $d) }"
            done
        } > "$RUN/base.nft"
        ip netns exec "$B" nft -f "$RUN/base.nft" || exit 1
        for ((d = 1; d <= N; d++)); do
            echo "neigh replace $(ip_of $d) lladdr $(mac_of $d) dev vif$d.0 nud permanent"
            echo "link set dev vif$d.0 group 2 up"
            echo "route add $(ip_of $d) dev vif$d.0 metric $((32752 - d))"
        done > "$RUN/base.batch"
        ip -n "$B" -batch "$RUN/base.batch" || exit 1
        "$PY" "$HERE/vifs.py" baseline "$B" "$BP" $((N + 1)) "$M" | sed "s/^/N=$N: online: /" | tee -a "$RUN/online.txt"
        # the end-to-end ratio within this run (issue 12 goal 2: the script >= 3x faster than the baseline)
        awk -v n="$N" 'function p50(   i) {for (i = 1; i <= NF; i++) if ($i ~ /^p50=/) return substr($i, 5)}
            /online: netvm hotplug script \(vif-route-netvm run directly/ {s = p50()}
            /online: netvm hotplug script, fallback/ {f = p50()}
            /online: netvm hotplug script, old wrapper/ {ws = p50()}
            /online: netvm hotplug client \(native/ {nc = p50()}
            /online: baseline \(/ {b = p50()}
            /online: baseline, old wrapper/ {wb = p50()}
            END {if (s > 0 && b > 0) printf "N=%s: online: baseline p50 / netvm hotplug script p50 = %.1fx, both run directly as in a netvm (fallback through netvm-ctl: %.1fx)\n", n, b / s, (f > 0 ? b / f : 0)
                 if (nc > 0 && b > 0) printf "N=%s: online: baseline p50 / netvm hotplug client (native) p50 = %.1fx, both run directly as in a netvm\n", n, b / nc
                 if (ws > 0 && wb > 0) printf "N=%s: online: the same through the old wrapper (ip netns exec per call): %.1fx\n", n, wb / ws}' "$RUN/online.txt"
        echo "N=$N: online: load $(cut -d' ' -f1-3 /proc/loadavg) after the online runs"
        NV=$NV_SAVE PEER=$PEER_SAVE
        ip netns del "$B"; ip netns del "$BP"
    fi
    [ -z "${VIF_BENCH_LOG:-}" ] || cp "$RUN/netvm.log" "$VIF_BENCH_LOG.$N"
    kill "$AGENT_PID" 2>/dev/null
    wait "$AGENT_PID" 2>/dev/null
    AGENT_PID=
    kill "$XSPID" 2>/dev/null
    ip netns del "$NV"; ip netns del "$PEER"
done
