# The one shell library of `netvm sandbox` and every script test: tests/e2e/*.test.sh,
# distribution/test-install.sh, docs/extending-test.sh. Sourced, never run. It ships in the tarball
# next to sandbox.sh (sandbox/), so an installed sandbox finds it; paths are taken relative to this
# file: ../bin/netvm, ../bin/netvm-ctl, ../hotplug/vif-route-netvm (the same in a checkout's
# distribution/ and in an unpacked tarball).
#
# Counting: one line per check, "PASS name (figure)" or "FAIL name: why"; nt_finish prints
# "<NT_SUMMARY>: N passed, M failed" and exits 0 only when all passed (and at least one ran).
# A check that depends on something the agent does asynchronously polls with a deadline
# (check_within, wait_until); it never assumes the agent is done.
#
# Topology (setup_upstream, add_guest):
#   upstream ns  eth0 198.51.100.1, .3, .5/24; one dnsmasq per address, each answering $NAME with its
#                own address (203.0.113.1, .3, .5), so an answer tells WHICH upstream answered; nft
#                counters at prerouting (everything that leaves the netvm's uplink): dns (udp/tcp
#                dport 53), pings, legit (udp dport 40000), spoofed (udp dport 40001-40099), other
#                (a source other than the netvm's uplink address)
#   netvm ns     up0 198.51.100.2/24, default via .1, resolv.conf naming .1 and .3; the netvm runtime
#                with the embedded xenstored (start_agent)
#   guests       one ns each, eth0 <-> vifD.0 in the netvm ns; guest side set up with `ip` exactly as
#                setup-ip does (setup_guest_side) or by a guest runtime (the sandbox)
#   the chain    (start_proxy, on_proxy; `netvm sandbox --chain`, tests/e2e/chain.test.sh): a second
#                netvm, the proxy (Qubes' sys-firewall), is guest P of the first one: ns <prefix>-px-<suffix>,
#                eth0 <-> vifP.0 in the netvm ns, a runtime in the proxy role reaching the first netvm's
#                embedded xenstored through the per-domain socket domain-P.sock (its home /local/domain/P,
#                its eth0 and resolv.conf set by its guest component); its own guests' vifs are in its ns
# Who writes: the toolstack's keys go through the first netvm's runtime (toolstack_xs, privileged);
# every function that acts on "the netvm" (make_vif, write_vif_keys, vif_hotplug, vif_programmed,
# add_guest, setup_guest_side, ...) acts on the proxy instead when called through on_proxy.
# Names: <prefix>-up-<suffix>, <prefix>-nv-<suffix>, <prefix>-g<D>-<suffix>, <prefix>-bulk-<suffix>;
# run directory /run/netvm-<prefix>-<suffix>. nt_cleanup (on exit, also on failure or interrupt)
# ends the processes in NT_PIDS and AGENT_PID and removes every namespace ending in -<suffix>, the
# run directory and /etc/netns/*-<suffix>. No traffic leaves the namespaces.

NT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NT_DIST=$(cd "$NT_DIR/.." && pwd)
NETVM=${NETVM_BIN:-$NT_DIST/bin/netvm}
NETVM_CTL=$NT_DIST/bin/netvm-ctl
HOTPLUG=$NT_DIST/hotplug/vif-route-netvm
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)

NT_PASSED=0
NT_FAILED=0
NT_SUMMARY=${NT_SUMMARY:-test}
NT_PIDS=()
AGENT_PID=
GW=10.137.0.1
DNS1=10.139.1.1
DNS2=10.139.1.2
NAME=${NAME:-e2e.test}
NV_HOME=/local/domain/0 # the netvm's home: its qubes-netvm-* keys, and backend/vif/D/N of its guests
XSB=$NV_HOME/backend/vif
TS_CTL= # the control socket of the runtime holding the xenstore (the toolstack's way in); empty: $CTL

