#!/bin/bash
# syscalls.sh - system calls per request on the daemon's side (strace -c -f on the daemon during a
# short client loop), C xenstored vs netvm's embedded xenstored, same clients. A measurement, not a
# test; strace slows both daemons, so only the counts mean something here, not the time.
#
# Run (as root; after a build of the xenstore bundles, see bench.sh): tests/bench/xenstore/syscalls.sh
# env: N (requests per measured run, default 5000), SERVER_CLASSES (other embedded-daemon classes,
#      e.g. a copy of an earlier build's bundles/org.netvm.xenstore.server/target/classes)
# Each client run makes 2N requests (its warm-up of N and N measured, XenStoreBench raw|client) or N
# (xsbench.c); the table divides the daemon's calls during the whole run by those.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
N=${N:-5000}
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
JAVA="$JAVA_HOME/bin/java"
WORK=$(mktemp -d /tmp/xssys.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
command -v strace >/dev/null || { echo "strace is needed" >&2; exit 1; }
XS_CACHE=$("$ROOT/tests/harness/xenstored/prepare.sh")
gcc -O2 -Wall -o "$WORK/xsbench" "$HERE/xsbench.c" -lxenstore -lpthread
SERVER=${SERVER_CLASSES:-$ROOT/bundles/org.netvm.xenstore.server/target/classes}
CP="$ROOT/bundles/org.netvm.xenstore.client/target/classes:$ROOT/bundles/org.netvm.xenstore.client/target/test-classes"
CP="$CP:$ROOT/bundles/org.netvm.xenstore.api/target/classes"

. "$HERE/servers.sh"
start_servers "$SERVER:$CP"

# count PID REQUESTS COMMAND...: prints calls per request, in total and of the busiest kinds
count() {
    local pid=$1 requests=$2 spid
    shift 2
    strace -c -f -q -p "$pid" -o "$WORK/strace.out" &
    spid=$!
    sleep 1
    "$@" >/dev/null 2>&1
    kill -INT "$spid"
    wait "$spid" 2>/dev/null || true
    # strace -c rows: % time, seconds, usecs/call, calls, [errors,] syscall
    awk -v n="$requests" '$NF ~ /^[a-z_0-9]+$/ && $1 ~ /^[0-9.]+$/ && $NF != "total" { c[$NF] = $4; t += $4 }
        END { printf "%6.2f  ", t / n
              PROCINFO["sorted_in"] = "@val_num_desc"
              for (k in c) if (c[k] / n >= 0.05) printf "%s %.2f  ", k, c[k] / n; print "" }' "$WORK/strace.out"
}
warm() { XENSTORED_PATH="$1" "$WORK/xsbench" write 2000 1 >/dev/null; XENSTORED_PATH="$1" "$WORK/xsbench" read 2000 1 >/dev/null; }
warm "$WORK/c/socket"
warm "$WORK/j/socket"
"$JAVA" -cp "$CP" org.netvm.xenstore.client.internal.XenStoreBench raw "$WORK/j/socket" write 20000 >/dev/null # JIT
echo "daemon system calls per request (strace -c -f on the daemon; N=$N; $(date -u +%Y-%m-%dT%H:%MZ); load $(cut -d' ' -f1-3 /proc/loadavg))"
echo "embedded classes: $SERVER"
for op in read write; do
    for s in C J; do
        if [ $s = C ]; then pid=$CPID; sock=$WORK/c/socket; else pid=$JPID; sock=$WORK/j/socket; fi
        printf "%-5s %-9s %-34s " $op "$s" "libxenstore sequential"
        count "$pid" "$N" env XENSTORED_PATH="$sock" "$WORK/xsbench" $op "$N" 1
        printf "%-5s %-9s %-34s " $op "$s" "raw Java loop"
        count "$pid" $((2 * N)) "$JAVA" -cp "$CP" org.netvm.xenstore.client.internal.XenStoreBench raw "$sock" $op "$N"
        printf "%-5s %-9s %-34s " $op "$s" "Java client sequential"
        count "$pid" $((2 * N)) "$JAVA" -cp "$CP" org.netvm.xenstore.client.internal.XenStoreBench client "$sock" $op "$N" 1
        printf "%-5s %-9s %-34s " $op "$s" "Java client 8 threads pipelined"
        count "$pid" $((2 * N)) "$JAVA" -cp "$CP" org.netvm.xenstore.client.internal.XenStoreBench client "$sock" $op "$N" 8
    done
done
