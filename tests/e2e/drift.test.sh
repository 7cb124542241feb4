#!/bin/bash
# e2e: drift repair in the real runtime, for both packet-filter backends.
#
# Starts the netvm runtime (embedded xenstored) in a network namespace of its own, brings two vifs
# online through the hotplug script as the sandbox does, then, with nftables in charge, deletes by hand
# one netvm rule and one anti-spoofing set element with nft; after `netvm backend use iptables`, one
# netvm iptables rule and one ipset element. Each must be back after the next resync (every 5 s by
# default) and the drift-repair counter of `netvm backend` must have grown. A table of the user's own
# must survive all of it untouched.
#
# usage: sudo tests/e2e/drift.test.sh        (from a checkout; builds distribution/target when missing)
# Prints one "PASS name (figure)" or "FAIL name: why" line per check, then
# "e2e drift.test.sh: N passed, M failed"; exit 0 only when all passed. Removes everything on exit.
set -uo pipefail

HERE=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
NETVM=${NETVM_BIN:-$TOP/distribution/bin/netvm}
HOTPLUG=$TOP/distribution/hotplug/vif-route-netvm
WAIT=${DRIFT_WAIT_SECONDS:-20}   # resync is every 5 s (org.netvm.dataplane resyncSeconds, max 5)

PASSED=0
FAILED=0
pass() { printf 'PASS %s (%s)\n' "$1" "$2"; PASSED=$((PASSED + 1)); }
fail() { printf 'FAIL %s: %s\n' "$1" "$2"; FAILED=$((FAILED + 1)); }
finish() {
    echo "e2e drift.test.sh: $PASSED passed, $FAILED failed"
    [ "$FAILED" = 0 ] && [ "$PASSED" -gt 0 ]
}

if [ "$(id -u)" != 0 ]; then
    fail "preconditions" "needs root (network namespaces)"; finish; exit 1
fi
for tool in ip nft iptables-nft iptables-nft-save ipset; do
    command -v "$tool" >/dev/null || { fail "preconditions" "needs '$tool'"; finish; exit 1; }
done
[ -x "$NETVM" ] && [ -x "$HOTPLUG" ] || { fail "preconditions" "no $NETVM or $HOTPLUG"; finish; exit 1; }

ID=$$
NV=nvdrift-netvm-$ID
RUN=/run/netvm-drift-$ID
CTL=$RUN/netvm.sock
XS=$RUN/xenstored/socket
RUNTIME_PID=
GUEST_NS=()

