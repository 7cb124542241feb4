#!/bin/bash
# tests/bench/footprint.sh - resident memory of the netvm runtime, idle and with 1 000 guests, for two
# configurations alternated in one run (before/after), on the shipped jlink runtime with its AOT cache.
#
#   tests/bench/footprint.sh [--runs N] [--guests N] [--before-jar JAR] [--before-flags 'FLAGS']
#                            [--after-flags 'FLAGS'] [--breakdown]
#
# "after" is distribution/target/netvm.jar with the flags bin/netvm ships (SHIPPED_FLAGS, or --after-flags
# to try others); "before" is
# --before-jar (default: the same jar) with --before-flags (default: the flags shipped before the
# footprint work). Each configuration gets its own AOT cache first (a training run, as `netvm aot-cache`
# makes at install). Then, N times (default 3), alternating: start (role netvm, embedded xenstored, own
# network namespace), time to ready (control socket answers `help`), CPU used until then, RSS 3 s after
# ready and in sync (`netvm status` exit status 0); attach N guests (default 1000, none with
# --guests 0; tests/bench/guests.sh: xenstore keys + veth pairs, until every vif is programmed), RSS
# 3 s after. --breakdown adds, for "after", where the memory goes: mappings
# (/proc/PID/smaps), native memory tracking, heap, threads, code cache. Output: stdout, and on top of
# tests/bench/footprint-latest.txt (earlier runs kept below). Needs root (namespaces, veths), python3.
set -euo pipefail
HERE=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
DIST=$TOP/distribution
RUNS=3 GUESTS=1000 BREAKDOWN=0
JAVA=$DIST/target/jre/bin/java
JDK=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
CLI=$DIST/target/netvm-cli.jar
AFTER_JAR=$DIST/target/netvm.jar BEFORE_JAR=$DIST/target/netvm.jar
BEFORE_FLAGS="-Xmx64m -Xms16m -XX:+UseSerialGC -Xss512k -XX:TieredStopAtLevel=1 -XX:TrimNativeHeapInterval=5000"
AFTER_FLAGS=$(sed -n 's/^SHIPPED_FLAGS="\(.*\)"$/\1/p' "$DIST/bin/netvm")
ALWAYS="-XX:+ExitOnOutOfMemoryError --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow"
OUT=$HERE/footprint-latest.txt
. "$HERE/keep-earlier.sh"
die() { echo "footprint: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
    --runs) RUNS=${2:?}; shift 2 ;;
    --guests) GUESTS=${2:?}; shift 2 ;;
    --before-jar) BEFORE_JAR=$(readlink -f "${2:?}"); shift 2 ;;
    --before-flags) BEFORE_FLAGS=${2:?}; shift 2 ;;
    --after-flags) AFTER_FLAGS=${2:?}; shift 2 ;;
    --breakdown) BREAKDOWN=1; shift ;;
    *) die "unknown option $1" ;;
    esac
done
[ "$(id -u)" = 0 ] || die "needs root (network namespaces, veth pairs)"
[ -x "$JAVA" ] && [ -f "$AFTER_JAR" ] && [ -f "$CLI" ] || die "build first: mvn -pl distribution install"
[ -n "$AFTER_FLAGS" ] || die "no SHIPPED_FLAGS in $DIST/bin/netvm"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/netvm-footprint.XXXXXX")
PID=""
cleanup() {
    if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
# the readiness poll of measure-startup.sh (`help` until exit status 0); with `status`: in sync (first apply done)
POLL=$DIST/ready-poll.py

rss_mb() { awk '/^VmRSS:/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{sub(/.*\) /, ""); print int(($12 + $13) * 1000 / hz)}' "/proc/$1/stat"; }
median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print "-"; else print a[int((NR+1)/2)]}'; }

