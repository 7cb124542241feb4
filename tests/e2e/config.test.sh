#!/bin/bash
# End-to-end: the operator's configuration (issue 14, "Configuration").
#   1. a configuration file with problems: `netvm config check` prints one line per problem (exit 1);
#      the agent refuses to start (exit 78) with the same lines, and programs nothing;
#   2. a good file: the agent starts; `netvm config show` gives each value and its source;
#   3. `netvm backend use bogus` is refused (exit 1), the requested backend stays as it was;
#   4. `netvm backend use --permanent iptables` switches and writes the file;
#   5. `netvm bundles install --permanent JAR` copies the extension to the deploy directory;
#      after a restart the extension is ACTIVE again and iptables is still in charge;
#   6. a value the metatype allows but the component refuses (a bad tablePrefix): the agent runs,
#      `netvm status` is degraded with the reason config-invalid naming the component.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init config

JAR=$(ls "$E2E_TOP"/bundles/org.netvm.example.accounting/target/org.netvm.example.accounting-*.jar 2>/dev/null | head -1)
[ -n "$JAR" ] || nt_precondition "needs the example extension built (mvn install)"
export NETVM_CONFIG=$RUN/netvm.json NETVM_BUNDLES_DIR=$RUN/bundles.d
ip netns add "$NV" && ip -n "$NV" link set lo up || { fail "setup: netvm namespace"; e2e_finish; }

# --- 1. a broken file stops the start
HEAD='{ ":configurator:symbolic-name": "e2e", ":configurator:version": "1.0.0",'
cat >"$NETVM_CONFIG" <<EOF
$HEAD
  "org.netvm.dataplane": { "bakend": "iptables", "resyncSeconds": 50 }
}
EOF
want="$NETVM_CONFIG:2:28: org.netvm.dataplane: unknown key \"bakend\" (did you mean \"backend\"?)
$NETVM_CONFIG:2:67: org.netvm.dataplane: resyncSeconds: 50 is above the maximum 5"
out=$("$NETVM" config check 2>/dev/null); rc=$?
if [ $rc = 1 ] && [ "$out" = "$want" ]; then pass "config check: one line per problem, exit 1"
else fail "config check: one line per problem, exit 1" "exit $rc: $out"; fi
ip netns exec "$NV" "$NETVM" run --xenstore "embedded:$XS" --control "$CTL" </dev/null >"$RUN/refused.log" 2>&1
rc=$?
if [ $rc = 78 ] && grep -qxF "$(echo "$want" | head -1)" "$RUN/refused.log" &&
   grep -q "^netvm: not starting: 2 problems in $NETVM_CONFIG" "$RUN/refused.log"; then
    pass "the agent refuses to start on it (exit 78, the same lines)"
else
    fail "the agent refuses to start on it" "exit $rc; $(tail -5 "$RUN/refused.log")"
fi
if ip netns exec "$NV" nft list tables | grep -q netvm; then fail "nothing programmed by the refused start" "$(ip netns exec "$NV" nft list tables)"
else pass "nothing programmed by the refused start"; fi

# --- 2. a good file: the agent starts; config show gives sources
cat >"$NETVM_CONFIG" <<EOF
$HEAD
  // the Configurator's comments are kept by --permanent
  "org.netvm.dataplane": { "backend": "nftables", "resyncSeconds:Integer": 4 },
  "org.netvm.policy": { "uplinkIcmp": false }
}
EOF
check "config check: the good file" "$NETVM" config check
start_agent "$RUN/felix" || { fail "setup: netvm runtime starts" "see above"; e2e_finish; }
pass "the agent starts with the good file" "$AGENT_START_MS ms"
show=$(netvm_cli config show)
shown() { printf '%s\n' "$show" | awk -v pid="$1" -v key="$2" '/^[^ ]/ {p=$1} p==pid && $1==key {print $2, $NF}'; }
if [ "$(shown org.netvm.dataplane resyncSeconds)" = "4 file" ] &&
   [ "$(shown org.netvm.dataplane debounceMillis)" = "0 default" ] &&
   [ "$(shown org.netvm.control socketPath)" = "$CTL launcher" ]; then
    pass "config show: effective values and their source (file, default, launcher)"
