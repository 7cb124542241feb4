# Shared functions of the end-to-end tests of the netvm role (sourced by tests/e2e/*.test.sh).
#
# Topology (the sandbox's, distribution/sandbox/sandbox.sh):
#   upstream ns  eth0 198.51.100.1, .3, .5/24; one dnsmasq per address, each answering the test name
#                e2e.test with its own address (203.0.113.1, .3, .5), so an answer tells WHICH
#                upstream answered; nft counters at prerouting (everything that leaves the netvm's
#                uplink): dns (udp/tcp dport 53), pings, legit (udp dport 40000), spoofed (udp dport
#                40001-40099)
#   netvm ns     up0 198.51.100.2/24, default via .1; the netvm runtime with the embedded xenstored
#   guests       one ns each, eth0 <-> vifD.0 in the netvm ns (guest side set up with `ip` exactly as
#                setup-ip does); bulk guests: peers eth-D in one shared ns, no traffic
# Everything is removed on exit (also on failure or interrupt). No traffic leaves the namespaces.
#
# Output contract: one line per check, "PASS name (figure)" or "FAIL name: why", then
# "e2e <script>: N passed, M failed"; exit status 0 only if all passed.

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
E2E_TOP=$(cd "$E2E_DIR/../.." && pwd)
NETVM=${NETVM_BIN:-$E2E_TOP/distribution/bin/netvm}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)
NVCTL=("$PY" "$E2E_DIR/nvctl.py")
PKT=("$PY" "$E2E_DIR/pkt.py")

E2E_PASSED=0
E2E_FAILED=0
E2E_PIDS=()
E2E_AGENT_PID=
TEST_NAME=e2e
GW=10.137.0.1
DNS1=10.139.1.1
DNS2=10.139.1.2
NAME=e2e.test
XSB=/local/domain/0/backend/vif

