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
# Every check of the client runs for both implementations of the same contract: the bash script
# (distribution/hotplug/vif-route-netvm) and the native client (vif-route-netvm.c, built here from the
# current source with distribution/hotplug/build.sh when a C compiler is there), each its own guests.
# Besides the real agent: hostile values (agent file fields, vif and xenbus path, their length bounds)
# never reach the channel, and a fake agent (a process of this test answering by hand) checks the
# reply handling: a late answer to an earlier call skipped, status 3 -> the control socket, a status
# that is not one digit, the agent dying while a call waits (noticed within a second), the deadline.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init hpfast

setup_upstream || { fail "setup: upstream namespace" "see above"; e2e_finish; }
start_agent || { fail "setup: netvm runtime starts" "see above"; e2e_finish; }
write_netvm_keys
CH=${CTL%.sock}.hotplug

native_hotplug "$RUN/native"
log "hotplug implementations: ${HOTPLUG_IMPLS[*]}"
# lone IMPL: a copy of IMPL with nothing to fall back on (no netvm, no netvm-ctl next to it): it can
# only succeed through the fast channel
lone() {
    local i=bash
    [ "$1" = "${NATIVE_HOTPLUG:-}" ] && i=native
    mkdir -p "$RUN/lone-$i/hotplug"
    [ -e "$RUN/lone-$i/hotplug/vif-route-netvm" ] || cp "$1" "$RUN/lone-$i/hotplug/vif-route-netvm"
    echo "$RUN/lone-$i/hotplug/vif-route-netvm"
}
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

guest() { # D: a guest namespace, its vif and its keys
    local ns
    ns=$(guest_ns $1)
    ip netns add "$ns" && make_vif $1 "$ns" eth0 && write_vif_keys $1 "${@:2}"
}

# --- 2. online with no client to fall back on
online_fast() { # IMPL D
    local t=$(now_ns) rc ms d=$2
    hp "$(lone "$1")" online $d
    rc=$?
    ms=$(ms_since $t)
    [ $rc = 0 ] || { echo "exit $rc: $(head -c 300 "$RUN/hp.err")"; return 1; }
    [ "$(toolstack_xs read "$XSB/$d/0/hotplug-status")" = connected ] || { echo "hotplug-status $(toolstack_xs read "$XSB/$d/0/hotplug-status" 2>&1)"; return 1; }
    vif_is_programmed $d || { echo "not programmed: $(vif_programmed $d)"; return 1; }
    echo "exit 0 in $ms ms, hotplug-status=connected, programmed"
}

no_process() { # IMPL D
    command -v strace >/dev/null || { echo "needs strace (.ci/run installs it)"; return 1; }
    guest $2 || { echo "setup of guest $2"; return 1; }
    # ip netns exec itself execs env, env execs the script: count the execs after that one
    hp "$(lone "$1")" online $2 strace -f -qq -e trace=execve,clone,clone3,fork,vfork -o "$RUN/strace.out"
    local rc=$? n
    [ $rc = 0 ] || { echo "exit $rc: $(head -c 300 "$RUN/hp.err")"; return 1; }
    n=$(grep -c -E 'execve\(|clone|fork' "$RUN/strace.out")
    [ "$n" = 1 ] || { echo "$n execs/forks: $(grep -E 'execve\(|clone|fork' "$RUN/strace.out" | cut -c1-120 | tr '\n' ' ')"; return 1; }
    echo "one execve (the client itself), no fork"
}

# --- 3. a failure
failure_fast() { # IMPL D
    local rc e st d=$2
    hp "$(lone "$1")" online $d
    rc=$?
    [ $rc = 1 ] || { echo "exit $rc (want 1): $(head -c 300 "$RUN/hp.err")"; return 1; }
    st=$(toolstack_xs read "$XSB/$d/0/hotplug-status")
    e=$(toolstack_xs read "$XSB/$d/0/hotplug-error")
    [ "$st" = error ] || { echo "hotplug-status '$st'"; return 1; }
    [[ $e == *"mac must match"* ]] || { echo "hotplug-error '$e'"; return 1; }
    grep -q "mac must match" "$RUN/hp.err" || { echo "stderr: $(head -c 300 "$RUN/hp.err")"; return 1; }
    ip -n "$NV" route show table all | grep -q "dev vif$d.0" && { echo "a route on vif$d.0"; return 1; }
    echo "exit 1, hotplug-status=error, hotplug-error: ${e:0:80}"
}

# --- 4. offline
offline_fast() { # IMPL D
    local rc
    hp "$(lone "$1")" offline $2
    rc=$?
    [ $rc = 0 ] || { echo "exit $rc: $(head -c 300 "$RUN/hp.err")"; return 1; }
    ip -n "$NV" route show table all | grep -q "dev vif$2.0" && { echo "vif$2.0 still has a route"; return 1; }
    echo "exit 0, vif$2.0's route gone"
}

