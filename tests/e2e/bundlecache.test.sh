#!/bin/bash
# End-to-end: the framework's bundle cache that bin/netvm keeps between launches (its felix_cache).
# A marker file dropped into the cache tells whether the next launch kept it or built it again.
#   1. first start: the cache is made and stamped with its key; the deploy directory's extension runs;
#   2. a restart keeps it; the configuration still comes from the file (a changed value wins) and
#      nothing of the last run's configuration survives (a backend switch that lasts until restart);
#   3. an extension removed from bundles.d: the cache is built again, the extension is gone; an
#      extension installed at run time only (not in bundles.d) is gone after a restart that kept it;
#   4. no stamp (a launch killed before every bundle was installed) or another key: built again;
#   5. another Java runtime: built again;
#   6. an installed layout: a changed jar (an upgrade) or VERSION: built again, and the agent runs.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init bundlecache

JAR=$(ls "$E2E_TOP"/bundles/org.netvm.example.accounting/target/org.netvm.example.accounting-*.jar 2>/dev/null | head -1)
[ -n "$JAR" ] || nt_precondition "needs the example extension built (mvn install)"
JDK_JAVA=/usr/lib/jvm/temurin-25-jdk-amd64/bin/java
export NETVM_CONFIG=$RUN/netvm.json NETVM_BUNDLES_DIR=$RUN/bundles.d
ip netns add "$NV" && ip -n "$NV" link set lo up || { fail "setup: netvm namespace"; e2e_finish; }
STATE=$RUN/state
CACHE=$STATE/felix-netvm
mkdir -p "$NETVM_BUNDLES_DIR"
cp "$JAR" "$NETVM_BUNDLES_DIR/"
HEAD='{ ":configurator:symbolic-name": "e2e", ":configurator:version": "1.0.0",'
config() { # resyncSeconds
    printf '%s\n  "org.netvm.dataplane": { "backend": "nftables", "resyncSeconds:Integer": %s }\n}\n' "$HEAD" "$1" >"$NETVM_CONFIG"
}
restart() { # [state dir]
    if [ -n "${AGENT_PID:-}" ]; then kill "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null; fi
    AGENT_PID=""
    start_agent "${1:-$STATE}"
}
mark() { touch "$CACHE/e2e-marker"; }
kept() { [ -f "$CACHE/e2e-marker" ]; }
extension() { nvx bundles | grep -q 'ACTIVE *org.netvm.example.accounting'; }
no_extension() { ! nvx bundles | grep -q 'org.netvm.example.accounting'; }
shown() { nvx config show | awk -v pid="$1" -v key="$2" '/^[^ ]/ {p=$1} p==pid && $1==key {print $2, $NF}'; }

# --- 1. first start
config 4
restart || { fail "setup: netvm runtime starts" "see above"; e2e_finish; }
if [ -s "$CACHE/netvm-cache.key" ] && ls -d "$CACHE"/bundle1 >/dev/null 2>&1; then
    pass "first start: the cache is made and stamped" "$AGENT_START_MS ms"
else
    fail "first start: the cache is made and stamped" "$(ls -la "$CACHE" 2>&1 | head)"
fi
check_within 20 "first start: the deploy directory's extension is ACTIVE" extension
mark

# --- 2. kept; the configuration comes from the file
out=$(nvx backend use iptables 2>&1) || fail "setup: backend use iptables (until restart)" "$out"
config 3
restart || { fail "setup: restart with the cache" "see above"; e2e_finish; }
if kept; then pass "a restart keeps the cache" "$AGENT_START_MS ms"; else fail "a restart keeps the cache" "the marker is gone"; fi
check_within 20 "kept cache: the deploy directory's extension is ACTIVE again" extension
resync_from_file() { [ "$(shown org.netvm.dataplane resyncSeconds)" = "3 file" ]; }
check "kept cache: the file's new value wins (resyncSeconds 3, source file)" resync_from_file
requested_nftables() { nvx backend | grep '^requested: *nftables'; }
check_within 20 "kept cache: the last run's backend switch is gone (nftables, as the file says)" requested_nftables

