#!/bin/bash
# bench.sh - xenstore request rates: the Java client vs libxenstore vs xenstore-utils, each against
# the real C xenstored (4.17, from tests/harness/xenstored) and against netvm's embedded xenstored.
# A measurement, not a test: CI does not run it and nothing here passes or fails on a number.
#
# Run (as root, from anywhere; ~1-2 minutes):
#     tests/bench/xenstore/bench.sh | tee tests/bench/xenstore/latest.txt
# env: N (requests per measurement, default 20000), NCLI (xenstore-utils processes, default 300),
#      REPEAT (rounds of the whole matrix, default 3: each figure is the median of its rounds),
#      THREADS (concurrent callers, default 8), BASELINE (a directory of other client classes, e.g. an
#      earlier commit's target/classes: adds rows for that client, measured in the same rounds), BUILD=1 (run mvn install -DskipTests for the two bundles first),
#      SERVER_CLASSES (the embedded daemon's classes, default the server bundle's target/classes: to compare
#      two builds of the daemon, alternate runs with a copy of the other build's classes)
#
# What it does:
#  - tests/harness/xenstored/prepare.sh provides the C daemon, its LD_PRELOAD shim and xenstore-utils;
#    libxen-dev (xenstore.h) is apt-installed if missing; xsbench.c is compiled with -lxenstore.
#  - C xenstored is started like the harness does but WITHOUT -T (its request trace costs ~3x).
#  - The embedded xenstored runs in its own JVM with the flags of distribution/bin/netvm
#    (-Xmx64m -XX:+UseSerialGC -Xss512k -XX:TieredStopAtLevel=1), via XenStoreBench serve.
#  - Java client: org.netvm.xenstore.client.internal.XenStoreBench (client bundle test sources),
#    java -cp client classes + test-classes + api and server jars from ~/.m2; default JVM flags;
#    an unmeasured warm-up of N requests precedes each measurement.
#  - "sequential": one caller, one request at a time. "concurrent": THREADS callers; Java shares one
#    pipelined connection, libxenstore uses one connection per thread (a handle serialises requests).
#  - xenstore-utils: one process per request (xenstore-read / xenstore-write), the naive baseline.
#  - "floor": XenStoreBench raw, a minimal Java loop (one blocking socket, one write and one read per
#    request, reused direct buffers): what a sequential caller gets when the client costs next to
#    nothing, so the daemon's own time per request bounds it. "client/floor" says how close a client is.
#  - "watched": the Java client's sequential writes while xenstore-watch (libxenstore, its own process)
#    watches /bench/j, so every write fires an event for another connection; the events that had
#    arrived 3 s after the run are counted (C xenstored 4.17 drops some under this load: its
#    per-connection event quota). XenStoreBench's own "watch" argument (a Java watcher in the same
#    JVM) is there for the client's event path; with C xenstored it runs ~10x slower, so it is not used here.
#  - Rounds: the whole matrix runs REPEAT times, alternating clients and daemons within each round, and
#    every figure printed (rates, CPU) is the median of its rounds, so one disturbed measurement on a
#    loaded machine does not decide a ratio; xenstore-utils runs in the first round only.
#  - CPU columns: the client's process CPU time per request in the measured part (xsbench.c, the Java
#    modes), and the daemon's CPU time per request it served during the whole client run (from
#    /proc/PID/stat; 10 ms ticks over 2N requests, warm-up included).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
N=${N:-20000}
NCLI=${NCLI:-300}
REPEAT=${REPEAT:-3}
THREADS=${THREADS:-8}
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
JAVA="$JAVA_HOME/bin/java"
WORK=$(mktemp -d /tmp/xsbench.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

# --- prerequisites
XS_CACHE=$("$ROOT/tests/harness/xenstored/prepare.sh")
if ! dpkg -s libxen-dev >/dev/null 2>&1; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libxen-dev) >&2
fi
gcc -O2 -Wall -o "$WORK/xsbench" "$HERE/xsbench.c" -lxenstore -lpthread
if [ "${BUILD:-0}" = 1 ]; then
    (cd "$ROOT" && mvn -q -pl bundles/org.netvm.xenstore.server,bundles/org.netvm.xenstore.client install -DskipTests) >&2
fi
# the modules' own build output (whatever the project's version is)
CP="$ROOT/bundles/org.netvm.xenstore.client/target/classes:$ROOT/bundles/org.netvm.xenstore.client/target/test-classes"
CP="$CP:$ROOT/bundles/org.netvm.xenstore.api/target/classes:$ROOT/bundles/org.netvm.xenstore.server/target/classes"
[ -f "$ROOT/bundles/org.netvm.xenstore.client/target/test-classes/org/netvm/xenstore/client/internal/XenStoreBench.class" ] ||
    { echo "build first: BUILD=1 $0" >&2; exit 1; }