# --- 4b. a slot stays claimed until its script has read the answer: freed at once, the next script
# could claim it on a busy machine, read this answer, drop it as a late one, and leave the first
# script waiting in vain for its deadline (seen once in CI: "no answer from the agent on its fast channel")
hs_connected() { [ "$(toolstack_xs read "$XSB/$1/0/hotplug-status" 2>/dev/null)" = connected ]; }
slot_kept_until_read() { # IMPL D: guests D and D+1
    local impl=$1 a=$2 b=$(($2 + 1)) s=17 k fd token line made=() rc
    guest $a || { echo "setup of guest $a"; return 1; }
    guest $b || { echo "setup of guest $b"; return 1; }
    # a script's call, made by hand as the script makes it, that does not read its answer yet
    ( set -C; : > "$CH/claim.$s" ) 2>/dev/null || { echo "slot $s already claimed"; return 1; }
    exec {fd}<>"$CH/slot.$s"
    token=$$.$RANDOM
    printf '%s %s online vif%s.0 backend/vif/%s/0\n' "$token" "$s" $a $a 1<>"$CH/requests"
    wait_until 20 hs_connected $a || { exec {fd}<&-; echo "vif$a.0 not connected"; return 1; }
    sleep 0.5
    [ -e "$CH/claim.$s" ] || { exec {fd}<&-; echo "slot $s freed while its answer was unread"; return 1; }
    # another call meanwhile, every other slot claimed: it must not be given slot $s (it uses the control socket)
    for ((k = 0; k < 64; k++)); do
        [ $k = $s ] || [ -e "$CH/claim.$k" ] || { : > "$CH/claim.$k"; made+=("$CH/claim.$k"); }
    done
    hp "$impl" online $b
    rc=$?
    rm -f "${made[@]}"
    [ $rc = 0 ] || { exec {fd}<&-; echo "the other call: exit $rc: $(head -c 300 "$RUN/hp.err")"; return 1; }
    read -r -t 5 -u $fd line
    [ "$line" = "$token 0" ] || { exec {fd}<&-; echo "answer '$line' (want '$token 0')"; return 1; }
    wait_until 5 eval "[ ! -e '$CH/claim.$s' ]" || { exec {fd}<&-; echo "slot $s still claimed 5 s after its answer was read"; return 1; }
    exec {fd}<&-
    echo "slot $s kept while its answer was unread, another call went to the control socket, freed once read"
}