now_ns() { date +%s%N; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
log() { printf '  # %s\n' "$*" >&2; }

# ---------------------------------------------------------------------------------------------
# counting

pass() { # name [figure]
    NT_PASSED=$((NT_PASSED + 1))
    if [ -n "${2:-}" ]; then printf 'PASS %s (%s)\n' "$1" "$2"; else printf 'PASS %s\n' "$1"; fi
}
fail() { # name [why]
    NT_FAILED=$((NT_FAILED + 1))
    printf 'FAIL %s: %s\n' "$1" "$(printf '%s' "${2:-failed}" | tr '\n' ' ' | cut -c1-400)"
}

# check_within SECONDS NAME CMD...: runs CMD (usually a shell function) until it succeeds or
# SECONDS have passed (0: once); the last output line of the last run is the figure (PASS) or the
# reason (FAIL). NT_CHECK_MS=1 adds the time the check took to the figure. Only for CMDs that can
# run again (no side effect that a second run would trip over).
check_within() {
    local secs=$1 name=$2 out rc last t0
    shift 2
    t0=$(now_ns)
    local limit=$(( t0 + secs * 1000000000 ))
    while :; do
        out=$("$@" 2>&1)
        rc=$?
        [ $rc = 0 ] && break
        [ "$(now_ns)" -lt $limit ] || break
        sleep 0.1
    done
    last=$(printf '%s\n' "$out" | sed '/^[[:space:]]*$/d' | tail -1)
    if [ "${NT_CHECK_MS:-0}" = 1 ]; then last="${last:+$last; }$(ms_since "$t0") ms"; fi
    if [ $rc = 0 ]; then pass "$name" "$last"; else fail "$name" "${last:-exit status $rc}"; fi
    return $rc
}
# check NAME CMD...: CMD once
check() { check_within 0 "$@"; }

# wait_until SECONDS CMD...: polls CMD every 50 ms until it succeeds; false after SECONDS
wait_until() {
    local limit=$(( $(now_ns) + $1 * 1000000000 ))
    shift
    while :; do
        "$@" >/dev/null 2>&1 && return 0
        [ "$(now_ns)" -lt $limit ] || return 1
        sleep 0.05
    done
}

nt_finish() {
    echo "$NT_SUMMARY: $NT_PASSED passed, $NT_FAILED failed"
    [ "$NT_FAILED" = 0 ] && [ "$NT_PASSED" -gt 0 ]
    exit $?
}

# ---------------------------------------------------------------------------------------------
# life cycle

# nt_stop_pids PID...: SIGTERM, up to 3 s, then SIGKILL
nt_stop_pids() {
    local p alive
    for p in "$@"; do kill "$p" 2>/dev/null; done
    for _ in $(seq 1 30); do
        alive=0
        for p in "$@"; do kill -0 "$p" 2>/dev/null && alive=1; done
        [ $alive = 0 ] && break
        sleep 0.1
    done
    for p in "$@"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
}

nt_cleanup() {
    local status=$?
    trap - EXIT INT TERM HUP
    if [ "${NT_KEEP:-0}" = 1 ]; then
        if declare -F nt_kept >/dev/null; then nt_kept; else
            echo "  # kept: namespaces *-$SUF, run dir $RUN; remove them by hand" >&2
        fi
        exit $status
    fi
    # shellcheck disable=SC2086 # AGENT_PID: empty or one word
    nt_stop_pids "${NT_PIDS[@]}" $AGENT_PID
    local ns p
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -- "-$SUF\$"); do
        # processes we did not track (none expected) would keep the namespace alive: end them by pid
        for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
        ip netns del "$ns" 2>/dev/null
    done
    # NT_LOGS=DIR keeps the run's logs (agent, dnsmasq, flows) for a look afterwards
    if [ -n "${NT_LOGS:-}" ]; then mkdir -p "$NT_LOGS/$SUF" && cp -r "$RUN"/*.log "$RUN"/*.out "$NT_LOGS/$SUF/" 2>/dev/null; fi
    rm -rf "$RUN" /etc/netns/*-"$SUF"
    exit $status
}

# nt_precondition WHY: a script that cannot run at all fails with one FAIL line
nt_precondition() {
    fail "$NT_SUMMARY" "$1"
    nt_finish
}

# nt_init PREFIX SUFFIX TOOL...: names, run directory, traps; fails unless root, network namespaces
# work and every TOOL is there
nt_init() {
    local prefix=$1 tool
    SUF=$2
    shift 2
    RUN=/run/netvm-$prefix-$SUF
    CTL=$RUN/netvm.sock
    XS=$RUN/xenstored/socket
    UP=$prefix-up-$SUF
    NV=$prefix-nv-$SUF
    PX=$prefix-px-$SUF
    PCTL=$RUN/proxy.sock
    BULK=$prefix-bulk-$SUF
    NT_GUEST_PREFIX=$prefix
    [ "$(id -u)" = 0 ] || nt_precondition "needs root (network namespaces); run it with sudo"
    for tool in ip "$@"; do
        command -v "$tool" >/dev/null || nt_precondition "needs '$tool'"
    done
    ip netns add "$prefix-probe-$SUF" 2>/dev/null || nt_precondition "this machine cannot create network namespaces (ip netns add failed)"
    ip netns del "$prefix-probe-$SUF"
    mkdir -p "$RUN"
    trap nt_cleanup EXIT
    trap 'exit 130' INT TERM HUP
}

# ---------------------------------------------------------------------------------------------
# upstream + netvm namespaces

setup_upstream() {
    ip netns add "$UP" && ip netns add "$NV" || return 1
    ip -n "$UP" link set lo up
    ip -n "$NV" link set lo up
    ip link add up0 netns "$NV" type veth peer name eth0 netns "$UP" || return 1
    local a
    for a in 1 3 5; do ip -n "$UP" addr add 198.51.100.$a/24 dev eth0; done
    ip -n "$UP" link set eth0 up
    ip -n "$NV" addr add 198.51.100.2/24 dev up0
    ip -n "$NV" link set up0 up
    ip -n "$NV" route add default via 198.51.100.1
    for a in 1 3 5; do
        ip netns exec "$UP" dnsmasq --keep-in-foreground --no-resolv --no-hosts --bind-interfaces \
            --listen-address=198.51.100.$a --address=/$NAME/203.0.113.$a --pid-file="$RUN/dnsmasq$a.pid" \
            --log-queries --log-facility="$RUN/dnsmasq$a.log" --user=root --group=root &
        NT_PIDS+=($!)
    done
    ip netns exec "$UP" nft -f - <<'NFT' || return 1
table inet e2e {
  counter dns { }
  counter pings { }
  counter legit { }
  counter spoofed { }
  counter other { }
  chain pre {
    type filter hook prerouting priority -300; policy accept;
    iifname "eth0" udp dport 53 counter name "dns"
    iifname "eth0" tcp dport 53 counter name "dns"
    iifname "eth0" icmp type echo-request counter name "pings"
    iifname "eth0" udp dport 40000 counter name "legit"
    iifname "eth0" udp dport 40001-40099 counter name "spoofed"
    iifname "eth0" ip saddr != 198.51.100.2 counter name "other"
  }
}
NFT
    mkdir -p "/etc/netns/$NV"
    set_upstreams 198.51.100.1 198.51.100.3
    wait_until 10 upstreams_answer && return 0
    echo "dnsmasq did not answer" >&2
    return 1
}

# every dnsmasq of the upstream answers
upstreams_answer() {
    local a
    for a in 1 3 5; do
        [ "$(ip netns exec "$UP" dig +short +time=1 +tries=1 @198.51.100.$a $NAME)" = 203.0.113.$a ] || return 1
    done
}

# upcount NAME: packets counted by the upstream counter NAME
upcount() {
    ip netns exec "$UP" nft list counter inet e2e "$1" | sed -n 's/.*packets \([0-9]*\).*/\1/p'
}

