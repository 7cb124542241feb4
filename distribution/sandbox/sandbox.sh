#!/bin/bash
# netvm sandbox: the main job on one machine, no Xen.
#
# Creates network namespaces for an upstream network with a real DNS server (dnsmasq), a netvm and N
# guests; starts the netvm runtime (embedded xenstored playing the toolstack's store), writes the
# keys a toolstack writes, brings the vifs online through the hotplug path, starts a guest runtime in
# each guest namespace, then checks the result with real traffic and prints a report. Everything it
# created is removed at the end, also when interrupted, unless --keep is given.
#
# usage: netvm sandbox [--guests N] [--keep] [--backend nftables|iptables] [--swaps N]
#   --swaps N: switch the backend to the other one and back N times under load (default 1)
set -uo pipefail

HERE=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
NETVM=${NETVM_BIN:-$HERE/../bin/netvm}
GUESTS=2
KEEP=0
BACKEND=nftables
SWAPS=1
while [ $# -gt 0 ]; do
    case "$1" in
    --guests) GUESTS=${2:?--guests needs a number}; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --backend) BACKEND=${2:?--backend needs a name}; shift 2 ;;
    --swaps) SWAPS=${2:?--swaps needs a number}; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "sandbox: unknown option '$1'" >&2; exit 2 ;;
    esac
done
case "$GUESTS" in ''|*[!0-9]*) echo "sandbox: --guests needs a number 1..50" >&2; exit 2 ;; esac
[ "$GUESTS" -ge 1 ] && [ "$GUESTS" -le 50 ] || { echo "sandbox: --guests needs a number 1..50" >&2; exit 2; }
case "$SWAPS" in ''|*[!0-9]*) echo "sandbox: --swaps needs a number" >&2; exit 2 ;; esac
case "$BACKEND" in nftables|iptables) ;; *) echo "sandbox: --backend is nftables or iptables" >&2; exit 2 ;; esac

if [ "$(id -u)" != 0 ]; then
    echo "sandbox: needs root (it creates network namespaces); run it with sudo" >&2
    exit 1
fi
if ! ip netns add nvsb-probe-$$ 2>/dev/null; then
    echo "sandbox: this machine cannot create network namespaces (ip netns add failed)" >&2
    exit 1
fi
ip netns del nvsb-probe-$$
for tool in dnsmasq dig ping nft; do
    command -v $tool >/dev/null || { echo "sandbox: needs '$tool' (apt install dnsmasq-base dnsutils iputils-ping nftables)" >&2; exit 1; }
done

ID=$$
UP=nvsb-up-$ID
NV=nvsb-netvm-$ID
RUN=/run/netvm-sandbox-$ID
CTL=$RUN/netvm.sock
XS=$RUN/xenstored/socket
mkdir -p "$RUN"
PIDS=()
FAILED=0
T0=$(date +%s%N)

ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
say() { printf '%s\n' "$*"; }
check() { # name, then command; prints PASS/FAIL with the time it took
    local name=$1; shift
    local t=$(date +%s%N) out
    if out=$("$@" 2>&1); then
        printf '  PASS  %-58s %6s ms\n' "$name" "$(ms $t)"
        [ -n "$out" ] && printf '        %s\n' "$(printf '%s\n' "$out" | tail -1)"
    else
        printf '  FAIL  %-58s %6s ms\n' "$name" "$(ms $t)"
        printf '        %s\n' "$out" | head -5
        FAILED=$((FAILED + 1))
    fi
}
guest_ns() { echo nvsb-g$1-$ID; }
guest_ip() { echo 10.137.0.$((10 + $1)); }
guest_mac() { printf '00:16:3e:5e:6c:%02x' "$1"; }
nvx() { "$NETVM" --control "$CTL" "$@"; }