# --- 4c. hostile values never reach the channel (the lone copy then says "netvm not found"), the
# bounds that do (32 characters of vif name, 64 of xenbus path) do
channel_unused() { grep -q "netvm not found" "$RUN/hp.err"; }
lone_env() { # IMPL VIF XENBUS_PATH: the lone copy called with these values
    ip netns exec "$NV" env PATH="$RUN/rec:$PATH" vif="$2" XENBUS_PATH="$3" NETVM_CONTROL="$CTL" \
        "$(lone "$1")" online 2>"$RUN/hp.err"
}
hostile_values() { # IMPL D
    local impl=$1 d=$2 saved bad v x n=0 p32 p64
    saved=$(cat "$CH/agent")
    read -r pid start secs <<< "$saved"
    for bad in "0$pid $start $secs" "$pid $start 0$secs" "$pid $start 0" "$pid $start 1234567" "$pid ${start}x $secs" \
            "$pid $start" "$pid $start $secs 1" "-$pid $start $secs" "$pid 123456789012345678901 $secs" \
            "12345678901 $start $secs" "$pid +$start $secs"; do
        printf '%s\n' "$bad" > "$CH/agent"
        lone_env "$impl" vif$d.0 backend/vif/$d/0
        channel_unused || { printf '%s\n' "$saved" > "$CH/agent"; echo "agent file '$bad' used: $(head -c 200 "$RUN/hp.err")"; return 1; }
        n=$((n + 1))
    done
    printf '%s\n' "$saved" > "$CH/agent"
    p32=vif$d.0$(printf 'x%.0s' $(seq 1 $((32 - ${#d} - 5))))
    p64=backend/vif/$d/0/$(printf 'x%.0s' $(seq 1 $((64 - ${#d} - 15))))
    for bad in "vif$d.0;reboot|backend/vif/$d/0" "vif$d.0 x|backend/vif/$d/0" "|backend/vif/$d/0" "vif$d.0|" \
            "${p32}x|backend/vif/$d/0" "vif$d.0|${p64}x" "vif$d.0|backend/vif/$d/0 x" 'vif1.0|backend/vif/$(reboot)' \
            "vif$d.0|backend/vif/$d/0"$'\n'"x"; do
        lone_env "$impl" "${bad%%|*}" "${bad#*|}"
        channel_unused || { echo "vif='${bad%%|*}' XENBUS_PATH='${bad#*|}' reached the channel: $(head -c 200 "$RUN/hp.err")"; return 1; }
        n=$((n + 1))
    done
    for v in "$p32|backend/vif/$d/0" "vif$d.0|$p64"; do
        [ ${#p32} = 32 ] && [ ${#p64} = 64 ] || { echo "test bug: ${#p32} ${#p64}"; return 1; }
        lone_env "$impl" "${v%%|*}" "${v#*|}"
        channel_unused && { echo "vif='${v%%|*}' XENBUS_PATH='${v#*|}' (at the bound) did not reach the channel"; return 1; }
    done
    echo "$n hostile values kept off the channel, the bounds (32, 64 characters) taken"
}

for impl in "${HOTPLUG_IMPLS[@]}"; do
    o=0
    [ "$impl" = "${NATIVE_HOTPLUG:-}" ] && o=10
    name=$(impl_name "$impl")
    guest $((1 + o)) || fail "[$name] setup: guest $((1 + o))" "see above"
    guest $((2 + o)) "$(guest_ip $((2 + o)))" "00:16:3e:5e:00:02;reboot" || fail "[$name] setup: guest $((2 + o))" "see above"
    check "[$name] online through the fast channel alone" online_fast "$impl" $((1 + o))
    check "[$name] the client starts no process on the fast channel" no_process "$impl" $((5 + o))
    check "[$name] a failure through the fast channel keeps the failure contract" failure_fast "$impl" $((2 + o))
    check "[$name] offline through the fast channel" offline_fast "$impl" $((1 + o))
    check "[$name] a slot stays claimed until its script has read the answer" slot_kept_until_read "$impl" $((6 + o))
    check "[$name] hostile values never reach the fast channel" hostile_values "$impl" $((8 + o))
done

# --- 4d. a fake agent (a process of this test) and a responder answering by hand
F=$RUN/fake/control.hotplug
mkdir -p "$F"
mkfifo "$F/requests" && for ((k = 0; k < 64; k++)); do mkfifo "$F/slot.$k"; done
exec {FAKE_HOLD}<>"$F/requests" # keeps a request in the FIFO until the responder reads it
fake_agent() { # SECS: a sleeping process of ours as the agent
    sleep 300 >/dev/null 2>&1 &   # not on the check's output pipe, which would wait for it
    FAKE_PID=$!
    NT_PIDS+=($FAKE_PID)
    local st
    read -r st < "/proc/$FAKE_PID/stat"
    set -- ${st##*) }
    echo "$FAKE_PID ${20} $SECS" > "$F/agent"
}
responder() { # MODE: answers the next request (late: another token first, then status 1; three; junk; none)
    local token slot rest
    read -r -t 10 token slot rest <&$FAKE_HOLD || return
    case $1 in
    late) printf '1.1 0\n' 1<>"$F/slot.$slot"; sleep 0.3; printf '%s 1 fake: the agent reported it\n' "$token" 1<>"$F/slot.$slot" ;;
    three) printf '%s 3 busy\n' "$token" 1<>"$F/slot.$slot" ;;
    junk) printf '%s x what\n' "$token" 1<>"$F/slot.$slot" ;;
    esac
}
fake_call() { # IMPL MODE: the lone copy against the fake channel; prints "RC MS"
    local t=$(now_ns) rc
    rm -f "$F"/claim.* "$RUN/rec/writes"
    responder $2 >/dev/null 2>&1 &
    PATH="$RUN/rec:$PATH" vif=vif9.0 XENBUS_PATH=backend/vif/9/0 NETVM_CONTROL=$RUN/fake/control.sock \
        "$(lone "$1")" online 2>"$RUN/hp.err"
    rc=$?
    wait $! 2>/dev/null
    echo "$rc $(ms_since $t)"
}
wrote_error() { grep -q "backend/vif/9/0/hotplug-status error" "$RUN/rec/writes" 2>/dev/null; }
fake_replies() { # IMPL
    local r
    SECS=5 fake_agent
    trap 'kill $FAKE_PID 2>/dev/null' RETURN
    r=($(fake_call "$1" late))
    [ "${r[0]}" = 1 ] && grep -q "fake: the agent reported it" "$RUN/hp.err" && ! wrote_error ||
        { echo "late answer: exit ${r[0]}, stderr $(head -c 200 "$RUN/hp.err")"; return 1; }
    r=($(fake_call "$1" three))
    [ "${r[0]}" = 1 ] && channel_unused && wrote_error || { echo "status 3: exit ${r[0]}, $(head -c 200 "$RUN/hp.err")"; return 1; }
    r=($(fake_call "$1" junk))
    [ "${r[0]}" = 1 ] && grep -q "exit status 2" "$RUN/hp.err" && wrote_error ||
        { echo "status x: exit ${r[0]}, $(head -c 200 "$RUN/hp.err")"; return 1; }
    echo "a late answer skipped, status 3 -> control socket, status 'x' -> 2 and the error written"
}
fake_gone() { # IMPL: the agent dies while the call waits
    local r
    SECS=30 fake_agent
    ( sleep 0.5; kill $FAKE_PID ) >/dev/null 2>&1 &
    r=($(fake_call "$1" none))
    [ "${r[0]}" = 1 ] && grep -q "no answer from the agent" "$RUN/hp.err" && wrote_error ||
        { echo "exit ${r[0]}, $(head -c 200 "$RUN/hp.err")"; return 1; }
    [ "${r[1]}" -lt 2500 ] || { echo "noticed after ${r[1]} ms"; return 1; }
    echo "exit 1 after ${r[1]} ms (killed at 500 ms), error written"
}
fake_deadline() { # IMPL: an agent that lives and never answers; deadline 2 s
    local r
    SECS=2 fake_agent
    r=($(fake_call "$1" none))
    kill $FAKE_PID
    [ "${r[0]}" = 1 ] && grep -q "no answer from the agent" "$RUN/hp.err" && wrote_error ||
        { echo "exit ${r[0]}, $(head -c 200 "$RUN/hp.err")"; return 1; }
    [ "${r[1]}" -ge 1900 ] && [ "${r[1]}" -lt 4500 ] || { echo "gave up after ${r[1]} ms (deadline 2 s)"; return 1; }
    echo "exit 1 after ${r[1]} ms, error written"
}
for impl in "${HOTPLUG_IMPLS[@]}"; do
    name=$(impl_name "$impl")
    check "[$name] fake agent: replies handled as the protocol says" fake_replies "$impl"
    check "[$name] fake agent: its death while a call waits is noticed within a second" fake_gone "$impl"
    check "[$name] fake agent: no answer until the deadline of the agent file" fake_deadline "$impl"
done

# --- 5. agent down
kill -9 "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null
AGENT_PID=
agent_down() { # IMPL D
    local t=$(now_ns) rc ms w d=$2
    rm -f "$RUN/rec/writes"
    [ -f "$CH/agent" ] || { echo "the channel's files went with kill -9? (the test needs them stale)"; return 1; }
    hp "$1" online $d
    rc=$?
    ms=$(ms_since $t)
    w=$(cat "$RUN/rec/writes" 2>/dev/null)
    [ $rc = 1 ] || { echo "exit $rc (want 1)"; return 1; }
    [[ $w == *"backend/vif/$d/0/hotplug-error netvm agent not reached"*"backend/vif/$d/0/hotplug-status error"* ]] ||
        { echo "xenstore writes: '$w'"; return 1; }
    [ "$ms" -lt 5000 ] || { echo "took $ms ms"; return 1; }
    echo "exit 1 after $ms ms, hotplug-status=error + hotplug-error written by the script"
}
# a pid that lives again (another process) is not taken for the agent: its start time differs
pid_reused() { # IMPL D
    local t=$(now_ns) rc ms
    rm -f "$RUN/rec/writes"
    echo "$$ 1 40" > "$CH/agent"   # this shell: alive, but not started at tick 1
    hp "$(lone "$1")" online $2
    rc=$?
    ms=$(ms_since $t)
    [ $rc != 0 ] || { echo "exit 0"; return 1; }
    grep -q "backend/vif/$2/0/hotplug-status error" "$RUN/rec/writes" 2>/dev/null || { echo "no error written"; return 1; }
    [ "$ms" -lt 5000 ] || { echo "took $ms ms (waited on a channel nobody reads)"; return 1; }
    echo "exit $rc after $ms ms, hotplug-status=error written by the script"
}
for impl in "${HOTPLUG_IMPLS[@]}"; do
    o=0
    [ "$impl" = "${NATIVE_HOTPLUG:-}" ] && o=10
    check "[$(impl_name "$impl")] agent killed: the script reports the failure at once" agent_down "$impl" $((5 + o))
done
for impl in "${HOTPLUG_IMPLS[@]}"; do
    o=0
    [ "$impl" = "${NATIVE_HOTPLUG:-}" ] && o=10
    check "[$(impl_name "$impl")] a stale channel whose pid now names another process is not used" pid_reused "$impl" $((5 + o))
done

start_agent || { fail "setup: netvm runtime restarts" "see above"; e2e_finish; }
check "a restarted agent makes its channel afresh" channel_there
e2e_finish
