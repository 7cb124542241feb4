#!/bin/bash
# measure-startup.sh - time-to-ready and resident memory of the netvm runtime, per JVM and flags.
#
#   distribution/measure-startup.sh [--runs N] [--jar PATH] [--jdk DIR] [--jre DIR] [--aot]
#                                   [--settle SECONDS] [--hook 'COMMAND'] [--breakdown FILE]
#
# Starts the runtime (role netvm, embedded xenstored, private sockets in a temporary directory,
# no root needed) N times (default 3) per configuration and prints one table row per configuration:
# the median time from exec to "ready" (the control socket answers `help`: exit status 0), the
# median CPU time (user + system) the JVM used until then (robust on a busy machine), and the
# median RSS measured --settle seconds (default 3) after ready.
#
# Configurations: JDK 25 ({--jdk}/bin/java) and the jlink runtime (--jre, default
# distribution/target/jre), each with no flags ("default") and with the flags bin/netvm ships
# ("shipped"); with --aot also "shipped + AOT cache" (JDK 25 JEP 483/514: one training run with
# -XX:AOTCacheOutput, then -XX:AOTCache).
#
# --hook 'COMMAND': run once per start after ready (through bash -c), with NETVM_JAVA, NETVM_CLI
# (the CLI jar), NETVM_CONTROL (control socket), NETVM_XENSTORED (embedded xenstored socket) and
# NETVM_PID in the environment; e.g. a script that creates 1000 guests in xenstore. Its run time
# and the RSS --settle seconds after it are added as two more columns.
#
# --breakdown FILE: one more start of the jlink runtime with the shipped flags (+ AOT cache with
# --aot) under native memory tracking and class-load logging; writes where RSS and start-up go to
# FILE: resident memory by mapping, NMT categories, classes loaded per bundle/source, CPU per thread.
set -euo pipefail

HERE=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
RUNS=3 SETTLE=3 AOT=0 HOOK="" BREAKDOWN=""
JAR=$HERE/target/netvm.jar
CLI=$HERE/target/netvm-cli.jar
JDK=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
[ -x "$JDK/bin/java" ] || JDK=/usr/lib/jvm/temurin-25-jdk-amd64
JRE=$HERE/target/jre
# the flags bin/netvm ships (its SHIPPED_FLAGS line), run with MALLOC_ARENA_MAX=2 as bin/netvm does
SHIPPED=$(sed -n 's/^SHIPPED_FLAGS="\(.*\)"$/\1/p' "$HERE/bin/netvm")
[ -n "$SHIPPED" ] || { echo "measure-startup: no SHIPPED_FLAGS in $HERE/bin/netvm" >&2; exit 2; }
ALWAYS="--enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow"

die() { echo "measure-startup: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
    --runs) RUNS=${2:?}; shift 2 ;;
    --jar) JAR=${2:?}; shift 2 ;;
    --jdk) JDK=${2:?}; shift 2 ;;
    --jre) JRE=${2:?}; shift 2 ;;
    --settle) SETTLE=${2:?}; shift 2 ;;
    --aot) AOT=1; shift ;;
    --hook) HOOK=${2:?}; shift 2 ;;
    --breakdown) BREAKDOWN=${2:?}; shift 2 ;;
    *) die "unknown option $1" ;;
    esac
done
[ -f "$JAR" ] || die "no $JAR (build: mvn -pl distribution install)"
[ -f "$CLI" ] || die "no $CLI"
[ -x "$JDK/bin/java" ] || die "no JDK at $JDK"
command -v python3 >/dev/null || die "python3 is needed (it polls the control socket)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/netvm-measure.XXXXXX")
PID=""
cleanup() {
    if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# The readiness poll (the control socket answers `help`): ready-poll.py next to this script.
POLL=$HERE/ready-poll.py

# The agent programs packet filters and sysctls: every run gets a network namespace of its own
# (unshare execs the JVM, so $! is the JVM; the namespace dies with it).
if [ "$(id -u)" = 0 ]; then NETNS=(unshare --net); else NETNS=(unshare --user --map-root-user --net); fi
"${NETNS[@]}" true || die "cannot create a network namespace with: ${NETNS[*]}"

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
# CPU time (user + system, all threads) the process has used, in ms: unlike wall time, it hardly
# depends on what else the machine is doing.
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{sub(/.*\) /, ""); print int(($12 + $13) * 1000 / hz)}' "/proc/$1/stat"; }
median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print "-"; else print a[int((NR+1)/2)]}'; }

