#!/bin/bash
# e2e: drift repair in the real runtime, for both packet-filter backends.
#
# Starts the netvm runtime (embedded xenstored) in the shared topology (distribution/sandbox/testlib.sh), brings two vifs
# online through the hotplug script as the sandbox does, then, with nftables in charge, deletes by hand
# one netvm rule and one anti-spoofing set element with nft; after `netvm backend use iptables`, one
# netvm iptables rule and one ipset element. Each must be back after the next resync (every 5 s by
# default) and the drift-repair counter of `netvm backend` must have grown. A table of the user's own
# must survive all of it untouched.
#
# usage: sudo tests/e2e/drift.test.sh        (from a checkout; builds distribution/target when missing)
# Prints one "PASS name (figure)" or "FAIL name: why" line per check, then
# "e2e drift: N passed, M failed"; exit 0 only when all passed. Removes everything on exit.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init drift
for tool in iptables-nft iptables-nft-save ipset; do
    command -v "$tool" >/dev/null || nt_precondition "needs '$tool'"
done
WAIT=${DRIFT_WAIT_SECONDS:-20}   # resync is every 5 s (org.netvm.dataplane resyncSeconds, max 5)

inns() { ip netns exec "$NV" "$@"; }
repairs() { nvx backend | sed -n 's/.*drift repairs \([0-9]*\).*/\1/p'; }
repairs_above() { [ "$(repairs)" -gt "$1" ]; }
# waits until "$@" succeeds (up to WAIT s); prints the milliseconds it took
wait_for() {
    local t
    t=$(now_ns)
    wait_until "$WAIT" "$@" || return 1
    ms_since "$t"
}
in_sync() { nvx backend | grep -e "^active: *$1 (in sync)" >/dev/null; }
# the old backend is swept right after 'backend use' is answered (before the reconciler's next pass)
nft_swept() { ! inns nft list table inet netvm >/dev/null 2>&1; }
ipt_swept() { ! inns iptables-nft-save | grep -e NETVM- >/dev/null && ! inns ipset list -n | grep -e NETVM- >/dev/null; }
# the user's own table, which netvm must never touch
user_table() { inns nft list table inet usertable 2>/dev/null | grep -e 'tcp dport 4242 counter' >/dev/null; }

# --- the namespaces (the shared topology) and a table of the user's own in the netvm's
setup_upstream || { fail "setup" "upstream and netvm namespaces"; e2e_finish; }
inns nft -f - <<'NFT' || { fail "setup" "the user's table"; e2e_finish; }
table inet usertable {
  chain in {
    type filter hook input priority 10; policy accept;
    tcp dport 4242 counter accept
  }
}
NFT

# --- the runtime
if start_agent; then
    pass "runtime starts in the namespace" "control socket answers after $AGENT_START_MS ms"
else
    fail "runtime starts in the namespace" "no answer on $CTL; log: $(tail -5 "$RUN/netvm.log" | tr '\n' ' ')"
    e2e_finish
fi

# --- the toolstack's keys and two vifs online (as distribution/sandbox/sandbox.sh does)
write_netvm_keys
online=0
for d in 1 2; do
    g=$(guest_ns $d)
    ip netns add "$g" || continue
    make_vif $d "$g" eth0 down || continue
    write_guest_keys $d
    write_vif_keys $d
    if vif_online_hotplug $d >>"$RUN/hotplug.log" 2>&1 && [ "$(nvx xs read "$XSB/$d/0/hotplug-status")" = connected ]; then
        online=$((online + 1))
    fi
done
if [ "$online" = 2 ] && wait_for in_sync nftables >/dev/null; then
    pass "two vifs online, nftables in charge and in sync" "$(nvx backend | sed -n 's/^plan: *//p')"
else
    fail "two vifs online, nftables in charge and in sync" "$online/2 online; $(nvx backend 2>&1 | tr '\n' ' ')"
    e2e_finish
fi

# --- netvm plan against the real kernel: names by default, the canonical form with --numeric (issue 14)
check_plan() {
    local name="netvm plan: in sync, names by default, --numeric as compared" text numeric st nst
    text=$(nvx plan); st=$?
    numeric=$(nvx plan --numeric); nst=$?
    if [ "$st" = 0 ] && [ "$nst" = 0 ] && grep -qx '    ct state established,related accept' <<<"$text" &&
       grep -qx '    ct state 0x2,0x4 accept' <<<"$numeric" && ! grep -q '0x2,0x4' <<<"$text" &&
       [ "$(tail -1 <<<"$text")" = "# the kernel holds exactly this" ]; then
        pass "$name" "$(grep -c '^    ' <<<"$text") lines"
    else
        fail "$name" "exit $st/$nst; $(grep -m3 'ct state' <<<"$text$numeric" | tr '\n' ' ')"
    fi
}
check_plan

# --- nftables: a rule deleted by hand
nft_rule_present() { inns nft list chain inet netvm forward | grep -e 'ct state established,related accept' >/dev/null; }
check_nft_rule() {
    local name="nftables: netvm rule deleted with nft is restored by the resync" before handle t took after
    before=$(repairs)
    handle=$(inns nft -a list chain inet netvm forward | sed -n 's/.*ct state established,related accept # handle \([0-9]*\)$/\1/p')
    [ -n "$handle" ] || { fail "$name" "no 'ct state established,related accept' rule in inet netvm forward"; return; }
    inns nft delete rule inet netvm forward handle "$handle" || { fail "$name" "nft delete rule failed"; return; }
    nft_rule_present && { fail "$name" "the rule is still there after deleting it"; return; }
    t=$(now_ns)
    if took=$(wait_for nft_rule_present); then
        wait_until 5 repairs_above "$before"
        after=$(repairs)
        if [ "$after" -gt "$before" ] && wait_for in_sync nftables >/dev/null; then
            pass "$name" "back after ${took} ms; drift repairs $before -> $after"
        else
            fail "$name" "rule back but drift repairs $before -> $after"
        fi
    else
        fail "$name" "still missing after $WAIT s; $(nvx backend | tr '\n' ' ')"
    fi
}
check_nft_rule

