#!/bin/bash
# Per-guest firewall benchmark (issue 10): 1 000 guests x 20 Qubes rules through the real nftables backend
# (FirewallBenchmark in bundles/org.netvm.firewall, JUnit tag "benchmark", excluded from the normal build):
# full apply, and one guest's rule change until live, against a Qubes-like baseline in the same run (one
# `nft -f -` process per guest reload: its chain flushed and refilled). The JVM runs inside a network
# namespace this script creates and deletes; nothing touches the machine's own rules.
#
# usage: sudo tests/bench/firewall.sh [-Dnetvm.bench.guests=1000] [-Dnetvm.bench.reps=21]
# Output: stdout and tests/bench/firewall-latest.txt. Takes ~1 min. Needs root, ip, nft, Maven, JDK 25 and the
# firewall's dependencies installed in the local repository (mvn -q -pl bundles/org.netvm.firewall -am install).
set -euo pipefail

HERE=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
OUT=$HERE/firewall-latest.txt

[ "$(id -u)" = 0 ] || { echo "firewall.sh: needs root (network namespace, nft)" >&2; exit 1; }
for tool in ip nft mvn; do
    command -v "$tool" >/dev/null || { echo "firewall.sh: needs '$tool'" >&2; exit 1; }
done
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
export PATH=$JAVA_HOME/bin:$PATH

NS=netvm-fwbench-$$
tmp=$(mktemp)
trap 'ip netns delete "$NS" 2>/dev/null; rm -f "$tmp"' EXIT
ip netns add "$NS"
ip -n "$NS" link set lo up

cd "$TOP"
set +e
ip netns exec "$NS" mvn -o -q -B -pl bundles/org.netvm.firewall test -Dgroups=benchmark -DexcludedGroups=none \
    -Dtest=FirewallBenchmark -Dsurefire.failIfNoSpecifiedTests=false -Dnetvm.bench.netns="$NS" "$@" 2>&1 |
    sed -u -e 's/\x1b\[[0-9;]*m//g' -e '/^WARNING: /d' | tee "$tmp"
status=${PIPESTATUS[0]}
set -e
if [ "$status" != 0 ] || ! grep -q '^netvm firewall benchmark' "$tmp"; then
    echo "firewall.sh: the benchmark failed or was skipped (exit $status); $OUT left as it was" >&2
    exit 1
fi
{ echo "# tests/bench/firewall.sh $*  ($(date -u +%Y-%m-%dT%H:%MZ), $(git -C "$TOP" rev-parse --short HEAD 2>/dev/null || echo '?'))"
  sed -n '/^netvm firewall benchmark/,$p' "$tmp"; } > "$OUT"
echo "written: $OUT"