# one_run JAVA "FLAGS" -> "ready_ms rss_kb [hook_ms hook_rss_kb]"
one_run() {
    local java=$1 flags=$2 dir
    dir=$(mktemp -d "$WORK/run.XXXXXX")
    local t0
    t0=$(date +%s%N)
    local envs=(env)
    case "$flags" in "$SHIPPED"*) envs=(env MALLOC_ARENA_MAX=2) ;; esac
    # shellcheck disable=SC2086  # flags are words on purpose
    "${envs[@]}" "${NETNS[@]}" "$java" $flags $ALWAYS -Dnetvm.role=netvm -Dnetvm.xenstore="embedded:$dir/xs" \
        -Dnetvm.control="$dir/c.sock" -Dorg.osgi.framework.storage="$dir/fw" \
        -jar "$JAR" </dev/null >"$dir/out.log" 2>&1 &
    PID=$!
    local ready
    if ! ready=$(python3 "$POLL" "$dir/c.sock" "$t0" 60); then
        echo "measure-startup: not ready within 60 s; log:" >&2; tail -20 "$dir/out.log" >&2
        exit 1
    fi
    local cpu
    cpu=$(cpu_ms $PID)
    sleep "$SETTLE"
    local out="$ready $(rss_kb $PID) $cpu"
    if [ -n "$HOOK" ]; then
        local h0 h1
        h0=$(date +%s%N)
        NETVM_JAVA=$java NETVM_CLI=$CLI NETVM_CONTROL=$dir/c.sock NETVM_XENSTORED=$dir/xs NETVM_PID=$PID \
            bash -c "$HOOK" >"$dir/hook.log" 2>&1 || { echo "measure-startup: hook failed:" >&2; tail "$dir/hook.log" >&2; exit 1; }
        h1=$(date +%s%N)
        sleep "$SETTLE"
        out="$out $(( (h1 - h0) / 1000000 )) $(rss_kb $PID)"
    fi
    kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
    echo "$out"
}

# measure LABEL JAVA "FLAGS" -> one table row
measure() {
    local label=$1 java=$2 flags=$3 i results=()
    for ((i = 0; i < RUNS; i++)); do results+=("$(one_run "$java" "$flags")"); done
    local ready rss
    ready=$(printf '%s\n' "${results[@]}" | awk '{print $1}' | median)
    rss=$(printf '%s\n' "${results[@]}" | awk '{print $2}' | median)
    local cpu all
    cpu=$(printf '%s\n' "${results[@]}" | awk '{print $3}' | median)
    all=$(printf '%s\n' "${results[@]}" | awk '{print $1}' | sort -n | paste -sd/)
    if [ -n "$HOOK" ]; then
        local hms hrss
        hms=$(printf '%s\n' "${results[@]}" | awk '{print $4}' | median)
        hrss=$(printf '%s\n' "${results[@]}" | awk '{print $5}' | median)
        printf '| %-34s | %5s ms (%s) | %5s ms | %3s MB | %6s ms | %3s MB |\n' "$label" "$ready" "$all" \
            "$cpu" "$((rss / 1024))" "$hms" "$((hrss / 1024))"
    else
        printf '| %-34s | %5s ms (%s) | %5s ms | %3s MB |\n' "$label" "$ready" "$all" "$cpu" "$((rss / 1024))"
    fi
}

# train_aot JAVA "FLAGS" FILE: one run with -XX:AOTCacheOutput, stopped (SIGTERM) once ready.
train_aot() {
    local java=$1 flags=$2 file=$3 dir
    dir=$(mktemp -d "$WORK/train.XXXXXX")
    # shellcheck disable=SC2086
    MALLOC_ARENA_MAX=2 "${NETNS[@]}" "$java" $flags $ALWAYS -XX:AOTCacheOutput="$file" -Dnetvm.role=netvm -Dnetvm.xenstore="embedded:$dir/xs" \
        -Dnetvm.control="$dir/c.sock" -Dorg.osgi.framework.storage="$dir/fw" \
        -jar "$JAR" </dev/null >"$dir/out.log" 2>&1 &
    PID=$!
    python3 "$POLL" "$dir/c.sock" "$(date +%s%N)" 60 >/dev/null || { tail "$dir/out.log" >&2; exit 1; }
    sleep 2
    kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
    [ -f "$file" ] || { echo "measure-startup: no AOT cache written; log:" >&2; tail "$dir/out.log" >&2; return 1; }
}

echo "netvm runtime start-up: $(basename "$JAR") ($(du -k "$JAR" | cut -f1) KB), $RUNS runs each, median;"
echo "ready = the control socket answers 'help'; RSS ${SETTLE} s after ready. $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg)."
echo
if [ -n "$HOOK" ]; then
    echo "| JVM, flags | time to ready (all runs) | CPU to ready | RSS | hook | RSS after hook |"
    echo "|---|---|---|---|---|---|"
else
    echo "| JVM, flags | time to ready (all runs) | CPU to ready | RSS |"
    echo "|---|---|---|---|"
