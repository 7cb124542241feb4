#!/bin/bash
# Packet-filter backend benchmark: nftables and iptables backends against the naive one-process-per-
# object way, for N = 100, 1000, 10000 guests of the real policy shape, plus the hot swap time with
# 1000 guests through the reconciler. Runs BackendBenchmark (bundles/org.netvm.dataplane, JUnit tag
# "benchmark", excluded from the normal build) in a network namespace it creates and deletes.
#
# The swap is measured twice (-Dnetvm.bench.swapLoads=plain,firewall): the guests alone, and the guests with
# the per-guest firewall of tests/bench/firewall.sh (20 Qubes rules each, through the real firewall planner, so
# the rule count follows it), nftables through libnftables as the runtime configures it; each direction's
# median and p90 of 'switch done' (the new backend holds the whole plan and the caller is answered: protection
# is in place) and of 'old swept' (the old backend's sweep, which the reconciler runs after that answer and
# before its next pass, is over), where the time went (apply of the new backend, sweep of the old one, from the
# swap's log lines; the new one's read-back is the next drift check's) and each backend's parts measured alone.
# The floor under the swap to iptables: the iptables backend's rendered input restored by the tools alone
# (ipset restore, iptables-restore, ip6tables-restore; no rendering, no read of the kernel) into empty tables,
# with the nft variant the backend runs (the Debian default) and the legacy one.
# -Dnetvm.bench.iptVariant=legacy runs the iptables backend itself with iptables-legacy (default: nft).
#
# usage: sudo tests/bench/backends.sh [--swap] [-Dnetvm.bench.sizes=100,1000,10000] [-Dnetvm.bench.naiveMax=1000]
#                                     [-Dnetvm.bench.reps=9] [-Dnetvm.bench.swapGuests=1000]
#                                     [-Dnetvm.bench.swapLoads=plain,firewall] [-Dnetvm.bench.iptVariant=nft]
#   --swap: the hot swap only (no table; ~2-4 min)
# Output: stdout and tests/bench/backends-latest.txt (this run on top, earlier runs kept below). Takes ~5-15
# min (the naive baseline dominates).
# Needs root, ip, nft, iptables-nft(-restore), ip6tables-nft-restore, ipset, Maven and JDK 25; the
# backend and policy bundles must be installed in ~/.m2 (mvn -q -pl bundles/<it> install).
set -euo pipefail

HERE=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
OUT=$HERE/backends-latest.txt

[ "$(id -u)" = 0 ] || { echo "backends.sh: needs root (network namespaces, nft, iptables)" >&2; exit 1; }
for tool in ip nft iptables-nft iptables-nft-restore ip6tables-nft-restore ipset mvn; do
    command -v "$tool" >/dev/null || { echo "backends.sh: needs '$tool'" >&2; exit 1; }
done
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}

args=()
for a in "$@"; do
    if [ "$a" = --swap ]; then args+=(-Dnetvm.bench.sizes=); else args+=("$a"); fi
done
cd "$TOP"
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
set +e
mvn -q -B -pl bundles/org.netvm.dataplane test -Dgroups=benchmark -DexcludedGroups=none \
    -Dtest=BackendBenchmark -Dsurefire.failIfNoSpecifiedTests=false ${args[@]+"${args[@]}"} 2>&1 |
    sed -u -e 's/\x1b\[[0-9;]*m//g' -e '/^WARNING: .*sun\.misc\.Unsafe/d' \
        -e '/^WARNING: Please consider reporting/d' | tee "$tmp"
status=${PIPESTATUS[0]}
set -e
if [ "$status" != 0 ] || ! grep -q '^hot swap through the reconciler' "$tmp"; then
    echo "backends.sh: the benchmark failed or was skipped (exit $status); $OUT left as it was" >&2
    exit 1
fi
earlier=$(mktemp)
[ -f "$OUT" ] && grep -v '^# ---- earlier runs ----$' "$OUT" > "$earlier"
{ echo "# tests/bench/backends.sh $*  ($(date -u +%Y-%m-%dT%H:%MZ), $(git -C "$TOP" rev-parse --short HEAD 2>/dev/null || echo '?'))"
  sed -n '/^netvm backend benchmark/,$p' "$tmp" | grep -v '^  measured '
  if [ -s "$earlier" ]; then echo; echo "# ---- earlier runs ----"; cat "$earlier"; fi; } > "$OUT"
rm -f "$earlier"
echo "written: $OUT"