cleanup() {
    local status=$?
    if [ -n "$RUNTIME_PID" ]; then
        kill "$RUNTIME_PID" 2>/dev/null
        for _ in $(seq 1 50); do kill -0 "$RUNTIME_PID" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$RUNTIME_PID" 2>/dev/null
        wait "$RUNTIME_PID" 2>/dev/null
    fi
    for ns in "$NV" "${GUEST_NS[@]}"; do ip netns del "$ns" 2>/dev/null; done
    rm -rf "$RUN" "/etc/netns/$NV"
    exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

nvx() { "$NETVM" --control "$CTL" "$@"; }
inns() { ip netns exec "$NV" "$@"; }
now() { date +%s%N; }
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
repairs() { nvx backend | sed -n 's/.*drift repairs \([0-9]*\).*/\1/p'; }
# waits until "$@" succeeds (up to WAIT s); prints the milliseconds it took
wait_for() {
    local t=$(now)
    for _ in $(seq 1 $((WAIT * 5))); do
        if "$@" >/dev/null 2>&1; then ms "$t"; return 0; fi
        sleep 0.2
    done
    return 1
}
in_sync() { nvx backend | grep -e "^active: *$1 (in sync)" >/dev/null; }
# the user's own table, which netvm must never touch
user_table() { inns nft list table inet usertable 2>/dev/null | grep -e 'tcp dport 4242 counter' >/dev/null; }

mkdir -p "$RUN" "/etc/netns/$NV"
# --- the netvm namespace: an uplink (a veth pair, both ends inside) and a resolv.conf for the DNS feature
setup() { "$@" || { fail "setup" "failed: $*"; finish; exit 1; }; }
setup ip netns add "$NV"
setup inns ip link set lo up
setup inns ip link add up0 type veth peer name up0-peer
setup inns ip addr add 198.51.100.2/24 dev up0
setup inns ip link set up0-peer up
setup inns ip link set up0 up
setup inns ip route add default via 198.51.100.1
printf 'nameserver 198.51.100.1\nnameserver 198.51.100.3\n' > "/etc/netns/$NV/resolv.conf"
setup inns nft -f - <<'NFT'
table inet usertable {
  chain in {
    type filter hook input priority 10; policy accept;
    tcp dport 4242 counter accept
  }
}
NFT

# --- the runtime
t=$(now)
ip netns exec "$NV" env NETVM_STATE="$RUN/felix" "$NETVM" run --role netvm --xenstore "embedded:$XS" \
    --control "$CTL" </dev/null >"$RUN/netvm.log" 2>&1 &
RUNTIME_PID=$!
# the control socket answers before every command is registered: wait for the ones used here
ready() {
    local h c
    h=$(nvx help 2>&1) || return 1
    for c in xs vif backend; do grep -qE "(^|[[:space:]])$c([[:space:]]|$)" <<<"$h" || return 1; done
}
if up=$(wait_for ready); then
    pass "runtime starts in the namespace" "control socket answers after $(ms "$t") ms"
else
    fail "runtime starts in the namespace" "no answer on $CTL after $WAIT s; log: $(tail -5 "$RUN/netvm.log" | tr '\n' ' ')"
    finish; exit 1
fi

# --- the toolstack's keys and two vifs online (as distribution/sandbox/sandbox.sh does)
nvx xs write /local/domain/0/qubes-netvm-network 1 /local/domain/0/qubes-netvm-gateway 10.137.0.1 \
    /local/domain/0/qubes-netvm-primary-dns 10.139.1.1 /local/domain/0/qubes-netvm-secondary-dns 10.139.1.2
online=0
for d in 1 2; do
    g=nvdrift-g$d-$ID; ip=10.137.0.$((10 + d)); mac=$(printf '00:16:3e:5e:6c:%02x' "$d")
    setup ip netns add "$g"; GUEST_NS+=("$g")
    setup ip link add "vif$d.0" netns "$NV" type veth peer name eth0 netns "$g"
    setup ip -n "$NV" link set "vif$d.0" address fe:ff:ff:ff:ff:ff
    setup ip -n "$g" link set eth0 address "$mac"
    home=/local/domain/$d
    nvx xs write "$home/qubes-ip" "$ip" "$home/qubes-netmask" 255.255.255.255 "$home/qubes-gateway" 10.137.0.1 \
        "$home/qubes-primary-dns" 10.139.1.1 "$home/qubes-secondary-dns" 10.139.1.2 "$home/device/vif/0/mac" "$mac" \
        "/local/domain/0/backend/vif/$d/0/ip" "$ip" "/local/domain/0/backend/vif/$d/0/mac" "$mac"
    if inns env vif="vif$d.0" XENBUS_PATH="backend/vif/$d/0" NETVM_CONTROL="$CTL" "$HOTPLUG" online >>"$RUN/hotplug.log" 2>&1 \
        && [ "$(nvx xs read "/local/domain/0/backend/vif/$d/0/hotplug-status")" = connected ]; then
        online=$((online + 1))
    fi
done
if [ "$online" = 2 ] && t=$(wait_for in_sync nftables); then
    pass "two vifs online, nftables in charge and in sync" "$(nvx backend | sed -n 's/^plan: *//p')"
else
    fail "two vifs online, nftables in charge and in sync" "$online/2 online; $(nvx backend 2>&1 | tr '\n' ' ')"
    finish; exit 1
fi

# --- nftables: a rule deleted by hand
nft_rule_present() { inns nft list chain inet netvm forward | grep -e 'ct state established,related accept' >/dev/null; }
check_nft_rule() {
    local name="nftables: netvm rule deleted with nft is restored by the resync" before handle t took after
    before=$(repairs)
    handle=$(inns nft -a list chain inet netvm forward | sed -n 's/.*ct state established,related accept # handle \([0-9]*\)$/\1/p')
    [ -n "$handle" ] || { fail "$name" "no 'ct state established,related accept' rule in inet netvm forward"; return; }
    inns nft delete rule inet netvm forward handle "$handle" || { fail "$name" "nft delete rule failed"; return; }
    nft_rule_present && { fail "$name" "the rule is still there after deleting it"; return; }
    t=$(now)
    if took=$(wait_for nft_rule_present); then
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
t=$(now)
if out=$(nvx backend use iptables 2>&1) && wait_for in_sync iptables >/dev/null; then
    if inns nft list table inet netvm >/dev/null 2>&1; then
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
    && ! inns iptables-nft-save | grep -e NETVM- >/dev/null && ! inns ipset list -n | grep -e NETVM- >/dev/null; then
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

finish