fi
measure "JDK 25, default" "$JDK/bin/java" ""
measure "JDK 25, shipped flags" "$JDK/bin/java" "$SHIPPED"
if [ -x "$JRE/bin/java" ]; then
    measure "jlink runtime, default" "$JRE/bin/java" ""
    measure "jlink runtime, shipped flags" "$JRE/bin/java" "$SHIPPED"
else
    echo "(no jlink runtime at $JRE: build it with mvn -pl distribution install)" >&2
fi
if [ "$AOT" = 1 ]; then
    if train_aot "$JDK/bin/java" "$SHIPPED" "$WORK/jdk.aot"; then
        measure "JDK 25, shipped flags + AOT cache" "$JDK/bin/java" "$SHIPPED -XX:AOTCache=$WORK/jdk.aot"
    fi
    if [ -x "$JRE/bin/java" ] && train_aot "$JRE/bin/java" "$SHIPPED" "$WORK/jre.aot"; then
        measure "jlink, shipped flags + AOT cache" "$JRE/bin/java" "$SHIPPED -XX:AOTCache=$WORK/jre.aot"
    fi
fi

# breakdown JAVA "FLAGS" FILE: where the memory and the start-up CPU of one start go.
breakdown() {
    local java=$1 flags=$2 file=$3 dir jcmd
    dir=$(mktemp -d "$WORK/bd.XXXXXX")
    jcmd=$JDK/bin/jcmd
    # shellcheck disable=SC2086
    env MALLOC_ARENA_MAX=2 "${NETNS[@]}" "$java" $flags $ALWAYS -XX:NativeMemoryTracking=summary \
        -Xlog:class+load=info:file="$dir/classes.log" -Dnetvm.role=netvm -Dnetvm.xenstore="embedded:$dir/xs" \
        -Dnetvm.control="$dir/c.sock" -Dorg.osgi.framework.storage="$dir/fw" \
        -jar "$JAR" </dev/null >"$dir/out.log" 2>&1 &
    PID=$!
    local ready
    ready=$(python3 "$POLL" "$dir/c.sock" "$(date +%s%N)" 60) || { tail "$dir/out.log" >&2; exit 1; }
    sleep "$SETTLE"
    {
        echo "One start of $java, flags: $flags (NMT on: its own ~1 MB is included)"
        echo "ready after $ready ms, RSS $(( $(rss_kb $PID) / 1024 )) MB, $(ls /proc/$PID/task | wc -l) threads, load $(cut -d' ' -f1 /proc/loadavg)"
        echo
        echo "## Resident memory by mapping (KB; pmap -x, largest first)"
        pmap -x "$PID" | awk 'NR > 2 && $1 != "total" && $3 > 0 {n = $NF; if (n == "]") n = "[anon]"; r[n] += $3; d[n] += $4} END {for (k in r) printf "%8d rss %8d dirty  %s\n", r[k], d[k], k}' | sort -rn | head -12
        echo
        echo "## Native memory tracking (committed)"
        "$jcmd" "$PID" VM.native_memory summary | grep -E '^(Total|-)' | sed 's/(reserved=[0-9]*KB, //; s/ *(/ (/'
        echo
        echo "## Classes loaded, by source"
        sed -n 's/.* source: //p' "$dir/classes.log" | sed -E 's#^jar:jar/([^ ]*)\.jar#bundle \1#; s#^jrt:/(.*)#JDK module \1 (not in the CDS/AOT archive)#;
            s#^file:/tmp/resource.*#framework/launcher (bnd launcher temp jar)#; s#^(shared objects file).*#CDS/AOT archive#;
            s#^[a-zA-Z_.$]+\$\$Lambda.*|^__.*|^[a-z][a-zA-Z_.$]*$#generated (lambdas, proxies, method handles)#' |
            sort | uniq -c | sort -rn | head -40
        echo
        echo "## CPU per thread until now (ms)"
        local t
        for t in /proc/"$PID"/task/*; do
            awk -v n="$(cat "$t/comm")" -v hz="$(getconf CLK_TCK)" '{sub(/.*\) /, ""); printf "%6d  %s\n", ($12 + $13) * 1000 / hz, n}' "$t/stat"
        done | sort -rn | head -12
    } >"$file"
    kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
    echo "breakdown written to $file"
}
if [ -n "$BREAKDOWN" ] && [ -x "$JRE/bin/java" ]; then
    bflags=$SHIPPED
    if [ "$AOT" = 1 ] && [ -f "$WORK/jre.aot" ]; then bflags="$SHIPPED -XX:AOTCache=$WORK/jre.aot"; fi
    breakdown "$JRE/bin/java" "$bflags" "$BREAKDOWN"
fi