# resolv.conf of the netvm ns, edited in place (the bind mount of `ip netns exec` sees it)
set_upstreams() { # addresses...
    local a
    { for a in "$@"; do echo "nameserver $a"; done; } > "/etc/netns/$NV/resolv.conf"
}

# the agent, through the control socket: netvm-ctl (no JVM) when python3 is there, else the CLI
nvx() {
    if [ -n "$PY" ]; then "$PY" "$NETVM_CTL" --control "$CTL" "$@"; else "$NETVM" --control "$CTL" "$@"; fi
}
netvm_cli() { "$NETVM" --control "$CTL" "$@"; } # the real CLI (a JVM per call), for user-facing checks

# agent_ready: the control socket answers and lists every command of AGENT_COMMANDS (the control
# socket answers before every command is registered), and when xs is one of them, the runtime's
# xenstore client is connected (on a busy machine it connects seconds after the socket answers;
# any answer but DISCONNECTED, an error included, means connected)
agent_ready() {
    local h c out
    h=$(nvx help 2>/dev/null) || return 1
    for c in ${AGENT_COMMANDS:-xs vif backend}; do
        printf '%s\n' "$h" | grep -e "^  $c " >/dev/null || return 1
    done
    case " ${AGENT_COMMANDS:-xs vif backend} " in *" xs "*) ;; *) return 0 ;; esac
    out=$(nvx xs read / 2>&1)
    case $out in *DISCONNECTED*) return 1 ;; esac
}

