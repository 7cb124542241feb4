#!/bin/bash
# Proves docs/extending.md works: extracts the files the page shows (each code block after a
# "<!-- file: PATH -->" line) into an empty temporary folder, builds the bundle with Maven against the
# netvm API artifacts installed in the local Maven repository (first checking that the page names
# the build's version, the root pom.xml's), starts a netvm agent in the sandbox's namespaces
# (distribution/sandbox/testlib.sh; never touching this machine's), and follows steps 6-8 of the page
# with the netvm CLI: install, check it is active and called for a guest's vif, uninstall, check it
# is gone. Prints PASS/FAIL lines and "extending-test: N passed, M failed"; exits non-zero when
# anything failed. Needs root (namespaces, control socket).
set -uo pipefail
HERE=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
DOC=$HERE/extending.md
export JAVA_HOME=${NETVM_JAVA_HOME:-${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}}
export PATH="$JAVA_HOME/bin:$PATH"

NT_SUMMARY=extending-test
AGENT_COMMANDS="xs vif bundles"
. "$HERE/../distribution/sandbox/testlib.sh"
nt_init nvext $$ nft dnsmasq dig unzip mvn
W=$RUN/work
mkdir -p "$W"
nv() { netvm_cli "$@"; } # the page's steps use the netvm CLI
# fatal NAME WHY [LOG]: a FAIL line, the tail of LOG, and the end (later steps need this one)
fatal() { fail "$1" "$2"; [ -n "${3:-}" ] && [ -f "$3" ] && tail -30 "$3"; nt_finish; }

