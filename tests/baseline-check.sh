#!/bin/bash
# Proves that API baselining works: in a scratch copy of this checkout, adds an abstract method to
# the @ConsumerType PacketFilterBackend (a major change under an unchanged package version) and
# expects the build of org.netvm.dataplane.api to fail in bnd-baseline; then checks that the
# unchanged bundle passes. Prints PASS/FAIL lines; needs the artifacts of a previous build in ~/.m2.
set -uo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
export JAVA_HOME=${NETVM_JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
git clone -q "$TOP" "$scratch/repo" || { echo "FAIL cannot clone $TOP"; exit 1; }
cd "$scratch/repo"
if mvn -B -q -o -pl bundles/org.netvm.dataplane.api verify -DskipTests >"$scratch/ok.log" 2>&1; then
    echo "PASS the released API passes its baseline"
else
    echo "FAIL the unchanged API does not pass its baseline:"; tail -20 "$scratch/ok.log"; exit 1
fi
f=bundles/org.netvm.dataplane.api/src/main/java/org/netvm/dataplane/PacketFilterBackend.java
python3 - "$f" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
i = s.rindex('}')
open(p, 'w').write(s[:i] + "    void flushEverything();\n}\n")
PY
if mvn -B -o -pl bundles/org.netvm.dataplane.api verify -DskipTests >"$scratch/bad.log" 2>&1; then
    echo "FAIL an incompatible API change built without a major version bump"; exit 1
elif grep -q 'ADDED *METHOD *flushEverything' "$scratch/bad.log" && grep -q 'Baseline problems detected' "$scratch/bad.log"; then
    echo "PASS an incompatible change (new abstract method in a @ConsumerType) fails the build in bnd-baseline"
else
    echo "FAIL the build failed, but not in the baseline check:"; grep ERROR "$scratch/bad.log" | head -10; exit 1
fi