# --- nftables: an anti-spoofing element deleted by hand
nft_element_present() { inns nft get element inet netvm allowed '{ "vif1.0" . 10.137.0.11 }'; }
check_nft_element() {
    local name="nftables: set element (vif1.0 . 10.137.0.11 in allowed) deleted with nft is restored" before took after
    before=$(repairs)
    nft_element_present >/dev/null 2>&1 || { fail "$name" "the element is not in inet netvm allowed to begin with"; return; }
    inns nft delete element inet netvm allowed '{ "vif1.0" . 10.137.0.11 }' || { fail "$name" "nft delete element failed"; return; }
    if took=$(wait_for nft_element_present); then
        wait_until 5 repairs_above "$before"
        after=$(repairs)
        if [ "$after" -gt "$before" ]; then
            pass "$name" "back after ${took} ms; drift repairs $before -> $after"
        else
            fail "$name" "element back but drift repairs $before -> $after"
        fi
    else
        fail "$name" "still missing after $WAIT s; $(nvx backend | tr '\n' ' ')"
    fi
}
check_nft_element

# --- switch to iptables
t=$(now_ns)
if out=$(nvx backend use iptables 2>&1) && wait_for in_sync iptables >/dev/null; then
    if ! wait_for nft_swept >/dev/null; then
        fail "backend use iptables" "in charge, but table inet netvm is still there"
    else
        pass "backend use iptables" "$out; nftables tables swept"
    fi
else
    fail "backend use iptables" "$out"
fi

# --- iptables: a rule deleted by hand
ipt_rule_present() { inns iptables-nft-save -t filter | grep -x -- "$1" >/dev/null; }
check_ipt_rule() {
    local name="iptables: netvm rule deleted with iptables is restored by the resync" before rule took after
    before=$(repairs)
    rule=$(inns iptables-nft-save -t filter | grep -m1 -- '^-A NETVM-forward .*ESTABLISHED.* -j ACCEPT$')
    [ -n "$rule" ] || { fail "$name" "no ESTABLISHED accept rule in NETVM-forward"; return; }
    # shellcheck disable=SC2086 # the rule as iptables-save prints it: plain words, no quotes
    inns iptables-nft -t filter -D ${rule#-A } || { fail "$name" "iptables -D failed for: $rule"; return; }
    ipt_rule_present "$rule" && { fail "$name" "the rule is still there after deleting it"; return; }
    if took=$(wait_for ipt_rule_present "$rule"); then
        wait_until 5 repairs_above "$before"
        after=$(repairs)
        if [ "$after" -gt "$before" ]; then
            pass "$name" "'$rule' back after ${took} ms; drift repairs $before -> $after"
        else
            fail "$name" "rule back but drift repairs $before -> $after"
        fi
    else
        fail "$name" "'$rule' still missing after $WAIT s; $(nvx backend | tr '\n' ' ')"
    fi
}
check_ipt_rule

# --- iptables: an ipset element deleted by hand
ipset_present() { inns ipset test NETVM-allowed.i4 10.137.0.11,vif1.0; }
check_ipset() {
    local name="iptables: ipset element (10.137.0.11,vif1.0 in NETVM-allowed.i4) deleted with ipset is restored" before took after
    before=$(repairs)
    ipset_present >/dev/null 2>&1 || { fail "$name" "the element is not in NETVM-allowed.i4 to begin with"; return; }
    inns ipset del NETVM-allowed.i4 10.137.0.11,vif1.0 || { fail "$name" "ipset del failed"; return; }
    if took=$(wait_for ipset_present); then
        wait_until 5 repairs_above "$before"
        after=$(repairs)
        if [ "$after" -gt "$before" ]; then
            pass "$name" "back after ${took} ms; drift repairs $before -> $after"
        else
            fail "$name" "element back but drift repairs $before -> $after"
        fi
    else
        fail "$name" "still missing after $WAIT s; $(nvx backend | tr '\n' ' ')"
    fi
}
check_ipset

# --- back to nftables; nothing of the user's was touched
if out=$(nvx backend use nftables 2>&1) && wait_for in_sync nftables >/dev/null \
    && wait_for ipt_swept >/dev/null; then
    pass "backend use nftables (back)" "$out; iptables chains and ipsets swept"
else
    fail "backend use nftables (back)" "$out; $(inns iptables-nft-save | grep -c NETVM-) NETVM- lines left"
fi
if user_table; then
    pass "the user's own table survives every repair and switch" "table inet usertable intact"
else
    fail "the user's own table survives every repair and switch" "table inet usertable missing or changed"
fi
if grep -q 'drift in ' "$RUN/netvm.log"; then
    pass "the runtime logs each drift" "$(grep -c 'drift in ' "$RUN/netvm.log") 'drift in' lines, e.g. $(grep -m1 -o 'drift in .*' "$RUN/netvm.log" | cut -c1-120)"
else
    fail "the runtime logs each drift" "no 'drift in' line in $RUN/netvm.log"
fi

e2e_finish