cleanup() {
    local status=$?
    if [ $KEEP = 1 ]; then
        say ""
        say "kept (--keep). Enter the namespaces with:"
        say "  ip netns exec $NV bash            # the netvm"
        for d in $(seq 1 "$GUESTS"); do say "  ip netns exec $(guest_ns $d) bash   # guest $d ($(guest_ip $d))"; done
        say "  ip netns exec $UP bash            # the upstream (dnsmasq on 198.51.100.1 and .3)"
        say "xenstore: XENSTORED_PATH=$XS xenstore-ls -f /local/domain"
        say "agent:    $NETVM --control $CTL help"
        say "remove everything: kill ${PIDS[*]}; ip netns del ...; rm -rf $RUN /etc/netns/nvsb-*-$ID"
        exit $status
    fi
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for _ in $(seq 1 30); do
        local alive=0
        for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
        [ $alive = 0 ] && break
        sleep 0.1
    done
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    for ns in $(ip netns list | awk '{print $1}' | grep -- "-$ID\$"); do ip netns del "$ns"; done
    rm -rf "$RUN" /etc/netns/nvsb-*-"$ID"
    exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "netvm sandbox: 1 upstream, 1 netvm, $GUESTS guest(s), backend $BACKEND"
say ""
say "setting up"
# --- upstream: a router with two nameservers (dnsmasq) answering sandbox.test
ip netns add "$UP"; ip netns add "$NV"
ip -n "$UP" link set lo up; ip -n "$NV" link set lo up
ip link add up0 netns "$NV" type veth peer name eth0 netns "$UP"
ip -n "$UP" addr add 198.51.100.1/24 dev eth0
ip -n "$UP" addr add 198.51.100.3/24 dev eth0
ip -n "$UP" link set eth0 up
ip -n "$NV" addr add 198.51.100.2/24 dev up0
ip -n "$NV" link set up0 up
ip -n "$NV" route add default via 198.51.100.1
ip netns exec "$UP" dnsmasq --no-daemon --no-resolv --no-hosts --bind-interfaces \
    --listen-address=198.51.100.1 --listen-address=198.51.100.3 --address=/sandbox.test/203.0.113.7 \
    --pid-file="$RUN/dnsmasq.pid" --log-facility=- --quiet-dhcp >"$RUN/dnsmasq.log" 2>&1 &
PIDS+=($!)
# counts echo requests reaching the upstream, to prove spoofed packets never leave the netvm
ip netns exec "$UP" nft -f - <<'NFT'
table inet sandbox {
  counter pings {
  }
  chain in {
    type filter hook input priority 0; policy accept;
    icmp type echo-request counter name "pings"
  }
}
NFT
mkdir -p "/etc/netns/$NV"
printf 'nameserver 198.51.100.1\nnameserver 198.51.100.3\n' > "/etc/netns/$NV/resolv.conf"
say "  upstream $UP: 198.51.100.1 and .3, dnsmasq answers sandbox.test = 203.0.113.7"

# --- the netvm runtime, with the embedded xenstored
t=$(date +%s%N)
ip netns exec "$NV" env NETVM_STATE="$RUN/felix-netvm" "$NETVM" run --role netvm --xenstore "embedded:$XS" \
    --control "$CTL" </dev/null >"$RUN/netvm.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 300); do nvx help >/dev/null 2>&1 && break; sleep 0.1; done
nvx help >/dev/null 2>&1 || { say "the netvm runtime did not start; its log:"; tail -30 "$RUN/netvm.log"; exit 1; }
say "  netvm $NV: runtime ready in $(ms $t) ms (log $RUN/netvm.log)"
if [ "$BACKEND" != nftables ]; then nvx backend use "$BACKEND" >/dev/null; fi

# --- the toolstack's keys: the netvm's own, then per guest
nvx xs write /local/domain/0/qubes-netvm-network 1 /local/domain/0/qubes-netvm-gateway 10.137.0.1 \
    /local/domain/0/qubes-netvm-primary-dns 10.139.1.1 /local/domain/0/qubes-netvm-secondary-dns 10.139.1.2
for d in $(seq 1 "$GUESTS"); do
    ns=$(guest_ns $d); ip=$(guest_ip $d); mac=$(guest_mac $d)
    ip netns add "$ns"; ip -n "$ns" link set lo up
    mkdir -p "/etc/netns/$ns"; : > "/etc/netns/$ns/resolv.conf"
    ip link add "vif$d.0" netns "$NV" type veth peer name eth0 netns "$ns"
    ip -n "$NV" link set "vif$d.0" address fe:ff:ff:ff:ff:ff
    ip -n "$ns" link set eth0 address "$mac"
    home=/local/domain/$d
    nvx xs write "$home/qubes-ip" "$ip" "$home/qubes-netmask" 255.255.255.255 "$home/qubes-gateway" 10.137.0.1 \
        "$home/qubes-primary-dns" 10.139.1.1 "$home/qubes-secondary-dns" 10.139.1.2 "$home/device/vif/0/mac" "$mac" \
        "/local/domain/0/backend/vif/$d/0/ip" "$ip" "/local/domain/0/backend/vif/$d/0/mac" "$mac"
    for k in "" /qubes-ip /qubes-netmask /qubes-gateway /qubes-primary-dns /qubes-secondary-dns /device /device/vif \
             /device/vif/0 /device/vif/0/mac; do
        nvx xs chmod "$home$k" n0 "r$d"
    done
    nvx xs introduce "$d"
    t=$(date +%s%N)
    if ip netns exec "$NV" env vif="vif$d.0" XENBUS_PATH="backend/vif/$d/0" NETVM_CONTROL="$CTL" \
        "$HERE/../hotplug/vif-route-netvm" online; then
        say "  vif$d.0 online in $(ms $t) ms: hotplug-status=$(nvx xs read /local/domain/0/backend/vif/$d/0/hotplug-status)"
    else
        say "  vif$d.0 FAILED: $(nvx xs read /local/domain/0/backend/vif/$d/0/hotplug-error 2>&1)"
        FAILED=$((FAILED + 1))
    fi
    ip netns exec "$ns" env NETVM_STATE="$RUN/felix-g$d" "$NETVM" run --role guest \
        --xenstore "unix:$RUN/xenstored/domains/domain-$d.sock" --control "$RUN/guest$d.sock" \
        </dev/null >"$RUN/guest$d.log" 2>&1 &
    PIDS+=($!)
done
for d in $(seq 1 "$GUESTS"); do
    ns=$(guest_ns $d)
    for _ in $(seq 1 300); do
        ip -n "$ns" -4 addr show dev eth0 | grep -q "$(guest_ip $d)/32" && grep -q nameserver "/etc/netns/$ns/resolv.conf" && break
        sleep 0.1
    done
    say "  guest $ns: $(ip -n "$ns" -4 -o addr show dev eth0 | awk '{print $4}'), $(ip -n "$ns" route | head -1 | sed 's/ proto 110//'), resolv.conf: $(grep -c nameserver "/etc/netns/$ns/resolv.conf") nameservers"
done

say ""
say "checks"
pings() { ip netns exec "$UP" nft -j list counter inet sandbox pings | grep -o '"packets": [0-9]*' | grep -o '[0-9]*$'; }
for d in $(seq 1 "$GUESTS"); do
    ns=$(guest_ns $d)
    check "guest $d pings the upstream through the netvm" ip netns exec "$ns" ping -c 1 -W 2 198.51.100.1
    check "guest $d resolves sandbox.test through DNS1 (10.139.1.1)" \
        bash -c "[ \"\$(ip netns exec $ns dig +short +time=2 +tries=1 @10.139.1.1 sandbox.test)\" = 203.0.113.7 ]"
    check "guest $d resolves sandbox.test through DNS2 (10.139.1.2)" \
        bash -c "[ \"\$(ip netns exec $ns dig +short +time=2 +tries=1 @10.139.1.2 sandbox.test)\" = 203.0.113.7 ]"
    check "guest $d resolves with its own resolv.conf (written by the guest role)" \
        bash -c "[ \"\$(ip netns exec $ns dig +short +time=2 +tries=1 sandbox.test)\" = 203.0.113.7 ]"
done
g1=$(guest_ns 1)
spoof() {
    ip -n "$g1" addr add 10.137.0.99/32 dev eth0
    local before after
    before=$(pings)
    [ -n "$before" ] || { echo "cannot read the upstream's echo-request counter"; return 1; }
    ip netns exec "$g1" ping -c 3 -i 0.2 -W 1 -I 10.137.0.99 198.51.100.1 >/dev/null 2>&1
    after=$(pings)
    ip -n "$g1" addr del 10.137.0.99/32 dev eth0
    echo "echo requests from a spoofed source reaching the upstream: $((after - before))"
    [ "$after" = "$before" ]
}
check "spoofed source from guest 1 never leaves the netvm (counted upstream)" spoof
if [ "$GUESTS" -ge 2 ]; then
    check "guest 1 cannot reach guest 2" bash -c "! ip netns exec $g1 ping -c 1 -W 1 $(guest_ip 2)"
fi
closed() {
    local p
    for p in 22 53 80 443 8080 9100; do
        ip netns exec "$g1" nc -z -w 1 10.137.0.1 $p 2>/dev/null && { echo "tcp port $p answers"; return 1; }
    done
    ip netns exec "$NV" nc -l -p 7777 >/dev/null 2>&1 &
    local l=$!
    sleep 0.2
    ip netns exec "$g1" nc -z -w 1 10.137.0.1 7777 2>/dev/null && { kill $l; echo "a listener on 7777 answers"; return 1; }
    kill $l 2>/dev/null
    return 0
}
check "no netvm port answers a guest (scan + a listener started on purpose)" closed
swap() {
    # guest 1 queries DNS1 (through the DNAT rule) and sends packets from a spoofed source, both
    # continuously, while the backend is switched to the other one and back $SWAPS times
    local other=iptables; [ "$BACKEND" = iptables ] && other=nftables
    ip -n "$g1" addr add 10.137.0.99/32 dev eth0
    local before; before=$(pings)
    touch "$RUN/swap.run"
    ip netns exec "$g1" bash -c 'ok=0; bad=0; while [ -e "$1" ]; do
        if [ "$(dig +short +time=1 +tries=1 @10.139.1.1 sandbox.test)" = 203.0.113.7 ]; then ok=$((ok+1)); else bad=$((bad+1)); fi
        sleep 0.02; done; echo "$ok $bad"' _ "$RUN/swap.run" > "$RUN/swap.out" &
    local q=$!
    ip netns exec "$g1" ping -q -i 0.05 -W 1 -I 10.137.0.99 198.51.100.1 >/dev/null 2>&1 &
    local s=$!
    sleep 0.3
    local i t total=0 worst=0 d
    for i in $(seq 1 "$SWAPS"); do
        for b in "$other" "$BACKEND"; do
            t=$(date +%s%N)
            nvx backend use "$b" >/dev/null || { rm -f "$RUN/swap.run"; kill $s; echo "switch to $b failed"; return 1; }
            d=$(ms $t); total=$((total + d)); [ $d -gt $worst ] && worst=$d
        done
    done
    sleep 0.3
    rm -f "$RUN/swap.run"
    wait $q
    kill $s 2>/dev/null; wait $s 2>/dev/null
    local after; after=$(pings)
    ip -n "$g1" addr del 10.137.0.99/32 dev eth0
    read -r ok bad < "$RUN/swap.out"
    echo "$((2 * SWAPS)) switches (mean $((total / (2 * SWAPS))) ms, worst $worst ms); queries answered $ok, lost $bad; spoofed packets forwarded $((after - before))"
    [ "$bad" = 0 ] && [ "$after" = "$before" ] && [ "$ok" -gt 0 ]
}
check "backend switched $((2 * SWAPS)) times under DNS load and spoofing: nothing lost, nothing leaked" swap

say ""
if [ $FAILED = 0 ]; then
    say "sandbox: all checks passed in $(ms $T0) ms"
else
    say "sandbox: $FAILED check(s) FAILED (logs in $RUN; rerun with --keep to inspect)"
    for f in "$RUN"/*.log; do say "--- $f"; tail -15 "$f"; done
    exit 1
fi