# start_runtime NS ROLE XENSTORE LOG STATE_DIR: a netvm/proxy runtime in NS with control socket $CTL;
# waits until agent_ready (AGENT_START_LIMIT seconds, 60); sets RUNTIME_PID and RUNTIME_START_MS
start_runtime() {
    local t
    t=$(now_ns)
    ip netns exec "$1" env NETVM_STATE="$5" "$NETVM" run --role "$2" --xenstore "$3" \
        --control "$CTL" </dev/null >>"$4" 2>&1 &
    RUNTIME_PID=$!
    local limit=$(( $(date +%s) + ${AGENT_START_LIMIT:-60} ))
    while [ "$(date +%s)" -lt $limit ]; do
        agent_ready && break
        kill -0 $RUNTIME_PID 2>/dev/null || break
        sleep 0.05
    done
    agent_ready || { echo "the $2 runtime did not start (no ${AGENT_COMMANDS:-xs vif backend} commands); its log:" >&2; tail -30 "$4" >&2; return 1; }
    RUNTIME_START_MS=$(ms_since $t)
}

# start_agent [STATE_DIR]: starts the netvm runtime in the netvm ns (log $RUN/netvm.log); sets
# AGENT_PID and AGENT_START_MS
start_agent() {
    start_runtime "$NV" netvm "${AGENT_XENSTORE:-embedded:$XS}" "$RUN/netvm.log" "${1:-$RUN/felix}"
    local rc=$?
    AGENT_PID=$RUNTIME_PID
    AGENT_START_MS=$RUNTIME_START_MS
    return $rc
}

# xenstore as the toolstack reaches it: through the runtime holding the store (privileged)
toolstack_xs() { CTL=${TS_CTL:-$CTL} nvx xs "$@"; }

# the netvm's own keys (what the toolstack writes)
write_netvm_keys() {
    toolstack_xs write $NV_HOME/qubes-netvm-network 1 $NV_HOME/qubes-netvm-gateway $GW \
        $NV_HOME/qubes-netvm-primary-dns $DNS1 $NV_HOME/qubes-netvm-secondary-dns $DNS2 >/dev/null || return 1
    [ "$NV_HOME" != /local/domain/0 ] || return 0
    local k
    for k in network gateway primary-dns secondary-dns; do
        toolstack_xs chmod "$NV_HOME/qubes-netvm-$k" n0 "r${NV_HOME##*/}" >/dev/null || return 1
    done
}

# ---------------------------------------------------------------------------------------------
# guests

guest_ns() { echo "$NT_GUEST_PREFIX-g$1-$SUF"; }
guest_ip() { echo "10.137.$(( $1 / 200 )).$(( 10 + $1 % 200 ))"; }
guest_mac() { printf '00:16:3e:5e:%02x:%02x' $(( $1 / 256 )) $(( $1 % 256 )); }

# make_vif D NS PEER [up|down]: the veth pair a Xen backend would create: vifD.0 in the netvm ns
# (MAC fe:ff:ff:ff:ff:ff), PEER in NS with the guest's MAC, up unless "down" (a guest runtime
# brings it up itself)
make_vif() {
    ip link add "vif$1.0" netns "$NV" type veth peer name "$3" netns "$2" || return 1
    ip -n "$NV" link set "vif$1.0" address fe:ff:ff:ff:ff:ff
    ip -n "$2" link set "$3" address "$(guest_mac $1)"
    [ "${4:-up}" = down ] || ip -n "$2" link set "$3" up
}