# --- 3. removed from bundles.d, installed at run time only: gone after a restart
cp "$JAR" "$RUN/runtime-only.jar"
rm -f "$NETVM_BUNDLES_DIR"/*.jar
out=$(nvx bundles uninstall "$(nvx bundles | awk '/org.netvm.example.accounting/ {print $1; exit}')" 2>&1) ||
    fail "setup: uninstall the deploy directory's extension" "$out"
out=$(nvx bundles install --start "$RUN/runtime-only.jar" 2>&1) || fail "setup: bundles install --start" "$out"
check_within 10 "setup: the run-time extension is ACTIVE" extension
# bundles.d changed (emptied): the cache is built again; mark the new one, then install at run time again
restart || { fail "setup: restart without the extension" "see above"; e2e_finish; }
if kept; then fail "an extension removed from bundles.d: the cache is built again" "the marker survived"
else pass "an extension removed from bundles.d: the cache is built again" "$AGENT_START_MS ms"; fi
check "an extension removed from bundles.d: gone after the restart" no_extension
mark
out=$(nvx bundles install --start "$RUN/runtime-only.jar" 2>&1) || fail "setup: bundles install --start" "$out"
check_within 10 "setup: the run-time extension is ACTIVE (kept cache)" extension
restart || { fail "setup: restart after a run-time install" "see above"; e2e_finish; }
if kept && no_extension && grep -q 'runtime-only.jar is gone: uninstalled' "$RUN/netvm.log"; then
    pass "an extension installed at run time only: uninstalled at the next start of a kept cache"
else
    fail "an extension installed at run time only: uninstalled at the next start" "kept=$(kept && echo yes || echo no); $(nvx bundles | grep example)"
fi

# --- 4. no stamp, or another key
rm -f "$CACHE/netvm-cache.key"
restart || { fail "setup: restart without a stamp" "see above"; e2e_finish; }
if kept; then fail "no stamp (a launch killed mid-install): built again" "the marker survived"
else pass "no stamp (a launch killed mid-install): built again" "$AGENT_START_MS ms"; fi
mark
echo 0000 >"$CACHE/netvm-cache.key"
restart || { fail "setup: restart with another key" "see above"; e2e_finish; }
if kept; then fail "another key: built again" "the marker survived"; else pass "another key: built again"; fi
mark

# --- 5. another Java runtime
# the checkout's bin/netvm runs $NETVM_JAVA or the JDK; the other one is the exported jlink runtime
ALT_JAVA=$E2E_TOP/distribution/target/jre/bin/java
[ "$(readlink -f "${NETVM_JAVA:-$JDK_JAVA}")" != "$(readlink -f "$ALT_JAVA")" ] || ALT_JAVA=$JDK_JAVA
if [ -x "$ALT_JAVA" ] && [ "$(readlink -f "${NETVM_JAVA:-$JDK_JAVA}")" != "$(readlink -f "$ALT_JAVA")" ]; then
    NETVM_JAVA=$ALT_JAVA restart || { fail "setup: restart on another Java" "see above"; e2e_finish; }
    if kept; then fail "another Java runtime: built again" "the marker survived"; else pass "another Java runtime: built again"; fi
    mark
fi

# --- 6. installed layout: an upgrade of the jar, a new VERSION
INST=$RUN/inst
mkdir -p "$INST/bin" "$INST/lib"
cp "$E2E_TOP/distribution/bin/netvm" "$INST/bin/netvm"
cp "$E2E_TOP/distribution/target/netvm.jar" "$INST/lib/netvm.jar"
[ -d "$E2E_TOP/distribution/target/jre" ] && ln -s "$E2E_TOP/distribution/target/jre" "$INST/jre"
NETVM=$INST/bin/netvm restart "$RUN/state2" || { fail "setup: the installed layout starts" "see above"; e2e_finish; }
CACHE=$RUN/state2/felix-netvm
mark
NETVM=$INST/bin/netvm restart "$RUN/state2" || { fail "setup: the installed layout restarts" "see above"; e2e_finish; }
if kept; then pass "installed layout: a restart keeps the cache" "$AGENT_START_MS ms"
else fail "installed layout: a restart keeps the cache" "the marker is gone"; fi
# an upgrade: the same name, other content (one more entry in the jar)
echo upgrade >"$RUN/upgrade.txt"
(cd "$RUN" && "${JDK_JAVA%/java}/jar" uf "$INST/lib/netvm.jar" upgrade.txt) || fail "setup: change the jar"
NETVM=$INST/bin/netvm restart "$RUN/state2" || { fail "installed layout: the agent starts after an upgrade" "see above"; e2e_finish; }
if kept; then fail "installed layout: an upgraded jar: built again" "the marker survived"
else pass "installed layout: an upgraded jar: built again, the agent runs" "$AGENT_START_MS ms"; fi
mark
echo 9.9.9 >"$INST/VERSION"
NETVM=$INST/bin/netvm restart "$RUN/state2" || { fail "setup: restart after a new VERSION" "see above"; e2e_finish; }
if kept; then fail "installed layout: a new VERSION: built again" "the marker survived"
else pass "installed layout: a new VERSION: built again"; fi
e2e_finish