now_ns() { date +%s%N; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
log() { printf '  # %s\n' "$*" >&2; }

pass() { # name [figure]
    E2E_PASSED=$((E2E_PASSED + 1))
    if [ -n "${2:-}" ]; then printf 'PASS %s (%s)\n' "$1" "$2"; else printf 'PASS %s\n' "$1"; fi
}
fail() { # name why
    E2E_FAILED=$((E2E_FAILED + 1))
    printf 'FAIL %s: %s\n' "$1" "$(printf '%s' "${2:-failed}" | tr '\n' ' ' | cut -c1-400)"
}
# check NAME CMD...: runs CMD (a shell function usually); its last output line is the figure (PASS)
# or the reason (FAIL).
check() {
    local name=$1 out rc
    shift
    out=$("$@" 2>&1)
    rc=$?
    local last
    last=$(printf '%s\n' "$out" | sed '/^[[:space:]]*$/d' | tail -1)
    if [ $rc = 0 ]; then pass "$name" "$last"; else fail "$name" "${last:-exit status $rc}"; fi
    return $rc
}

e2e_finish() {
    echo "e2e $TEST_NAME: $E2E_PASSED passed, $E2E_FAILED failed"
    [ "$E2E_FAILED" = 0 ] && [ "$E2E_PASSED" -gt 0 ]
    exit $?
}

e2e_cleanup() {
    local status=$?
    trap - EXIT INT TERM
    if [ "${E2E_KEEP:-0}" = 1 ]; then
        echo "  # kept: namespaces *-$SUF, run dir $RUN (E2E_KEEP=1); remove them by hand" >&2
        exit $status
    fi
    local p
    for p in "${E2E_PIDS[@]}" $E2E_AGENT_PID; do kill "$p" 2>/dev/null; done
    for _ in $(seq 1 30); do
        local alive=0
        for p in "${E2E_PIDS[@]}" $E2E_AGENT_PID; do kill -0 "$p" 2>/dev/null && alive=1; done
        [ $alive = 0 ] && break
        sleep 0.1
    done
    for p in "${E2E_PIDS[@]}" $E2E_AGENT_PID; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    local ns
    for ns in $(ip netns list | awk '{print $1}' | grep -- "-$SUF\$"); do
        # processes we did not track (none expected) would keep the namespace alive: end them by pid
        for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
        ip netns del "$ns" 2>/dev/null
    done
    # E2E_LOGS=DIR keeps the run's logs (agent, dnsmasq, flows) for a look afterwards
    if [ -n "${E2E_LOGS:-}" ]; then mkdir -p "$E2E_LOGS/$SUF" && cp -r "$RUN"/*.log "$RUN"/*.out "$E2E_LOGS/$SUF/" 2>/dev/null; fi
    rm -rf "$RUN"
    rm -rf /etc/netns/*-"$SUF"
    exit $status
}

# e2e_init TAG: names, run dir, traps, preconditions
e2e_init() {
    TEST_NAME=$1
    SUF=$1-$$
    RUN=/run/netvm-e2e-$SUF
    CTL=$RUN/netvm.sock
    XS=$RUN/xenstored/socket
    UP=nve-up-$SUF
    NV=nve-nv-$SUF
    BULK=nve-bulk-$SUF
    if [ "$(id -u)" != 0 ]; then
        echo "FAIL $TEST_NAME: needs root (network namespaces)"
        echo "e2e $TEST_NAME: 0 passed, 1 failed"
        exit 1
    fi
    local tool
    for tool in ip nft dnsmasq dig ping nc conntrack; do
        command -v $tool >/dev/null || { echo "FAIL $TEST_NAME: needs '$tool'"; echo "e2e $TEST_NAME: 0 passed, 1 failed"; exit 1; }
    done
    mkdir -p "$RUN"
    trap e2e_cleanup EXIT
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
        E2E_PIDS+=($!)
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
    printf 'nameserver 198.51.100.1\nnameserver 198.51.100.3\n' > "/etc/netns/$NV/resolv.conf"
    # dnsmasq ready?
    for _ in $(seq 1 50); do
        [ "$(ip netns exec "$UP" dig +short +time=1 +tries=1 @198.51.100.5 $NAME)" = 203.0.113.5 ] && return 0
        sleep 0.1
    done
    echo "dnsmasq did not answer" >&2
    return 1
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

nvx() { "${NVCTL[@]}" "$CTL" "$@"; }           # the agent, through the control socket (no JVM)
netvm_cli() { "$NETVM" --control "$CTL" "$@"; } # the real CLI (a JVM per call), for user-facing checks

agent_ready() {
    local h
    h=$(nvx help 2>/dev/null) || return 1
    printf '%s\n' "$h" | grep -e '^  xs ' >/dev/null && printf '%s\n' "$h" | grep -e '^  vif ' >/dev/null &&
        printf '%s\n' "$h" | grep -e '^  backend ' >/dev/null
}

# start_agent [STATE_DIR]: starts the netvm runtime in the netvm ns; waits until it answers
start_agent() {
    local t
    t=$(now_ns)
    ip netns exec "$NV" env NETVM_STATE="${1:-$RUN/felix}" "$NETVM" run --role netvm --xenstore "${AGENT_XENSTORE:-embedded:$XS}" \
        --control "$CTL" </dev/null >>"$RUN/netvm.log" 2>&1 &
    E2E_AGENT_PID=$!
    # ready = the commands this test uses are registered (xs needs the xenstore client, vif the vif service)
    local limit=$(( $(date +%s) + ${AGENT_START_LIMIT:-60} ))
    while [ "$(date +%s)" -lt $limit ]; do
        agent_ready && break
        kill -0 $E2E_AGENT_PID 2>/dev/null || break
        sleep 0.05
    done
    agent_ready || { echo "the netvm runtime did not start (no xs/vif/backend commands); its log:" >&2; tail -30 "$RUN/netvm.log" >&2; return 1; }
    AGENT_START_MS=$(ms_since $t)
}

# the netvm's own keys (what the toolstack writes)
write_netvm_keys() {
    nvx xs write /local/domain/0/qubes-netvm-network 1 /local/domain/0/qubes-netvm-gateway $GW \
        /local/domain/0/qubes-netvm-primary-dns $DNS1 /local/domain/0/qubes-netvm-secondary-dns $DNS2 >/dev/null
}

# ---------------------------------------------------------------------------------------------
# guests

guest_ns() { echo "nve-g$1-$SUF"; }
guest_ip() { echo "10.137.$(( $1 / 200 )).$(( 10 + $1 % 200 ))"; }
guest_mac() { printf '00:16:3e:5e:%02x:%02x' $(( $1 / 256 )) $(( $1 % 256 )); }

# make_vif D NS PEER: the veth pair a Xen backend would create: vifD.0 in the netvm ns (MAC
# fe:ff:ff:ff:ff:ff), PEER in NS with the guest's MAC
make_vif() {
    ip link add "vif$1.0" netns "$NV" type veth peer name "$3" netns "$2" || return 1
    ip -n "$NV" link set "vif$1.0" address fe:ff:ff:ff:ff:ff
    ip -n "$2" link set "$3" address "$(guest_mac $1)" up
}

# backend keys of vif D (written by the toolstack)
write_vif_keys() { # D [ip] [mac]
    nvx xs write "$XSB/$1/0/ip" "${2:-$(guest_ip $1)}" "$XSB/$1/0/mac" "${3:-$(guest_mac $1)}" >/dev/null
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

# vif_online D: what Xen's hotplug does, through the real hotplug script (vif-route-netvm + CLI)
vif_online_hotplug() {
    ip netns exec "$NV" env vif="vif$1.0" XENBUS_PATH="backend/vif/$1/0" NETVM_CONTROL="$CTL" \
        "$E2E_TOP/distribution/hotplug/vif-route-netvm" online
}

# add_guest D: a guest with its own namespace, online through the hotplug script, guest side set up
add_guest() {
    local d=$1 ns
    ns=$(guest_ns $d)
    ip netns add "$ns" || return 1
    ip -n "$ns" link set lo up
    make_vif $d "$ns" eth0 || return 1
    write_vif_keys $d
    vif_online_hotplug $d >/dev/null || { echo "vif$d.0 online failed: $(nvx xs read $XSB/$d/0/hotplug-error 2>&1)"; return 1; }
    setup_guest_side $d "$ns"
}

# gexec D CMD...: run CMD in guest D's namespace
gexec() { local d=$1; shift; ip netns exec "$(guest_ns $d)" "$@"; }

# dig_short D SERVER [proto]: the A record of the test name as guest D sees it through SERVER
dig_short() {
    local opt=
    [ "${3:-udp}" = tcp ] && opt=+tcp
    # +short prints errors ("communications error ... timed out") on stdout too: keep addresses only
    gexec $1 dig +short +time=1 +tries=1 $opt @"$2" $NAME 2>/dev/null | grep -E '^[0-9]+(\.[0-9]+){3}$' | head -1
}

# backend elements / ruleset of the netvm ns
nv_ruleset() { ip netns exec "$NV" nft list ruleset; }

# median and max of numbers on stdin: prints "median M ms, max X ms (n=N)"
stats() {
    sort -n | awk '{v[NR]=$1} END {if (NR==0) {print "no samples"; exit} m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; printf "median %s ms, max %s ms (n=%d)", m, v[NR], NR}'
}

# wait_until SECONDS CMD...: polls CMD every 50 ms until it succeeds; false after SECONDS
wait_until() {
    local limit=$(( $(date +%s%N) + $1 * 1000000000 ))
    shift
    while :; do
        "$@" >/dev/null 2>&1 && return 0
        [ "$(date +%s%N)" -lt $limit ] || return 1
        sleep 0.05
    done
}

# the DNS DNAT chain as the netvm's kernel holds it (nftables backend)
dnat_chain() { ip netns exec "$NV" nft list chain ip netvm-ip dnat-dns 2>/dev/null; }
