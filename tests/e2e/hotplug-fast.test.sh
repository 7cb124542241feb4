#!/bin/bash
# End-to-end: the hotplug script's fast channel (issue 12 goal 2; org.netvm.vif HotplugChannel), the
# real vif-route-netvm against a real agent, real kernel:
#   1. the agent keeps its channel next to the control socket (${CTL%.sock}.hotplug, mode 0700);
#   2. online through a copy of the script that has no client to fall back on (no netvm, no
#      netvm-ctl next to it): exit 0, hotplug-status=connected, the vif programmed; under strace the
#      script starts no process at all;
#   3. a failure (a hostile MAC) through the fast channel: exit 1, hotplug-status=error and
#      hotplug-error written by the agent, the message on stderr;
#   4. offline through the fast channel: exit 0, the vif's objects gone;
#   5. agent down (kill -9 or SIGTERM, which ends the JVM without deactivating components: the
#      channel's files stay, naming a dead process): the real script exits 1 at once and writes
#      hotplug-status=error + hotplug-error itself (xenstore-write recorded); an `agent` file whose
#      pid now names another process is not used either; a restarted agent makes the channel afresh.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init hpfast

setup_upstream || { fail "setup: upstream namespace" "see above"; e2e_finish; }
start_agent || { fail "setup: netvm runtime starts" "see above"; e2e_finish; }
write_netvm_keys
CH=${CTL%.sock}.hotplug

# a copy of the script with nothing to fall back on: it can only succeed through the fast channel
mkdir -p "$RUN/lone/hotplug"
cp "$HOTPLUG" "$RUN/lone/hotplug/vif-route-netvm"
LONE=$RUN/lone/hotplug/vif-route-netvm
# the recorder for the script's own xenstore writes (agent down)
mkdir -p "$RUN/rec"
cat > "$RUN/rec/xenstore-write" <<REC
#!/bin/sh
echo "\$*" >> "$RUN/rec/writes"
REC
chmod +x "$RUN/rec/xenstore-write"

hp() { # SCRIPT online|offline D [PREFIX...]: the call as Xen makes it; stderr to $RUN/hp.err
    local script=$1 cmd=$2 d=$3
    shift 3
    ip netns exec "$NV" env PATH="$RUN/rec:$PATH" vif="vif$d.0" XENBUS_PATH="backend/vif/$d/0" NETVM_CONTROL="$CTL" \
        "$@" "$script" "$cmd" 2>"$RUN/hp.err"
}

channel_there() {
    [ -p "$CH/requests" ] && [ -p "$CH/slot.63" ] || { echo "no FIFOs in $CH"; return 1; }
    local pid rest
    read -r pid rest < "$CH/agent" || { echo "no $CH/agent"; return 1; }
    [ "$(stat -c %a "$CH")" = 700 ] || { echo "mode $(stat -c %a "$CH")"; return 1; }
    echo "$CH: requests, 64 reply slots, agent $pid $rest"
}
check "the agent keeps its fast channel next to the control socket" channel_there

# --- 2. online with no client to fall back on
ns1=$(guest_ns 1)
ip netns add "$ns1"
make_vif 1 "$ns1" eth0
write_vif_keys 1
online_fast() {
    local t=$(now_ns) rc
    hp "$LONE" online 1
    rc=$?
    local ms=$(ms_since $t)
    [ $rc = 0 ] || { echo "exit $rc: $(head -c 300 "$RUN/hp.err")"; return 1; }
    [ "$(toolstack_xs read "$XSB/1/0/hotplug-status")" = connected ] || { echo "hotplug-status $(toolstack_xs read "$XSB/1/0/hotplug-status" 2>&1)"; return 1; }
    vif_is_programmed 1 || { echo "not programmed: $(vif_programmed 1)"; return 1; }
    echo "exit 0 in $ms ms, hotplug-status=connected, programmed"
}
check "online through the fast channel alone" online_fast

no_process() {
    command -v strace >/dev/null || { echo "needs strace (.ci/run installs it)"; return 1; }
    ns=$(guest_ns 5)
    ip netns add "$ns" && make_vif 5 "$ns" eth0 && write_vif_keys 5 || { echo "setup of guest 5"; return 1; }
    # ip netns exec itself execs env, env execs the script: count the execs after that one
    hp "$LONE" online 5 strace -f -qq -e trace=execve,clone,clone3,fork,vfork -o "$RUN/strace.out"
    local rc=$? n
    [ $rc = 0 ] || { echo "exit $rc: $(head -c 300 "$RUN/hp.err")"; return 1; }
    n=$(grep -c -E 'execve\(|clone|fork' "$RUN/strace.out")
    [ "$n" = 1 ] || { echo "$n execs/forks: $(grep -E 'execve\(|clone|fork' "$RUN/strace.out" | cut -c1-120 | tr '\n' ' ')"; return 1; }
    echo "one execve (the script itself), no fork"
}
check "the script starts no process on the fast channel" no_process

# --- 3. a failure
ns2=$(guest_ns 2)
ip netns add "$ns2"
make_vif 2 "$ns2" eth0
write_vif_keys 2 "$(guest_ip 2)" "00:16:3e:5e:00:02;reboot"
failure_fast() {
    local rc e st
    hp "$LONE" online 2
    rc=$?
    [ $rc = 1 ] || { echo "exit $rc (want 1): $(head -c 300 "$RUN/hp.err")"; return 1; }
    st=$(toolstack_xs read "$XSB/2/0/hotplug-status")
    e=$(toolstack_xs read "$XSB/2/0/hotplug-error")
    [ "$st" = error ] || { echo "hotplug-status '$st'"; return 1; }
    [[ $e == *"mac must match"* ]] || { echo "hotplug-error '$e'"; return 1; }
    grep -q "mac must match" "$RUN/hp.err" || { echo "stderr: $(head -c 300 "$RUN/hp.err")"; return 1; }
    ip -n "$NV" route show table all | grep -q 'dev vif2.0' && { echo "a route on vif2.0"; return 1; }
    echo "exit 1, hotplug-status=error, hotplug-error: ${e:0:80}"
}
check "a failure through the fast channel keeps the failure contract" failure_fast

