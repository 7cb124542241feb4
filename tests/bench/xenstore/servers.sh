# servers.sh - sourced by bench.sh and syscalls.sh: both daemons on sockets of their own.
# start_servers CLASSPATH: C xenstored (xsfake.so, from tests/harness/xenstored/prepare.sh in $XS_CACHE)
# on $WORK/c/socket and netvm's embedded xenstored (XenStoreBench serve, from CLASSPATH) on
# $WORK/j/socket; sets CPID and JPID, adds both to PIDS and waits until each answers a read.
start_servers() {
    local bin=/usr/lib/xen-4.17/bin/xenstored s
    [ -x "$bin" ] || bin="$XS_CACHE/xen-utils/usr/lib/xen-4.17/bin/xenstored"
    mkdir -p "$WORK/c" "$WORK/j"
    XENSTORED_PATH="$WORK/c/socket" XENSTORED_RUNDIR="$WORK/c" LD_PRELOAD="$XS_CACHE/xsfake.so" \
        "$bin" -N </dev/null >"$WORK/c/out" 2>&1 &
    PIDS+=($!)
    CPID=$!
    "$JAVA" -Xmx64m -XX:+UseSerialGC -Xss512k -XX:TieredStopAtLevel=1 -cp "$1" \
        org.netvm.xenstore.client.internal.XenStoreBench serve "$WORK/j/socket" >"$WORK/j/out" 2>&1 &
    PIDS+=($!)
    JPID=$!
    for s in c j; do
        for _ in $(seq 1 200); do
            XENSTORED_PATH="$WORK/$s/socket" xenstore-read /tool/xenstored >/dev/null 2>&1 && break
            sleep 0.05
        done
    done
}