# backend keys of vif D (written by the toolstack); in a backend domain other than 0 they belong to
# it (it writes hotplug-status there) and guest D may read them, as Xen's toolstack sets them
write_vif_keys() { # D [ip] [mac]
    toolstack_xs write "$XSB/$1/0/ip" "${2:-$(guest_ip $1)}" "$XSB/$1/0/mac" "${3:-$(guest_mac $1)}" >/dev/null || return 1
    [ "$NV_HOME" != /local/domain/0 ] || return 0
    local be=${NV_HOME##*/} k
    for k in "$NV_HOME/backend" "$NV_HOME/backend/vif"; do toolstack_xs chmod "$k" "n$be" >/dev/null || return 1; done
    for k in "$XSB/$1" "$XSB/$1/0" "$XSB/$1/0/ip" "$XSB/$1/0/mac"; do toolstack_xs chmod "$k" "n$be" "r$1" >/dev/null || return 1; done
}

# the keys in guest D's own directory (what its guest runtime reads), readable by domain D
write_guest_keys() { # D
    local home=/local/domain/$1 k
    toolstack_xs write "$home/qubes-ip" "$(guest_ip $1)" "$home/qubes-netmask" 255.255.255.255 "$home/qubes-gateway" $GW \
        "$home/qubes-primary-dns" $DNS1 "$home/qubes-secondary-dns" $DNS2 "$home/device/vif/0/mac" "$(guest_mac $1)" >/dev/null || return 1
    for k in "" /qubes-ip /qubes-netmask /qubes-gateway /qubes-primary-dns /qubes-secondary-dns /device /device/vif \
             /device/vif/0 /device/vif/0/mac; do
        toolstack_xs chmod "$home$k" n0 "r$1" >/dev/null || return 1
    done
}

# the guest's own side, as setup-ip does it (ip address/neighbour/link/routes, resolv.conf)
setup_guest_side() { # D NS
    local ns=$2 ip
    ip=$(guest_ip $1)
    ip -n "$ns" addr replace "$ip/32" dev eth0
    ip -n "$ns" neigh replace $GW dev eth0 lladdr fe:ff:ff:ff:ff:ff nud permanent
    ip -n "$ns" link set dev eth0 group 1 up
    ip -n "$ns" route replace $GW dev eth0 scope link
    ip -n "$ns" route replace default via $GW dev eth0 onlink
    mkdir -p "/etc/netns/$ns"
    printf 'nameserver %s\nnameserver %s\n' $DNS1 $DNS2 > "/etc/netns/$ns/resolv.conf"
}

# vif_hotplug online|offline D: what Xen's hotplug does, through the real hotplug script
vif_hotplug() {
    ip netns exec "$NV" env vif="vif$2.0" XENBUS_PATH="backend/vif/$2/0" NETVM_CONTROL="$CTL" "$HOTPLUG" "$1"
}
vif_online_hotplug() { vif_hotplug online "$1"; }

# vif_programmed D [IP] [MAC]: prints what of vif D's kernel objects is missing (nothing: programmed):
# its route (protocol 110, metric 32752-D), permanent neighbour, the gateway address, link up (the
# agent sets a link up only after its anti-spoofing elements are in the kernel)
vif_programmed() {
    local d=$1 ip=${2:-$(guest_ip $1)} mac=${3:-$(guest_mac $1)} dev=vif$1.0
    ip -n "$NV" route show table all | grep -e "^$ip dev $dev proto 110 scope link metric $((32752 - d))" >/dev/null || echo "no route $ip dev $dev proto 110 metric $((32752 - d));"
    ip -n "$NV" neigh show dev $dev | grep -e "^$ip lladdr $mac PERMANENT" >/dev/null || echo "no permanent neighbour;"
    ip -n "$NV" -4 addr show dev $dev | grep -e "inet $GW/32" >/dev/null || echo "no gateway address;"
    ip -n "$NV" link show dev $dev | grep -e '[<,]UP[,>]' >/dev/null || echo "$dev not up;"
}
vif_is_programmed() { [ -z "$(vif_programmed "$@")" ]; }

# add_guest D: a guest with its own namespace, online through the hotplug script, guest side set
# up; returns once the vif is programmed (10 s at most)
add_guest() {
    local d=$1 ns
    ns=$(guest_ns $d)
    ip netns add "$ns" || return 1
    ip -n "$ns" link set lo up
    make_vif $d "$ns" eth0 || return 1
    write_vif_keys $d
    vif_online_hotplug $d >/dev/null || { echo "vif$d.0 online failed: $(nvx xs read $XSB/$d/0/hotplug-error 2>&1)"; return 1; }
    setup_guest_side $d "$ns"
    wait_until 10 vif_is_programmed $d || { echo "vif$d.0 not programmed 10 s after online: $(vif_programmed $d)"; return 1; }
}

# gexec D CMD...: run CMD in guest D's namespace
gexec() { local d=$1; shift; ip netns exec "$(guest_ns $d)" "$@"; }

# dig_short D SERVER [proto]: the A record of $NAME as guest D sees it through SERVER
dig_short() {
    local opt=
    [ "${3:-udp}" = tcp ] && opt=+tcp
    # +short prints errors ("communications error ... timed out") on stdout too: keep addresses only
    gexec $1 dig +short +time=1 +tries=1 $opt @"$2" $NAME 2>/dev/null | grep -E '^[0-9]+(\.[0-9]+){3}$' | head -1
}

# ---------------------------------------------------------------------------------------------
# IPv6 (tests/e2e/ipv6.test.sh): the upstream 2001:db8:100::1/64, the netvm's uplink ::2, the netvm's
# gateway6 $GW6 (qubes-netvm-gateway6) and guest D's IPv6 guest_ip6 D, written after its IPv4 in
# backend/vif/D/0/ip ("IPv4 IPv6", as Qubes)

GW6=fd09:24ef:4179::a89:1
UP6=2001:db8:100::1
guest_ip6() { printf 'fd09:24ef:4179::a89:%x' $(( 10 + $1 % 200 )); }

# setup_upstream6: after setup_upstream; IPv6 on the uplink (no DAD) and a counter of ICMPv6 echo
# requests arriving at the upstream (pings6)
setup_upstream6() {
    ip -n "$UP" addr add $UP6/64 dev eth0 nodad || return 1
    ip -n "$NV" addr add 2001:db8:100::2/64 dev up0 nodad || return 1
    ip -n "$NV" -6 route add default via $UP6 dev up0 || return 1
    ip netns exec "$UP" nft -f - <<'NFT'
table inet e2e6 {
  counter pings6 { }
  chain pre {
    type filter hook prerouting priority -300; policy accept;
    iifname "eth0" icmpv6 type echo-request counter name "pings6"
  }
}
NFT
}
upcount6() { ip netns exec "$UP" nft list counter inet e2e6 "$1" | sed -n 's/.*packets \([0-9]*\).*/\1/p'; }

# add_guest6 D: add_guest with an IPv6 address too, and the guest's IPv6 side as Qubes' setup-ip
# sets it (address /128, the gateway6 as permanent neighbour, route to it, default route via it)
add_guest6() {
    local d=$1 ns ip6
    ns=$(guest_ns $d)
    ip6=$(guest_ip6 $d)
    ip netns add "$ns" || return 1
    ip -n "$ns" link set lo up
    make_vif $d "$ns" eth0 || return 1
    write_vif_keys $d "$(guest_ip $d) $ip6"
    vif_online_hotplug $d >/dev/null || { echo "vif$d.0 online failed: $(nvx xs read $XSB/$d/0/hotplug-error 2>&1)"; return 1; }
    setup_guest_side $d "$ns"
    ip -n "$ns" -6 addr replace "$ip6/128" dev eth0 nodad
    ip -n "$ns" -6 neigh replace $GW6 dev eth0 lladdr fe:ff:ff:ff:ff:ff nud permanent
    ip -n "$ns" -6 route replace $GW6 dev eth0
    ip -n "$ns" -6 route replace default via $GW6 dev eth0
    wait_until 10 vif_is_programmed $d || { echo "vif$d.0 not programmed 10 s after online: $(vif_programmed $d)"; return 1; }
}

# the netvm namespace's ruleset (nftables)
nv_ruleset() { ip netns exec "$NV" nft list ruleset; }

# ---------------------------------------------------------------------------------------------
# guests with a guest runtime (the sandbox)

# add_guest_runtime D: guest D as the sandbox runs it: its namespace, vifD.0 (down), the toolstack's
# keys (the guest's own, the backend's), the domain introduced, the vif online through the hotplug
# script (VIF_ONLINE_MS), then a guest runtime in the namespace reaching xenstore through
# domain-D.sock (log $RUN/guestD.log), which brings eth0 up and writes resolv.conf (guest_configured)
add_guest_runtime() {
    local d=$1 ns t
    ns=$(guest_ns $d)
    ip netns add "$ns" || return 1
    ip -n "$ns" link set lo up
    mkdir -p "/etc/netns/$ns"; : > "/etc/netns/$ns/resolv.conf"
    make_vif $d "$ns" eth0 down || return 1
    write_guest_keys $d || return 1
    write_vif_keys $d || return 1
    toolstack_xs introduce "$d" >/dev/null || return 1
    t=$(now_ns)
    vif_online_hotplug $d >/dev/null || { echo "vif$d.0 online failed: $(nvx xs read $XSB/$d/0/hotplug-error 2>&1)"; return 1; }
    VIF_ONLINE_MS=$(ms_since $t)
    ip netns exec "$ns" env NETVM_STATE="$RUN/felix-g$d" "$NETVM" run --role guest \
        --xenstore "unix:$RUN/xenstored/domains/domain-$d.sock" --control "$RUN/guest$d.sock" \
        </dev/null >"$RUN/guest$d.log" 2>&1 &
    NT_PIDS+=($!)
}

# guest_configured D: the guest runtime of D set its address and wrote resolv.conf
guest_configured() {
    ip -n "$(guest_ns $1)" -4 addr show dev eth0 | grep -q "$(guest_ip $1)/32" && grep -q nameserver "/etc/netns/$(guest_ns $1)/resolv.conf"
}

# ---------------------------------------------------------------------------------------------
# the chain: upstream <- netvm <- proxy <- guests

# on_proxy CMD...: runs CMD (a function of this library) with the proxy as the netvm it acts on: its
# namespace, control socket, home (/local/domain/P) and gateway (its own address, as in Qubes); the
# toolstack still writes through the first netvm's runtime
on_proxy() {
    TS_CTL=${TS_CTL:-$CTL} NV=$PX CTL=$PCTL NV_HOME=/local/domain/$PROXY XSB=/local/domain/$PROXY/backend/vif \
        GW=$(guest_ip $PROXY) "$@"
}

# start_proxy P: the proxy as guest P of the first netvm: its namespace $PX, vifP.0, the toolstack's
# keys (its guest keys, its own qubes-netvm-* keys), the domain introduced, the vif online through
# the first netvm's hotplug script, then the runtime in the proxy role through domain-P.sock (log
# $RUN/proxy.log, control $PCTL). Sets PROXY, PROXY_PID, PROXY_START_MS; returns once its guest
# component configured its uplink (proxy_uplink_ready, 30 s at most).
start_proxy() {
    PROXY=$1
    ip netns add "$PX" || return 1
    ip -n "$PX" link set lo up
    mkdir -p "/etc/netns/$PX"; : > "/etc/netns/$PX/resolv.conf"
    make_vif $PROXY "$PX" eth0 down || return 1
    write_guest_keys $PROXY || return 1
    on_proxy write_netvm_keys || return 1
    write_vif_keys $PROXY || return 1
    toolstack_xs introduce "$PROXY" >/dev/null || return 1
    vif_online_hotplug $PROXY >/dev/null || { echo "vif$PROXY.0 online failed: $(nvx xs read $XSB/$PROXY/0/hotplug-error 2>&1)"; return 1; }
    CTL=$PCTL start_runtime "$PX" proxy "unix:$RUN/xenstored/domains/domain-$PROXY.sock" "$RUN/proxy.log" "$RUN/felix-proxy" || return 1
    PROXY_PID=$RUNTIME_PID
    NT_PIDS+=($RUNTIME_PID)
    PROXY_START_MS=$RUNTIME_START_MS
    wait_until 30 proxy_uplink_ready || { echo "the proxy's uplink is not configured 30 s after start: $(ip -n "$PX" -4 -o addr show dev eth0)"; return 1; }
}

# proxy_uplink_ready: the proxy's guest component set its address and wrote its resolv.conf
proxy_uplink_ready() {
    ip -n "$PX" -4 addr show dev eth0 | grep -q "inet $(guest_ip $PROXY)/32" && grep -q "^nameserver $DNS1" "/etc/netns/$PX/resolv.conf"
}
