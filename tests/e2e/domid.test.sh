#!/bin/bash
# End-to-end: the netvm role as domain 5, against the real C xenstored (tests/harness/xenstored) over its
# privileged socket: `netvm run --role netvm --xenstore unix:SOCKET --domid 5`. The toolstack (this
# script, with xenstore-write on the same socket) writes the netvm's keys under /local/domain/5 and
# guest 7's vif keys under /local/domain/5/backend/vif/7/0; the hotplug script is called as Xen calls it
# (XENBUS_PATH=/local/domain/5/backend/vif/7/0). Checks:
#   1. hotplug-status=connected under /local/domain/5;
#   2. the host route to the guest (and its neighbour, gateway address, link up) in the netvm namespace;
#   3. nothing was written under /local/domain/0.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init domid
command -v xenstore-write >/dev/null || nt_precondition "needs 'xenstore-write'"

CXS=$RUN/cxs
STARTXS=$E2E_TOP/tests/harness/xenstored/start-xenstored.sh
DOM=5
D=7
NV_HOME=/local/domain/$DOM
XSB=$NV_HOME/backend/vif
export XENSTORED_PATH=$CXS/socket
xsw() { xenstore-write "$@"; }

setup_upstream || { fail "setup: upstream namespace" "see above"; e2e_finish; }
mkdir -p "$CXS"
XSPID=$(XS_STATE_DIR=$CXS "$STARTXS" "$CXS/socket" 2>"$CXS/start.err") ||
    { fail "setup: the C xenstored starts" "$(tail -3 "$CXS/start.err")"; e2e_finish; }
NT_PIDS+=($XSPID)
DOM0_BEFORE=$(xenstore-ls -f /local/domain/0 2>/dev/null | sort)

# the toolstack's keys of the netvm (domain 5), before it starts; libxl writes every domain's domid key
xsw $NV_HOME/domid 5 $NV_HOME/qubes-netvm-network 1 $NV_HOME/qubes-netvm-gateway $GW \
    $NV_HOME/qubes-netvm-primary-dns $DNS1 $NV_HOME/qubes-netvm-secondary-dns $DNS2 ||
    { fail "setup: netvm keys under $NV_HOME" "xenstore-write failed"; e2e_finish; }

t=$(now_ns)
ip netns exec "$NV" env NETVM_STATE="$RUN/felix" "$NETVM" run --role netvm --xenstore "unix:$CXS/socket" \
    --domid $DOM --control "$CTL" </dev/null >>"$RUN/netvm.log" 2>&1 &
AGENT_PID=$!
wait_until 60 agent_ready || { fail "setup: netvm runtime (domid $DOM) starts" "$(tail -5 "$RUN/netvm.log")"; e2e_finish; }
log "netvm runtime (domid $DOM) ready in $(ms_since $t) ms (xenstore: C xenstored, pid $XSPID)"

# guest 7's vif: keys under the netvm's home, the veth pair, the hotplug call as Xen makes it
GNS=$(guest_ns $D)
ip netns add "$GNS"
ip -n "$GNS" link set lo up
xsw "$XSB/$D/0/ip" "$(guest_ip $D)" "$XSB/$D/0/mac" "$(guest_mac $D)" "$XSB/$D/0/frontend-id" $D ||
    { fail "setup: vif keys under $XSB/$D/0" "xenstore-write failed"; e2e_finish; }
make_vif $D "$GNS" eth0 || { fail "setup: veth vif$D.0" "ip link add failed"; e2e_finish; }
HP_OUT=$(ip netns exec "$NV" env vif="vif$D.0" XENBUS_PATH="$XSB/$D/0" NETVM_CONTROL="$CTL" "$HOTPLUG" online 2>&1)
HP_RC=$?

connected() {
    local st
    st=$(xenstore-read "$XSB/$D/0/hotplug-status" 2>&1)
    [ "$st" = connected ] || { echo "hotplug-status: '$st' (hotplug exit $HP_RC: $HP_OUT; hotplug-error: $(xenstore-read "$XSB/$D/0/hotplug-error" 2>&1))"; return 1; }
    echo "hotplug exit $HP_RC, $XSB/$D/0/hotplug-status=connected"
}
check_within 10 "hotplug-status=connected under /local/domain/$DOM" connected

programmed() {
    local missing
    missing=$(vif_programmed $D)
    [ -z "$missing" ] || { echo "$missing"; return 1; }
    ip -n "$NV" route show "$(guest_ip $D)" dev vif$D.0 | head -1
}
check_within 10 "the host route to guest $D (neighbour, gateway address, link up) in the netvm namespace" programmed

dom0_untouched() {
    local after
    after=$(xenstore-ls -f /local/domain/0 2>/dev/null | sort)
    [ "$after" = "$DOM0_BEFORE" ] || { echo "changed under /local/domain/0: $(diff <(echo "$DOM0_BEFORE") <(echo "$after") | grep '^[<>]' | head -3)"; return 1; }
    echo "/local/domain/0: $(printf '%s' "$after" | grep -c .) node(s), as before"
}
check "nothing written under /local/domain/0" dom0_untouched

e2e_finish
