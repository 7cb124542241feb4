#!/bin/bash
# End-to-end: a nameserver change reaches a guest that keeps its DNS source port.
#
# A DNAT rule is consulted only for a flow's first packet: a guest that sends its queries from one
# fixed source port (here dig -b ADDR#PORT; resolvers with a pinned port, or a long-lived TCP
# connection, do the same) would keep going to the old nameserver until its conntrack entry expires
# (30-120 s), even a dead one. The DNS bundle deletes those entries once the new DNAT rules are in
# the kernel. Checked with real traffic: guest 1 queries DNS1 from UDP port $PORT (the entry's reply
# source is the upstream); resolv.conf changes; the next query from the same port is answered by the
# new upstream, and counted there, not at the old one (each upstream's dnsmasq logs its queries).
# Then the same again for a second change, over TCP: a connection kept open to DNS1 before the change
# (its next query would go to the old upstream) is cut.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init dnsct

setup_upstream || { fail "setup: upstream namespace" "see above"; e2e_finish; }
start_agent || { fail "setup: netvm runtime starts" "see above"; e2e_finish; }
write_netvm_keys
add_guest 1 || { fail "setup: guest 1 online" "vif1.0 not online"; e2e_finish; }

PORT=40053
G=$(guest_ip 1)
# the answer to a query from guest 1's fixed source port to DNS1
fixed_query() {
    gexec 1 dig +short +time=1 +tries=1 -b "$G#$PORT" @"$DNS1" "$NAME" 2>/dev/null | grep -E '^[0-9]+(\.[0-9]+){3}$' | head -1
}
# queries upstream 198.51.100.$1 has answered (its dnsmasq log)
served() { grep -c "query\[A\] $NAME " "$RUN/dnsmasq$1.log"; }
# the upstream the netvm's conntrack entry of the fixed-port flow points to (its reply source)
entry_upstream() {
    ip netns exec "$NV" conntrack -L -p udp --orig-port-src $PORT --orig-dst "$DNS1" 2>/dev/null |
        sed -n 's/.*src=[0-9.]* dst=[0-9.]* sport=[0-9]* dport=[0-9]* .*src=\([0-9.]*\) dst=.*/\1/p' | head -1
}
dnat_to() { dnat_chain | grep -q "ip daddr $DNS1 udp dport 53 dnat to $1\$"; }

set_upstreams 198.51.100.1 198.51.100.3
wait_until 5 dnat_to 198.51.100.1
warm() {
    local a i
    for i in 1 2 3; do a=$(fixed_query); [ "$a" = 203.0.113.1 ] || { echo "query $i: '${a:-no answer}'"; return 1; }; done
    [ "$(entry_upstream)" = 198.51.100.1 ] || { echo "no conntrack entry to 198.51.100.1: $(entry_upstream)"; return 1; }
    echo "3 queries from port $PORT answered by upstream 1; the netvm's entry for the flow replies from $(entry_upstream)"
}
check "before the change: queries from a fixed source port go to upstream 1" warm

# change OLD NEW ANSWER: resolv.conf -> NEW; once DNS1's rule is in the kernel (and 0.5 s for the cut
# that follows it), one query from the fixed port must be counted at NEW and not at OLD
change() {
    local old=$1 new=$2 want=$3 o0 n0 o1 n1 a
    o0=$(served "${old##*.}"); n0=$(served "${new##*.}")
    set_upstreams "$new"
    wait_until 5 dnat_to "$new" || { echo "no DNAT rule to $new after 5 s"; return 1; }
    sleep 0.5
    a=$(fixed_query)
    sleep 0.2 # dnsmasq writes its log line after answering
    o1=$(served "${old##*.}"); n1=$(served "${new##*.}")
    echo "answer '${a:-none}'; queries counted at $old: $o0 -> $o1, at $new: $n0 -> $n1; entry now replies from $(entry_upstream)"
    [ "$a" = "$want" ] && [ "$o1" = "$o0" ] && [ "$n1" = $((n0 + 1)) ]
}
check "nameserver change: the next query from the same source port reaches the new upstream" \
    change 198.51.100.1 198.51.100.5 203.0.113.5
check "a second change: again the new upstream, not the previous one" change 198.51.100.5 198.51.100.3 203.0.113.3

# TCP: a connection to DNS1 opened before a change, kept open; after the change its next query must
# not be answered by the old upstream (its entry is gone: the connection breaks, the guest reconnects
# and a new connection reaches the new upstream)
tcp_kept() {
    local o0 o1 n0 n1 out
    o0=$(served 3); n0=$(served 1)
    gexec 1 "$PY" - "$DNS1" "$NAME" "$RUN/tcp.go" >"$RUN/tcp.out" 2>&1 <<'PY' &
import os, socket, struct, sys, time
server, name, go = sys.argv[1], sys.argv[2], sys.argv[3]
def query(s, qid):
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    q += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0" + struct.pack(">HH", 1, 1)
    s.sendall(struct.pack(">H", len(q)) + q)
    n = struct.unpack(">H", s.recv(2))[0]
    r = b""
    while len(r) < n:
        r += s.recv(n - len(r))
    return ".".join(str(b) for b in r[-4:])
s = socket.create_connection((server, 53), timeout=2)
print("first:", query(s, 1), flush=True)
open(go + ".ready", "w").close()
while not os.path.exists(go):
    time.sleep(0.05)
try:
    print("kept connection after the change:", query(s, 2))
except OSError as e:
    print("kept connection after the change: cut (" + type(e).__name__ + ")")
s2 = socket.create_connection((server, 53), timeout=2)
print("new connection:", query(s2, 3))
PY
    local py=$!
    wait_until 5 test -e "$RUN/tcp.go.ready"
    set_upstreams 198.51.100.1
    wait_until 5 dnat_to 198.51.100.1
    sleep 0.5
    touch "$RUN/tcp.go"
    wait $py
    out=$(cat "$RUN/tcp.out")
    sleep 0.2
    o1=$(served 3); n1=$(served 1)
    echo "$out" | tr '\n' ';'
    echo " queries counted at 198.51.100.3: $o0 -> $o1, at 198.51.100.1: $n0 -> $n1"
    grep -q "first: 203.0.113.3" <<<"$out" && ! grep -q "after the change: 203.0.113.3" <<<"$out" &&
        grep -q "new connection: 203.0.113.1" <<<"$out" && [ "$o1" = $((o0 + 1)) ] && [ "$n1" = $((n0 + 1)) ]
}
check "TCP: a connection kept open across the change no longer reaches the old upstream" tcp_kept

e2e_finish
