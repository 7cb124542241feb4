#!/bin/bash
# bench.sh - xenstore request rates: the Java client vs libxenstore vs xenstore-utils, each against
# the real C xenstored (4.17, from tests/harness/xenstored) and against netvm's embedded xenstored.
# A measurement, not a test: CI does not run it and nothing here passes or fails on a number.
#
# Run (as root, from anywhere; ~1-2 minutes):
#     tests/bench/xenstore/bench.sh | tee tests/bench/xenstore/latest.txt
# env: N (requests per measurement, default 20000), NCLI (xenstore-utils processes, default 300),
#      THREADS (concurrent callers, default 8), BUILD=1 (run mvn install -DskipTests for the two bundles first)
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
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
N=${N:-20000}
NCLI=${NCLI:-300}
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
BIN=/usr/lib/xen-4.17/bin/xenstored
[ -x "$BIN" ] || BIN="$XS_CACHE/xen-utils/usr/lib/xen-4.17/bin/xenstored"
mkdir -p "$WORK/c" "$WORK/j"
XENSTORED_PATH="$WORK/c/socket" XENSTORED_RUNDIR="$WORK/c" LD_PRELOAD="$XS_CACHE/xsfake.so" \
    "$BIN" -N </dev/null >"$WORK/c/out" 2>&1 &
PIDS+=($!)
"$JAVA" -Xmx64m -XX:+UseSerialGC -Xss512k -XX:TieredStopAtLevel=1 -cp "$CP" \
    org.netvm.xenstore.client.internal.XenStoreBench serve "$WORK/j/socket" >"$WORK/j/out" 2>&1 &
PIDS+=($!)
for s in c j; do
    for _ in $(seq 1 200); do
        XENSTORED_PATH="$WORK/$s/socket" xenstore-read /tool/xenstored >/dev/null 2>&1 && break
        sleep 0.05
    done
done
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
lib() { XENSTORED_PATH="$1" "$WORK/xsbench" "$2" "$N" "$3" | awk '{ print $3 }'; }
jav() { "$JAVA" -cp "$CP" org.netvm.xenstore.client.internal.XenStoreBench client "$1" "$2" "$N" "$3" 2>/dev/null | awk '{ print $3 }'; }

declare -A R
for op in read write; do
    for s in C J; do
        sock=${!s}
        R[cli,$op,$s]=$(cli "$sock" $op)
        R[lib1,$op,$s]=$(lib "$sock" $op 1)
        R[libT,$op,$s]=$(lib "$sock" $op "$THREADS")
        R[jav1,$op,$s]=$(jav "$sock" $op 1)
        R[javT,$op,$s]=$(jav "$sock" $op "$THREADS")
    done
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
echo "xenstore requests per second ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, N=$N, NCLI=$NCLI, THREADS=$THREADS)"
echo "C = C xenstored 4.17 (no -T); embedded = netvm EmbeddedXenstored (JVM -Xmx64m SerialGC C1-only)"
echo
printf "%-40s %-6s %12s %12s %12s\n" "client" "op" "C" "embedded" "embedded/C"
rows=(cli "xenstore-utils, process per request"
      lib1 "libxenstore (xsbench.c), sequential"
      libT "libxenstore, $THREADS threads x own connection"
      jav1 "Java XenStoreClient, sequential"
      javT "Java XenStoreClient, $THREADS threads pipelined")
for op in read write; do
    for ((k = 0; k < ${#rows[@]}; k += 2)); do
        key=${rows[k]}
        printf "%-40s %-6s %12s %12s %12s\n" "${rows[k+1]}" "$op" "${R[$key,$op,C]}" "${R[$key,$op,J]}" \
            "$(ratio "${R[$key,$op,J]}" "${R[$key,$op,C]}")"
    done
done
echo
printf "%-48s %-6s %12s %12s\n" "ratio" "op" "vs C" "vs embedded"
for op in read write; do
    printf "%-48s %-6s %12s %12s\n" "Java sequential / libxenstore sequential" $op \
        "$(ratio "${R[jav1,$op,C]}" "${R[lib1,$op,C]}")" "$(ratio "${R[jav1,$op,J]}" "${R[lib1,$op,J]}")"
    printf "%-48s %-6s %12s %12s\n" "Java $THREADS pipelined / libxenstore $THREADS conns" $op \
        "$(ratio "${R[javT,$op,C]}" "${R[libT,$op,C]}")" "$(ratio "${R[javT,$op,J]}" "${R[libT,$op,J]}")"
    printf "%-48s %-6s %12s %12s\n" "libxenstore sequential / xenstore-utils" $op \
        "$(ratio "${R[lib1,$op,C]}" "${R[cli,$op,C]}")" "$(ratio "${R[lib1,$op,J]}" "${R[cli,$op,J]}")"
done
