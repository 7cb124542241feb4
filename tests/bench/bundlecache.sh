#!/bin/bash
# tests/bench/bundlecache.sh - launch to ready of `netvm run` (role netvm, embedded xenstored, own
# network namespace, the shipped jlink runtime and flags) before and after the kept bundle cache,
# alternated in one run:
#   fresh: a new framework storage at every launch (every bundle installed at launch), with an AOT
#          cache trained on such a launch (what `netvm aot-cache` made before);
#   kept:  the bundle cache kept between launches (bin/netvm's felix_cache), with an AOT cache trained
#          on a launch from the kept cache (what `netvm aot-cache` makes now).
#
#   tests/bench/bundlecache.sh [--runs N]
#
# Ready: the control socket answers `help` (distribution/ready-poll.py, the poll of measure-startup.sh). CPU: the
# JVM's user+system time when it is ready. Output: stdout, and on top of
# tests/bench/bundlecache-latest.txt (earlier runs kept below). Needs root (network namespaces), python3.
set -euo pipefail
HERE=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
DIST=$TOP/distribution
RUNS=7
JAVA=$DIST/target/jre/bin/java
OUT=$HERE/bundlecache-latest.txt
. "$HERE/keep-earlier.sh"
die() { echo "bundlecache: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
    --runs) RUNS=${2:?}; shift 2 ;;
    *) die "unknown option $1" ;;
    esac
done
[ "$(id -u)" = 0 ] || die "needs root (network namespaces)"
[ -x "$JAVA" ] && [ -f "$DIST/target/netvm.jar" ] || die "build first: mvn -pl distribution install"
export NETVM_JAVA=$JAVA
unset NETVM_STATE
FLAGS=$(sed -n 's/^SHIPPED_FLAGS="\(.*\)"$/\1/p' "$DIST/bin/netvm")
[ -n "$FLAGS" ] || die "no SHIPPED_FLAGS in $DIST/bin/netvm"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/netvm-bundlecache.XXXXXX")
PID=""
cleanup() {
    if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{sub(/.*\) /, ""); print int(($12 + $13) * 1000 / hz)}' "/proc/$1/stat"; }
median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print "-"; else print a[int((NR+1)/2)]}'; }

# one STATE [JVM OPTION] -> "ready_ms cpu_ms"
one() {
    local dir=$WORK/run-$RANDOM ready
    mkdir -p "$dir"
    local t0; t0=$(date +%s%N)
    NETVM_JVM_FLAGS="$FLAGS ${2:-}" NETVM_STATE=$1 unshare --net "$DIST/bin/netvm" run --xenstore "embedded:$dir/xs" --control "$dir/c.sock" \
        </dev/null >"$dir/out.log" 2>&1 &
    PID=$!
    ready=$(python3 "$DIST/ready-poll.py" "$dir/c.sock" "$t0" 120) || { tail -20 "$dir/out.log" >&2; die "not ready within 120 s"; }
    echo "$ready $(cpu_ms "$PID")"
    case "${2:-}" in -XX:AOTCacheOutput=*) sleep 1 ;; esac
    kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
    rm -rf "$dir"
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
# the AOT caches: trained on a fresh storage, and on the kept cache (filled by a first launch)
one "$WORK/train-fresh" -XX:AOTCacheOutput="$WORK/fresh.aot" >/dev/null
one "$WORK/kept" >/dev/null
one "$WORK/kept" -XX:AOTCacheOutput="$WORK/kept.aot" >/dev/null
[ -s "$WORK/fresh.aot" ] && [ -s "$WORK/kept.aot" ] || die "no AOT caches"
declare -A RES
for ((i = 0; i < RUNS; i++)); do
    for c in fresh kept; do
        if [ $c = fresh ]; then r=$(one "$WORK/fresh-$i" -XX:AOTCache="$WORK/fresh.aot")
        else r=$(one "$WORK/kept" -XX:AOTCache="$WORK/kept.aot"); fi
        RES[$c]+="$r"$'\n'
        echo "run $((i + 1)) $c: $r (ready ms, CPU ms)" >&2
    done
done
col() { printf '%s' "${RES[$1]}" | awk -v k="$2" 'NF {print $k}'; }
{
    echo "# bundlecache.sh $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load before: $LOAD_BEFORE, after: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "# netvm run (jlink runtime, shipped flags, an AOT cache each), $RUNS runs each, alternated; median (all runs)"
    for c in fresh kept; do
        printf '%-6s ready %5s ms (%s)   CPU to ready %5s ms (%s)\n' "$c" \
            "$(col $c 1 | median)" "$(col $c 1 | tr '\n' ' ' | sed 's/ $//')" \
            "$(col $c 2 | median)" "$(col $c 2 | tr '\n' ' ' | sed 's/ $//')"
    done
} | tee "$OUT.new"
keep_earlier_runs "$OUT"