else
    fail "config show: effective values and their source" "$(printf '%s\n' "$show" | grep -A4 -e '^org.netvm.dataplane' -e '^org.netvm.control')"
fi

# --- 3. backend use of a name that is not available
out=$(netvm_cli backend use bogus 2>&1); rc=$?
out=$(printf '%s\n' "$out" | grep -v '^netvm: warning:') # a checkout's stale-jar warning
state=$(nvx backend)
if [ $rc = 1 ] && [ "$out" = "backend use bogus: no such backend (available: iptables, nftables); nothing changed" ] &&
   [ "$(printf '%s\n' "$state" | sed -n 's/^requested: *//p')" = nftables ]; then
    pass "backend use bogus: refused, nothing changed"
else
    fail "backend use bogus: refused, nothing changed" "exit $rc: $out; $state"
fi
out=$(netvm_cli backend use nftables 2>&1)
if printf '%s' "$out" | grep -q "lasts until the agent restarts"; then pass "backend use says the switch lasts until restart"
else fail "backend use says the switch lasts until restart" "$out"; fi

# --- 4. --permanent writes the file (comments and the rest kept)
out=$(netvm_cli backend use --permanent iptables 2>&1); rc=$?
if [ $rc = 0 ] && grep -q '"backend": "iptables"' "$NETVM_CONFIG" && grep -q "comments are kept" "$NETVM_CONFIG" &&
   "$NETVM" config check >/dev/null 2>&1; then
    pass "backend use --permanent iptables: in charge and written to the file"
else
    fail "backend use --permanent iptables" "exit $rc: $out; $(cat "$NETVM_CONFIG")"
fi

# --- 5. a permanent extension survives a restart
out=$(netvm_cli bundles install --permanent "$JAR" 2>&1); rc=$?
if [ $rc = 0 ] && [ -f "$NETVM_BUNDLES_DIR/$(basename "$JAR")" ] && printf '%s' "$out" | grep -q 'ACTIVE *org.netvm.example.accounting'; then
    pass "bundles install --permanent: copied to the deploy directory, ACTIVE"
else
    fail "bundles install --permanent" "exit $rc: $out"
fi
kill "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null
start_agent "$RUN/felix2" || { fail "setup: netvm runtime restarts" "see above"; e2e_finish; }
check_within 20 "after a restart the extension is ACTIVE again" bash -c \
    "$(declare -f nvx); CTL=$CTL PY=$PY NETVM_CTL=$NETVM_CTL NETVM=$NETVM; nvx bundles | grep 'ACTIVE *org.netvm.example.accounting'"
check_within 20 "after a restart iptables is in charge (the permanent choice)" bash -c \
    "$(declare -f nvx); CTL=$CTL PY=$PY NETVM_CTL=$NETVM_CTL NETVM=$NETVM; nvx backend | grep '^active: *iptables (in sync)'"

# --- 6. a value the metatype allows but its component refuses: one reason config-invalid, no start refusal
kill "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null
cat >"$NETVM_CONFIG" <<EOF
$HEAD
  "org.netvm.backend.nftables": { "tablePrefix": "bad prefix" }
}
EOF
rm -f "$RUN"/bundles.d/*.jar
start_agent "$RUN/felix3" || { fail "setup: netvm runtime starts with a bad tablePrefix" "see above"; e2e_finish; }
check_within 20 "a component that refuses its configuration: status reason config-invalid" bash -c \
    "$(declare -f nvx); CTL=$CTL PY=$PY NETVM_CTL=$NETVM_CTL NETVM=$NETVM; nvx status | grep 'config-invalid: .*org.netvm.backend.nftables.*table prefix must match'"
e2e_finish