# --- servers
. "$HERE/servers.sh"
start_servers "${SERVER_CLASSES:+$SERVER_CLASSES:}$CP"
C="$WORK/c/socket"
J="$WORK/j/socket"

# --- measurements: each prints ops/s
cli() { # SOCKET read|write
    XENSTORED_PATH="$1" xenstore-write /bench/cli value-0123456789
    local start end
    start=$(date +%s.%N)
    for ((i = 0; i < NCLI; i++)); do
        if [ "$2" = read ]; then XENSTORED_PATH="$1" xenstore-read /bench/cli >/dev/null
        else XENSTORED_PATH="$1" xenstore-write /bench/cli value-0123456789; fi
    done
    end=$(date +%s.%N)
    awk -v n="$NCLI" -v a="$start" -v b="$end" 'BEGIN { printf "%.0f\n", n / (b - a) }'
}
# each prints "ops/s client-CPU-us-per-request"
lib() { XENSTORED_PATH="$1" "$WORK/xsbench" "$2" "$N" "$3" | awk '{ print $3, $4 }'; }
jav() { "$JAVA" -cp "$CP" org.netvm.xenstore.client.internal.XenStoreBench client "$1" "$2" "$N" "$3" ${4:-} 2>>"$WORK/jav.err" | awk '{ print $3, $4 }'; }
jbase() { "$JAVA" -cp "$BASELINE:$CP" org.netvm.xenstore.client.internal.XenStoreBench client "$1" "$2" "$N" "$3" 2>>"$WORK/jav.err" | awk '{ print $3, $4 }'; }
raw() { "$JAVA" -cp "$CP" org.netvm.xenstore.client.internal.XenStoreBench raw "$1" "$2" "$N" | awk '{ print $3, $4 }'; }
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
declare -A R U S W
# measure KEY OP SERVER REQUESTS_SERVED COMMAND...: appends rate, client CPU, daemon CPU per request
measure() {
    local key=$1 op=$2 s=$3 served=$4 pid before out
    shift 4
    pid=$([ "$s" = C ] && echo "$CPID" || echo "$JPID")
    before=$(ticks "$pid")
    out=$("$@")
    R[$key,$op,$s]="${R[$key,$op,$s]:-} ${out%% *}"
    U[$key,$op,$s]="${U[$key,$op,$s]:-} ${out#* }"
    S[$key,$op,$s]="${S[$key,$op,$s]:-} $(awk -v t="$(( $(ticks "$pid") - before ))" -v hz="$HZ" -v n="$served" 'BEGIN { printf "%.1f", t * 1e6 / hz / n }')"
}
for ((round = 1; round <= REPEAT; round++)); do
    for op in read write; do
        for s in C J; do
            sock=${!s}
            [ "$round" -gt 1 ] || R[cli,$op,$s]=$(cli "$sock" $op)
            measure lib1 $op $s "$N" lib "$sock" $op 1
            measure libT $op $s "$N" lib "$sock" $op "$THREADS"
            measure raw1 $op $s $((2 * N)) raw "$sock" $op
            measure jav1 $op $s $((2 * N)) jav "$sock" $op 1
            measure javT $op $s $((2 * N)) jav "$sock" $op "$THREADS"
            if [ -n "${BASELINE:-}" ]; then
                measure bas1 $op $s $((2 * N)) jbase "$sock" $op 1
                measure basT $op $s $((2 * N)) jbase "$sock" $op "$THREADS"
            fi
            if [ $op = write ]; then
                XENSTORED_PATH="$sock" xenstore-watch /bench/j >"$WORK/watch.$s" 2>&1 &
                wpid=$!
                sleep 0.5
                measure javW $op $s $((2 * N)) jav "$sock" $op 1
                sleep 3
                kill "$wpid" 2>/dev/null || true
                wait "$wpid" 2>/dev/null || true
                W[$s]="${W[$s]:-} $(grep -c '^/bench/j/' "$WORK/watch.$s" || true)"
            fi
        done
    done