# --- 4. offline
offline_fast() {
    local rc
    hp "$LONE" offline 1
    rc=$?
    [ $rc = 0 ] || { echo "exit $rc: $(head -c 300 "$RUN/hp.err")"; return 1; }
    ip -n "$NV" route show table all | grep -q 'dev vif1.0' && { echo "vif1.0 still has a route"; return 1; }
    echo "exit 0, vif1.0's route gone"
}
check "offline through the fast channel" offline_fast

# --- 4b. a slot stays claimed until its script has read the answer: freed at once, the next script
# could claim it on a busy machine, read this answer, drop it as a late one, and leave the first
# script waiting in vain for its deadline (seen once in CI: "no answer from the agent on its fast channel")
hs_connected() { [ "$(toolstack_xs read "$XSB/$1/0/hotplug-status" 2>/dev/null)" = connected ]; }
slot_kept_until_read() {
    local s=17 k fd token line made=() rc ns6 ns7
    ns6=$(guest_ns 6) ns7=$(guest_ns 7)
    ip netns add "$ns6" && make_vif 6 "$ns6" eth0 && write_vif_keys 6 || { echo "setup of guest 6"; return 1; }
    ip netns add "$ns7" && make_vif 7 "$ns7" eth0 && write_vif_keys 7 || { echo "setup of guest 7"; return 1; }
    # a script's call, made by hand as the script makes it, that does not read its answer yet
    ( set -C; : > "$CH/claim.$s" ) 2>/dev/null || { echo "slot $s already claimed"; return 1; }
    exec {fd}<>"$CH/slot.$s"
    token=$$.$RANDOM
    printf '%s %s online vif6.0 backend/vif/6/0\n' "$token" "$s" 1<>"$CH/requests"
    wait_until 20 hs_connected 6 || { exec {fd}<&-; echo "vif6.0 not connected"; return 1; }
    sleep 0.5
    [ -e "$CH/claim.$s" ] || { exec {fd}<&-; echo "slot $s freed while its answer was unread"; return 1; }
    # another call meanwhile, every other slot claimed: it must not be given slot $s (it uses the control socket)
    for ((k = 0; k < 64; k++)); do
        [ $k = $s ] || [ -e "$CH/claim.$k" ] || { : > "$CH/claim.$k"; made+=("$CH/claim.$k"); }
    done
    hp "$HOTPLUG" online 7
    rc=$?
    rm -f "${made[@]}"
    [ $rc = 0 ] || { exec {fd}<&-; echo "the other call: exit $rc: $(head -c 300 "$RUN/hp.err")"; return 1; }
    read -r -t 5 -u $fd line
    [ "$line" = "$token 0" ] || { exec {fd}<&-; echo "answer '$line' (want '$token 0')"; return 1; }
    wait_until 5 eval "[ ! -e '$CH/claim.$s' ]" || { exec {fd}<&-; echo "slot $s still claimed 5 s after its answer was read"; return 1; }
    exec {fd}<&-
    echo "slot $s kept while its answer was unread, another call went to the control socket, freed once read"
}
check "a slot stays claimed until its script has read the answer" slot_kept_until_read

# --- 5. agent down
kill -9 "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null
AGENT_PID=
agent_down() {
    local t=$(now_ns) rc ms w
    rm -f "$RUN/rec/writes"
    [ -f "$CH/agent" ] || { echo "the channel's files went with kill -9? (the test needs them stale)"; return 1; }
    hp "$HOTPLUG" online 5
    rc=$?
    ms=$(ms_since $t)
    w=$(cat "$RUN/rec/writes" 2>/dev/null)
    [ $rc = 1 ] || { echo "exit $rc (want 1)"; return 1; }
    [[ $w == *"backend/vif/5/0/hotplug-error netvm agent not reached"*"backend/vif/5/0/hotplug-status error"* ]] ||
        { echo "xenstore writes: '$w'"; return 1; }
    [ "$ms" -lt 5000 ] || { echo "took $ms ms"; return 1; }
    echo "exit 1 after $ms ms, hotplug-status=error + hotplug-error written by the script"
}
check "agent killed: the script reports the failure at once" agent_down

# a pid that lives again (another process) is not taken for the agent: its start time differs
pid_reused() {
    local t=$(now_ns) rc ms
    rm -f "$RUN/rec/writes"
    echo "$$ 1 40" > "$CH/agent"   # this shell: alive, but not started at tick 1
    hp "$LONE" online 5
    rc=$?
    ms=$(ms_since $t)
    [ $rc != 0 ] || { echo "exit 0"; return 1; }
    grep -q "backend/vif/5/0/hotplug-status error" "$RUN/rec/writes" 2>/dev/null || { echo "no error written"; return 1; }
    [ "$ms" -lt 5000 ] || { echo "took $ms ms (waited on a channel nobody reads)"; return 1; }
    echo "exit $rc after $ms ms, hotplug-status=error written by the script"
}
check "a stale channel whose pid now names another process is not used" pid_reused

start_agent || { fail "setup: netvm runtime restarts" "see above"; e2e_finish; }
check "a restarted agent makes its channel afresh" channel_there
e2e_finish