# start JAR "FLAGS" DIR [EXTRA...]: the runtime in a network namespace of its own; sets PID, writes the
# milliseconds to ready into DIR/ready
start() {
    local jar=$1 flags=$2 dir=$3; shift 3
    mkdir -p "$dir"
    local t0; t0=$(date +%s%N)
    # shellcheck disable=SC2086  # flags are words on purpose
    MALLOC_ARENA_MAX=2 unshare --net "$JAVA" $flags $ALWAYS "$@" -Dnetvm.role=netvm \
        -Dnetvm.xenstore="embedded:$dir/xs" -Dnetvm.control="$dir/c.sock" -Dorg.osgi.framework.storage="$dir/fw" \
        -jar "$jar" </dev/null >"$dir/out.log" 2>&1 &
    PID=$!
    python3 "$POLL" "$dir/c.sock" "$t0" 120 >"$dir/ready" || { tail -20 "$dir/out.log" >&2; die "not ready within 120 s"; }
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""; }

# train NAME JAR "FLAGS": the AOT cache of that configuration, as `netvm aot-cache` makes it
train() {
    local dir=$WORK/train-$1
    start "$2" "$3" "$dir" -XX:AOTCacheOutput="$WORK/$1.aot"
    sleep 1; stop
    [ -s "$WORK/$1.aot" ] || die "no AOT cache for $1"
}

# one NAME JAR "FLAGS" -> "ready_ms cpu_ms idle_mb guests_mb threads_idle threads_guests"
one() {
    local dir=$WORK/run-$1-$RANDOM ready cpu idle thr
    start "$2" "$3" "$dir" -XX:AOTCache="$WORK/$1.aot"
    cpu=$(cpu_ms "$PID"); ready=$(cat "$dir/ready")
    python3 "$POLL" "$dir/c.sock" "$(date +%s%N)" 120 status >/dev/null || die "not in sync within 120 s"
    sleep 3
    idle=$(rss_mb "$PID"); thr=$(ls "/proc/$PID/task" | wc -l)
    if [ "$GUESTS" -gt 0 ]; then
        NETVM_JAVA=$JAVA NETVM_CLI=$CLI NETVM_CONTROL=$dir/c.sock NETVM_XENSTORED=$dir/xs NETVM_PID=$PID \
            "$HERE/guests.sh" "$GUESTS" >"$dir/guests.log" 2>&1 || { tail "$dir/guests.log" >&2; die "guests.sh failed"; }
        sleep 3
    fi
    echo "$ready $cpu $idle $(rss_mb "$PID") $thr $(ls "/proc/$PID/task" | wc -l)"
    stop
    rm -rf "$dir"
}

train before "$BEFORE_JAR" "$BEFORE_FLAGS"
train after "$AFTER_JAR" "$AFTER_FLAGS"
declare -A RES
for ((i = 0; i < RUNS; i++)); do
    for c in before after; do
        if [ $c = before ]; then one before "$BEFORE_JAR" "$BEFORE_FLAGS" >"$WORK/r"; else one after "$AFTER_JAR" "$AFTER_FLAGS" >"$WORK/r"; fi
        r=$(cat "$WORK/r")
        RES[$c]+="$r"$'\n'
        echo "run $((i + 1)) $c: $r (ready ms, CPU ms, idle MB, $GUESTS guests MB, threads idle/guests)" >&2
    done
done

col() { printf '%s' "${RES[$1]}" | awk -v k="$2" 'NF {print $k}'; }
row() {
    printf '| %-6s | %5s ms (%s) | %5s ms | %5s MB (%s) | %5s MB (%s) | %s / %s |\n' "$1" \
        "$(col "$1" 1 | median)" "$(col "$1" 1 | paste -sd/)" "$(col "$1" 2 | median)" \
        "$(col "$1" 3 | median)" "$(col "$1" 3 | paste -sd/)" "$(col "$1" 4 | median)" "$(col "$1" 4 | paste -sd/)" \
        "$(col "$1" 5 | median)" "$(col "$1" 6 | median)"
}