done
# each cell: the median of its rounds (the mean of the middle two for an even count)
median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print ""; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
declare -A RAW
for k in "${!R[@]}"; do RAW[$k]=${R[$k]}; R[$k]=$(median "${R[$k]}"); done
for k in "${!U[@]}"; do U[$k]=$(median "${U[$k]}"); done
for k in "${!S[@]}"; do S[$k]=$(median "${S[$k]}"); done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
echo "xenstore requests per second ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, N=$N, NCLI=$NCLI, THREADS=$THREADS, REPEAT=$REPEAT: medians of $REPEAT alternated rounds)"
echo "C = C xenstored 4.17 (no -T); embedded = netvm EmbeddedXenstored (JVM -Xmx64m SerialGC C1-only)${SERVER_CLASSES:+, classes $SERVER_CLASSES}"
echo "load average at start: $LOAD0; at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
printf "%-40s %-6s %9s %9s %6s   %-21s %-21s\n" "client" "op" "C" "embedded" "emb/C" "CPU us/req C: cli srv" "embedded: cli srv"
rows=(cli "xenstore-utils, process per request"
      lib1 "libxenstore (xsbench.c), sequential"
      libT "libxenstore, $THREADS threads x own connection"
      raw1 "floor: raw Java socket loop, sequential"
      jav1 "Java XenStoreClient, sequential"
      javT "Java XenStoreClient, $THREADS threads pipelined"
      javW "Java XenStoreClient, sequential, watched"
      bas1 "BASELINE client, sequential"
      basT "BASELINE client, $THREADS threads pipelined")
for op in read write; do
    for ((k = 0; k < ${#rows[@]}; k += 2)); do
        key=${rows[k]}
        [ -n "${R[$key,$op,C]:-}" ] || continue
        printf "%-40s %-6s %9s %9s %6s   %9s %9s   %9s %9s\n" "${rows[k+1]}" "$op" "${R[$key,$op,C]}" "${R[$key,$op,J]}" \
            "$(ratio "${R[$key,$op,J]}" "${R[$key,$op,C]}")" "${U[$key,$op,C]:--}" "${S[$key,$op,C]:--}" "${U[$key,$op,J]:--}" "${S[$key,$op,J]:--}"
    done
done
echo
printf "%-48s %-6s %12s %12s\n" "ratio" "op" "vs C" "vs embedded"
for op in read write; do
    printf "%-48s %-6s %12s %12s\n" "Java sequential / libxenstore sequential" $op \
        "$(ratio "${R[jav1,$op,C]}" "${R[lib1,$op,C]}")" "$(ratio "${R[jav1,$op,J]}" "${R[lib1,$op,J]}")"
    printf "%-48s %-6s %12s %12s\n" "Java $THREADS pipelined / libxenstore $THREADS conns" $op \
        "$(ratio "${R[javT,$op,C]}" "${R[libT,$op,C]}")" "$(ratio "${R[javT,$op,J]}" "${R[libT,$op,J]}")"
    printf "%-48s %-6s %12s %12s\n" "Java sequential / floor (raw loop)" $op \
        "$(ratio "${R[jav1,$op,C]}" "${R[raw1,$op,C]}")" "$(ratio "${R[jav1,$op,J]}" "${R[raw1,$op,J]}")"
    printf "%-48s %-6s %12s %12s\n" "floor / libxenstore sequential" $op \
        "$(ratio "${R[raw1,$op,C]}" "${R[lib1,$op,C]}")" "$(ratio "${R[raw1,$op,J]}" "${R[lib1,$op,J]}")"
    if [ -n "${BASELINE:-}" ]; then
        printf "%-48s %-6s %12s %12s\n" "BASELINE sequential / libxenstore sequential" $op \
            "$(ratio "${R[bas1,$op,C]}" "${R[lib1,$op,C]}")" "$(ratio "${R[bas1,$op,J]}" "${R[lib1,$op,J]}")"
        printf "%-48s %-6s %12s %12s\n" "BASELINE $THREADS pipelined / libxenstore $THREADS conns" $op \
            "$(ratio "${R[basT,$op,C]}" "${R[libT,$op,C]}")" "$(ratio "${R[basT,$op,J]}" "${R[libT,$op,J]}")"
    fi
    printf "%-48s %-6s %12s %12s\n" "libxenstore sequential / xenstore-utils" $op \
        "$(ratio "${R[lib1,$op,C]}" "${R[cli,$op,C]}")" "$(ratio "${R[lib1,$op,J]}" "${R[cli,$op,J]}")"
done
echo
echo "watched runs: events seen by xenstore-watch of $((2 * N + 1)) fired (writes incl. warm-up + initial), per round: C${W[C]}, embedded${W[J]}"
echo
echo "every round's rate (C | embedded):"
for op in read write; do
    for ((k = 0; k < ${#rows[@]}; k += 2)); do
        key=${rows[k]}
        [ -n "${RAW[$key,$op,C]:-}" ] || continue
        printf "%-40s %-6s %s |%s\n" "${rows[k+1]}" "$op" "${RAW[$key,$op,C]}" "${RAW[$key,$op,J]}"
    done
done