# --- the page's version of the netvm artifacts is the build's (the root pom.xml's project version)
BUILD_VERSION=$("$PY" -c '
import sys, xml.etree.ElementTree as ET
print(ET.parse(sys.argv[1]).getroot().find("{http://maven.apache.org/POM/4.0.0}version").text)' "$HERE/../pom.xml")
page_version() {
    local pinned named
    pinned=$(sed -n 's/.*<netvm.version>\(.*\)<\/netvm.version>.*/\1/p' "$DOC")
    named=$(grep -o 'version `[^`]*`' "$DOC" | head -1 | sed 's/version `\(.*\)`/\1/')
    echo "page: netvm.version $pinned, prerequisites name $named; build: $BUILD_VERSION"
    [ "$pinned" = "$BUILD_VERSION" ] && [ "$named" = "$BUILD_VERSION" ]
}
check "the page's netvm version is the build's" page_version

# --- steps 1-4: the files, exactly as the page shows them
mkdir -p "$W/accounting"
awk -v dir="$W/accounting" '
    /^<!-- file: .* -->$/ { file = $3; next }
    file != "" && /^```/ && !inblock { inblock = 1; path = dir "/" file; n = split(file, parts, "/");
                                      sub("/[^/]*$", "", path); system("mkdir -p \"" path "\""); out = dir "/" file; next }
    inblock && /^```$/ { inblock = 0; file = ""; close(out); next }
    inblock { print > out }
' "$DOC"
for f in pom.xml bnd.bnd src/main/java/com/example/accounting/Accounting.java; do
    check "the page gives $f" test -s "$W/accounting/$f"
done

# --- step 5: build, against the installed API artifacts (offline: nothing but the local repository)
JAR=$W/accounting/target/com.example.accounting-1.0.0.jar
# with the checkout's Maven options (.mvn/maven.config: e.g. its local repository), which a folder
# outside the checkout would not pick up
read -r -a MVN_OPTS < <(cat "$HERE/../.mvn/maven.config" 2>/dev/null | tr '\n' ' '; echo)
if (cd "$W/accounting" && mvn -B -q -o "${MVN_OPTS[@]}" package >"$W/build.log" 2>&1) && [ -f "$JAR" ]; then
    pass "the bundle builds with mvn package"
else
    fatal "the bundle builds with mvn package" "see the build log below" "$W/build.log"
fi
MANIFEST=$(unzip -p "$JAR" META-INF/MANIFEST.MF | tr -d '\r' | sed -e ':a' -e 'N' -e '$!ba' -e 's/\n //g')
IMPORTS=$(echo "$MANIFEST" | sed -n 's/^Import-Package: //p')
check "it imports netvm's API packages" bash -c "echo '$IMPORTS' | grep -q 'org.netvm.vif;version=' && echo '$IMPORTS' | grep -q 'org.netvm.dataplane;version=' && echo '$IMPORTS' | grep -q 'org.netvm.policy;version=' && echo '$IMPORTS' | grep -q 'org.netvm.control;version='"
check "it imports nothing internal" bash -c "! echo '$IMPORTS' | grep -q internal"
check "it declares its component" bash -c "echo '$MANIFEST' | grep -q '^Service-Component: OSGI-INF/com.example.accounting.Accounting.xml'"

# --- a running agent, in the namespaces of netvm sandbox (distribution/sandbox/testlib.sh)
setup_upstream || fatal "an agent runs" "upstream and netvm namespaces"
start_agent || fatal "an agent runs" "see below" "$RUN/netvm.log"
pass "an agent runs (namespace $NV)"
wait_until 10 ip netns exec "$NV" nft list chain inet netvm custom-forward

# --- step 6: install
OUT=$(nv bundles install --start "$JAR" 2>&1)
echo "    netvm bundles install --start ...: $OUT"
BID=$(echo "$OUT" | awk '/com.example.accounting/ {print $1; exit}')
check "netvm bundles install --start: ACTIVE" bash -c "echo '$OUT' | grep -q 'ACTIVE *com.example.accounting 1.0.0'"
listed_active() { nv bundles | grep -e "^ *$BID  ACTIVE *com.example.accounting"; }
check "netvm bundles lists it as ACTIVE" listed_active
help_lists() { nv help | grep -e '^  accounting '; }
check_within 5 "netvm help lists accounting" help_lists
check_within 5 "netvm accounting answers" nv accounting

# --- step 7: a guest comes online and the extension is called
write_netvm_keys
G=$(guest_ns 5)
GIP=$(guest_ip 5)
ip netns add "$G" && ip -n "$G" link set lo up
make_vif 5 "$G" eth0 down
write_vif_keys 5
wait_until 5 eval 'nvx vif list | grep -q vif5.0'
check "the guest's vif comes online" nv vif online --vif vif5.0 --xenbus-path backend/vif/5/0
shows_guest() { nv accounting | grep -e "vif5.0 domid 5 $GIP"; }
check_within 5 "the hook was called: netvm accounting shows the guest" shows_guest
in_json() {
    local f
    f=$(nv accounting | sed -n 's/^events (also in \(.*\)):$/\1/p')
    grep -e '"action":"online","vif":"vif5.0","domid":5' "$f" >/dev/null && echo "$f"
}
check_within 5 "the event is in the JSON file" in_json
counts() { ip netns exec "$NV" nft list chain inet netvm custom-forward | grep -e 'iifname "vif5.0" counter'; }
check_within 5 "custom-forward counts the guest's bytes" counts

# --- step 8: remove it
check "netvm bundles uninstall $BID" nv bundles uninstall "$BID"
not_listed() { ! nv bundles | grep -e com.example.accounting; }
check_within 5 "it is no longer listed" not_listed
accounting_gone() { nv accounting >/dev/null 2>&1; local rc=$?; echo "exit status $rc"; [ $rc = 2 ]; }
check_within 5 "netvm accounting is gone (usage error 2)" accounting_gone
withdrawn() { ! ip netns exec "$NV" nft list chain inet netvm custom-forward | grep -e vif5.0; }
check_within 5 "its rules are withdrawn" withdrawn
route_kept() { ip -n "$NV" -4 route show | grep -e "^$GIP dev vif5.0"; }
check_within 5 "the guest stays connected (its route)" route_kept
check "the agent still answers" nv vif list

if [ "$NT_FAILED" -ne 0 ]; then
    echo "extending-test: $NT_FAILED check(s) failed; agent log:"; tail -40 "$RUN/netvm.log"
fi
nt_finish
