package org.netvm.dataplane;

import java.util.Set;

/**
 * Words no chain or set may be named: the words nft's scanner always reads as keywords (nftables 1.0 to
 * 1.1). nft cannot read such a word where it expects a name ({@code chain inet netvm fwd}, {@code jump
 * fwd}, {@code @fwd}) and does not accept a quoted name there either, so one such name would make a whole
 * transaction fail. The model refuses them for every backend alike, so a plan never depends on the backend
 * in charge. Words that are keywords only after some other keyword ({@code sack} after {@code tcp},
 * {@code state} after {@code ct}) are read as names where a name is expected (checked with nft 1.0.6,
 * also after such an expression: {@code tcp dport 22 jump sack}), so they stay allowed.
 */
final class ReservedNames {
    private ReservedNames() {
    }

    static final Set<String> WORDS = Set.of(
            // commands, objects, verdicts and statements
            "add", "all", "accept", "auto-merge", "chain", "comment", "constant", "continue", "counter",
            "create", "define", "delete", "describe", "destroy", "device", "devices", "drop", "dynamic",
            "element", "elements", "exists", "expires", "export", "flags", "flow", "flowtable", "flush",
            "gc-interval", "get", "goto", "handle", "hook", "import", "include", "index", "insert", "interval",
            "jump", "last", "limit", "list", "log", "map", "meter", "missing", "monitor", "notrack", "offload",
            "policy", "position", "quota", "redefine", "rename", "replace", "reset", "return", "rule", "ruleset",
            "secmark", "set", "size", "synproxy", "table", "timeout", "tunnel", "type", "typeof", "undefine",
            "update", "vmap", "xt",
            // operators written as words
            "and", "eq", "ge", "gt", "le", "lshift", "lt", "ne", "not", "or", "rshift", "xor",
            // families, protocols and headers
            "ah", "arp", "bridge", "comp", "dccp", "dst", "esp", "ether", "exthdr", "frag", "geneve", "gre",
            "gretap", "hbh", "icmp", "icmpv6", "igmp", "inet", "ip", "ip6", "ipsec", "mh", "netdev", "rt", "rt0",
            "rt2", "sctp", "srh", "tcp", "th", "udp", "udplite", "vlan", "vni", "vxlan",
            // meta, ct and other expressions and statements
            "cgroup", "cpu", "ct", "day", "dnat", "dup", "ecn", "fib", "fwd", "hour", "ibriport", "ibrname",
            "iif", "iifgroup", "iifname", "iiftype", "jhash", "mark", "masquerade", "meta", "nftrace", "numgen",
            "obriport", "obrname", "oif", "oifgroup", "oifname", "oiftype", "osf", "pkttype", "priority",
            "queue", "random", "redirect", "reject", "rtclassid", "skgid", "skuid", "snat", "socket", "symhash",
            "time", "tproxy");
}
