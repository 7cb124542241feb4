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

# ARCHITECTURE.md's bundle table names each exported package with its version: it must say what the
# package-info.java files say (a newcomer reads the table, bnd reads the files).
cd "$TOP"
mismatch=$(python3 - <<'PY'
import glob, re
declared = {}
for f in glob.glob("bundles/*/src/main/java/**/package-info.java", recursive=True):
    s = open(f).read()
    v = re.search(r'@(?:org\.osgi\.annotation\.versioning\.)?Version\("(\d+)\.(\d+)\.\d+"\)', s)
    p = re.search(r'^package ([\w.]+);', s, re.M)
    if v and p and "internal" not in p.group(1):
        declared[p.group(1)] = v.group(1) + "." + v.group(2)
table = {}
for line in open("ARCHITECTURE.md"):
    if line.startswith("| `org.netvm."):
        cells = line.split("|")
        for pkg, ver in re.findall(r'`(org\.netvm[\w.]*)` (\d+\.\d+)', cells[-2] if len(cells) > 2 else ""):
            table[pkg] = ver
bad = [f"{p}: ARCHITECTURE.md says {table.get(p, 'nothing')}, package-info.java {v}" for p, v in sorted(declared.items()) if table.get(p) != v]
bad += [f"{p}: in ARCHITECTURE.md but no exported package-info.java" for p in sorted(table) if p not in declared]
print("\n".join(bad))
PY
)
if [ -z "$mismatch" ]; then
    echo "PASS ARCHITECTURE.md's exported package versions match package-info.java"
else
    echo "FAIL ARCHITECTURE.md's exported package versions differ from package-info.java:"; echo "$mismatch"; exit 1
fi