breakdown() {
    local dir=$WORK/bd jcmd=$JDK/bin/jcmd
    start "$AFTER_JAR" "$AFTER_FLAGS" "$dir" -XX:AOTCache="$WORK/after.aot" -XX:NativeMemoryTracking=summary
    python3 "$POLL" "$dir/c.sock" "$(date +%s%N)" 120 status >/dev/null || die "not in sync within 120 s"
    sleep 3
    local when
    local phases=(idle); [ "$GUESTS" -gt 0 ] && phases+=("$GUESTS guests")
    for when in "${phases[@]}"; do
        if [ "$when" != idle ]; then
            NETVM_JAVA=$JAVA NETVM_CLI=$CLI NETVM_CONTROL=$dir/c.sock NETVM_XENSTORED=$dir/xs NETVM_PID=$PID \
                "$HERE/guests.sh" "$GUESTS" >/dev/null 2>&1
            sleep 3
        fi
        echo
        echo "### after, $when (NMT on: ~1 MB of its own): RSS $(rss_mb "$PID") MB, $(ls "/proc/$PID/task" | wc -l) threads"
        echo "Resident by mapping (KB: rss, anonymous/private part):"
        awk '/^[0-9a-f]+-[0-9a-f]+ / {n = (NF >= 6) ? $NF : "[anon]"; sub(/.*\//, "", n)}
             /^Rss:/ {r[n] += $2} /^Anonymous:/ {a[n] += $2}
             END {for (k in r) if (r[k] >= 200) printf "%8d %8d  %s\n", r[k], a[k], k}' "/proc/$PID/smaps" | sort -rn
        echo "Native memory tracking, committed KB (Java Heap = reserved pages, not all touched):"
        "$jcmd" "$PID" VM.native_memory summary | sed -n 's/^-  *\([A-Za-z ]*[a-z]\) (reserved=[0-9]*KB, committed=\([0-9]*\)KB.*/\2 \1/p' |
            sort -rn | awk '$1 >= 100 {printf "%8d  %s\n", $1, substr($0, index($0, $2))}'
        echo "Heap: $("$jcmd" "$PID" GC.heap_info | awk '/total/ {printf "%s %s used %s; ", $1, $3, $5}')"
        echo "Code cache: $("$jcmd" "$PID" Compiler.codecache | grep -m3 -E 'size=|used=' | tr -s ' ' | paste -sd' ' | cut -c1-200)"
        echo "Threads by name: $(for t in /proc/"$PID"/task/*; do sed 's/[-0-9]*$//' "$t/comm" 2>/dev/null; done | sort | uniq -c | sort -rn |
            awk '{c = $1; $1 = ""; printf "%s%s x%d", (NR > 1 ? ", " : ""), substr($0, 2), c}')"
    done
    stop
}

{
    echo "# tests/bench/footprint.sh --runs $RUNS --guests $GUESTS  ($(date -u +%Y-%m-%dT%H:%MZ), $(git -C "$TOP" rev-parse --short HEAD 2>/dev/null || echo '?'))"
    echo "jlink runtime ($JAVA), each with its own AOT cache; role netvm, embedded xenstored; RSS = VmRSS 3 s after"
    echo "ready and in sync / after the last of $GUESTS guests is programmed; medians of $RUNS alternated runs (all runs in brackets)."
    echo "$(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg) at the end."
    echo "before: $(basename "$BEFORE_JAR"), $BEFORE_FLAGS"
    echo "after:  $(basename "$AFTER_JAR"), $AFTER_FLAGS"
    echo
    echo "| config | ready | CPU to ready | RSS idle | RSS with $GUESTS guests | threads idle / guests |"
    echo "|---|---|---|---|---|---|"
    row before
    row after
    if [ "$BREAKDOWN" = 1 ]; then breakdown; fi
} | tee "$OUT.new"
keep_earlier_runs "$OUT" # the new run on top, the earlier ones below
echo "written: $OUT"
