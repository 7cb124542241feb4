#!/bin/bash
# Proves docs/extending.md works: extracts the files the page shows (each code block after a
# "<!-- file: PATH -->" line) into an empty temporary folder, builds the bundle with Maven against the
# netvm API artifacts installed in the local Maven repository, starts a netvm agent in a network
# namespace of its own (never touching this machine's), and follows steps 6-8 of the page with the
# netvm CLI: install, check it is active and called for a guest's vif, uninstall, check it is gone.
# Prints PASS/FAIL lines; exits non-zero when anything failed. Needs root (namespaces, control socket).
set -uo pipefail
HERE=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
DOC=$HERE/extending.md
NETVM=$HERE/../distribution/bin/netvm
export JAVA_HOME=${NETVM_JAVA_HOME:-${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}}
export PATH="$JAVA_HOME/bin:$PATH"

if [ "$(id -u)" != 0 ]; then echo "SKIP extending-test: needs root"; exit 0; fi

FAILED=0
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; FAILED=$((FAILED + 1)); }
check() { # description, command...
    local what=$1; shift
    if "$@" >/dev/null 2>&1; then pass "$what"; else fail "$what"; fi
}

W=$(mktemp -d /tmp/netvm-extending.XXXXXX)
ID=$$
NV=nvext-netvm-$ID
G=nvext-g5-$ID
CTL=$W/run/control.sock
AGENT=
cleanup() {
    [ -n "$AGENT" ] && kill "$AGENT" 2>/dev/null && wait "$AGENT" 2>/dev/null
    ip netns del "$G" 2>/dev/null
    ip netns del "$NV" 2>/dev/null
    rm -rf "$W" "/etc/netns/$NV"
}
trap cleanup EXIT
nv() { "$NETVM" --control "$CTL" "$@"; }

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
if (cd "$W/accounting" && mvn -B -q -o package >"$W/build.log" 2>&1) && [ -f "$JAR" ]; then
    pass "the bundle builds with mvn package"
else
    fail "the bundle builds with mvn package"; tail -30 "$W/build.log"; exit 1
fi
MANIFEST=$(unzip -p "$JAR" META-INF/MANIFEST.MF | tr -d '\r' | sed -e ':a' -e 'N' -e '$!ba' -e 's/\n //g')
IMPORTS=$(echo "$MANIFEST" | sed -n 's/^Import-Package: //p')
check "it imports netvm's API packages" bash -c "echo '$IMPORTS' | grep -q 'org.netvm.vif;version=' && echo '$IMPORTS' | grep -q 'org.netvm.dataplane;version=' && echo '$IMPORTS' | grep -q 'org.netvm.policy;version=' && echo '$IMPORTS' | grep -q 'org.netvm.control;version='"
check "it imports nothing internal" bash -c "! echo '$IMPORTS' | grep -q internal"
check "it declares its component" bash -c "echo '$MANIFEST' | grep -q '^Service-Component: OSGI-INF/com.example.accounting.Accounting.xml'"

# --- a running agent, in a namespace of its own (as netvm sandbox does)
ip netns add "$NV" && ip -n "$NV" link set lo up
mkdir -p "$W/run" "/etc/netns/$NV"
printf 'nameserver 192.0.2.53\n' > "/etc/netns/$NV/resolv.conf"
ip netns exec "$NV" env NETVM_STATE="$W/felix" "$NETVM" run --role netvm --xenstore "embedded:$W/run/xenstored/socket" \
    --control "$CTL" </dev/null >"$W/netvm.log" 2>&1 &
AGENT=$!
for _ in $(seq 1 300); do nv help >/dev/null 2>&1 && break; sleep 0.1; done
if ! nv help >/dev/null 2>&1; then fail "an agent runs"; tail -30 "$W/netvm.log"; exit 1; fi
pass "an agent runs (namespace $NV)"
for _ in $(seq 1 100); do ip netns exec "$NV" nft list chain inet netvm custom-forward >/dev/null 2>&1 && break; sleep 0.1; done

# --- step 6: install
OUT=$(nv bundles install --start "$JAR" 2>&1)
echo "    netvm bundles install --start ...: $OUT"
BID=$(echo "$OUT" | awk '/com.example.accounting/ {print $1; exit}')
check "netvm bundles install --start: ACTIVE" bash -c "echo '$OUT' | grep -q 'ACTIVE *com.example.accounting 1.0.0'"
check "netvm bundles lists it as ACTIVE" bash -c "\"$NETVM\" --control \"$CTL\" bundles | grep -q '^ *$BID  ACTIVE *com.example.accounting'"
check "netvm help lists accounting" bash -c "\"$NETVM\" --control \"$CTL\" help | grep -q '^  accounting '"
check "netvm accounting answers" nv accounting

# --- step 7: a guest comes online and the extension is called
nv xs write /local/domain/0/qubes-netvm-gateway 10.137.0.1 >/dev/null
ip netns add "$G" && ip -n "$G" link set lo up
ip link add vif5.0 netns "$NV" type veth peer name eth0 netns "$G"
ip -n "$NV" link set vif5.0 address fe:ff:ff:ff:ff:ff
ip -n "$G" link set eth0 address 00:16:3e:5e:6c:05
nv xs write /local/domain/0/backend/vif/5/0/ip 10.137.0.5 /local/domain/0/backend/vif/5/0/mac 00:16:3e:5e:6c:05 >/dev/null
for _ in $(seq 1 50); do nv vif list 2>/dev/null | grep -q vif5.0 && break; sleep 0.1; done
check "the guest's vif comes online" nv vif online --vif vif5.0 --xenbus-path backend/vif/5/0
seen=no
for _ in $(seq 1 50); do nv accounting | grep -q 'vif5.0 domid 5 10.137.0.5' && { seen=yes; break; }; sleep 0.1; done
check "the hook was called: netvm accounting shows the guest" test $seen = yes
check "the event is in the JSON file" bash -c "f=\$(\"$NETVM\" --control \"$CTL\" accounting | sed -n 's/^events (also in \(.*\)):\$/\1/p'); grep -q '\"action\":\"online\",\"vif\":\"vif5.0\",\"domid\":5' \"\$f\""
counted=no
for _ in $(seq 1 50); do ip netns exec "$NV" nft list chain inet netvm custom-forward 2>/dev/null | grep -q 'iifname "vif5.0" counter' && { counted=yes; break; }; sleep 0.1; done
check "custom-forward counts the guest's bytes" test $counted = yes

# --- step 8: remove it
check "netvm bundles uninstall $BID" nv bundles uninstall "$BID"
check "it is no longer listed" bash -c "! \"$NETVM\" --control \"$CTL\" bundles | grep -q com.example.accounting"
nv accounting >/dev/null 2>&1; rc=$?
check "netvm accounting is gone (usage error 2)" test $rc = 2
gone=no
for _ in $(seq 1 50); do ip netns exec "$NV" nft list chain inet netvm custom-forward 2>/dev/null | grep -q vif5.0 || { gone=yes; break; }; sleep 0.1; done
check "its rules are withdrawn" test $gone = yes
check "the guest stays connected (its route)" bash -c "ip -n '$NV' -4 route show | grep -q '^10.137.0.5 dev vif5.0'"
check "the agent still answers" nv vif list

if [ "$FAILED" -ne 0 ]; then
    echo "extending-test: $FAILED check(s) failed; agent log:"; tail -40 "$W/netvm.log"
    exit 1
fi
exit 0
