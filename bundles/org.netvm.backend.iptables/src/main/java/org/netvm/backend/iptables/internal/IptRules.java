package org.netvm.backend.iptables.internal;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.netvm.dataplane.BackendException;
import org.netvm.dataplane.Chain;
import org.netvm.dataplane.ChainRef;
import org.netvm.dataplane.Family;
import org.netvm.dataplane.Hook;
import org.netvm.dataplane.Match;
import org.netvm.dataplane.NamedSet;
import org.netvm.dataplane.Plan;
import org.netvm.dataplane.Policy;
import org.netvm.dataplane.Priority;
import org.netvm.dataplane.Rule;
import org.netvm.dataplane.SetElement;
import org.netvm.dataplane.SetRef;
import org.netvm.dataplane.SetType;
import org.netvm.dataplane.Verdict;

/**
 * One model rule as iptables rule specs, in the exact text {@code iptables-save} prints: the matches in
 * its order, the target, and the rewrites that keep an emulated drop policy (see {@link IptRenderer},
 * which lays out tables, chains and sets and names them). Refuses, with {@link BackendException}, what
 * iptables cannot express for one rule.
 */
final class IptRules {
    private final IptRenderer names;

    IptRules(IptRenderer names) {
        this.names = names;
    }

    /** The IP version a rule is limited to (4 or 6), or 0 if it applies to both. */
    static int version(Plan plan, Rule rule) throws BackendException {
        BitSetLite v = new BitSetLite();
        for (Match m : rule.matches()) {
            switch (m) {
                case Match.Address a -> v.add(a.prefix().version());
                case Match.InSet s -> v.add(plan.set(SetRef.of(rule.chain().family(), s.set())).orElseThrow()
                        .type().ipVersion());
                case Match.L4 l when !l.negated() && l.protocol() == Match.Protocol.ICMP -> v.add(4);
                case Match.L4 l when !l.negated() && l.protocol() == Match.Protocol.ICMPV6 -> v.add(6);
                case Match.IcmpType t -> v.add(t.ipVersion());
                default -> {
                }
            }
        }
        if (rule.verdict() instanceof Verdict.Dnat d) {
            v.add(d.address().version());
        }
        if (v.four && v.six) {
            throw new BackendException("rule in " + rule.chain() + " needs both IPv4 and IPv6 (e.g. icmp with an "
                    + "IPv6 address) and can never match; iptables cannot express it");
        }
        return v.four ? 4 : v.six ? 6 : 0;
    }

    private static final class BitSetLite {
        boolean four;
        boolean six;

        void add(int version) {
            if (version == 4) {
                four = true;
            } else {
                six = true;
            }
        }
    }

    static boolean appliesTo(Plan plan, Rule rule, int version) throws BackendException {
        int v = version(plan, rule);
        return v == 0 || v == version;
    }

    /** One model rule as iptables rule specs (usually one; two for goto in a policy-drop base chain). */
    List<String> rule(Plan plan, Rule rule, Chain chain, TableKey key, Set<Hook> hooks)
            throws BackendException {
        String matches = matches(plan, rule, key.version());
        String where = "rule in " + rule.chain() + " (iptables " + key + ")";
        Verdict v = rule.verdict();
        boolean base = chain.isBase();
        boolean dropPolicy = base && chain.base().policy() == Policy.DROP;
        String target = switch (v) {
            case Verdict.Accept a -> "-j ACCEPT";
            case Verdict.Drop d -> "-j DROP";
            case Verdict.Return r -> base ? (dropPolicy ? "-j DROP" : "-j RETURN") : "-j RETURN";
            case Verdict.Jump j -> "-j " + names.chainName(rule.chain().family(), j.chain());
            case Verdict.Goto g -> (dropPolicy ? "-j " : "-g ") + names.chainName(rule.chain().family(), g.chain());
            case Verdict.Reject r -> {
                Set<Hook> bad = EnumSet.of(Hook.PREROUTING, Hook.POSTROUTING);
                bad.retainAll(hooks);
                if (!bad.isEmpty()) {
                    throw new BackendException(where + ": REJECT is only valid in input, forward and output, "
                            + "but the chain is reached from " + bad);
                }
                yield "-j REJECT --reject-with " + rejectWith(rule.chain().family(), key.version(), r.type());
            }
            case Verdict.Dnat d -> {
                if (key.table() != IptTable.NAT
                        || !EnumSet.of(Hook.PREROUTING, Hook.OUTPUT).containsAll(hooks)) {
                    throw new BackendException(where + ": dnat needs a nat chain at prerouting or output");
                }
                String to = d.address().version() == 6 && d.port() != 0 ? "[" + d.address().text() + "]"
                        : d.address().text();
                yield "-j DNAT --to-destination " + to + (d.port() != 0 ? ":" + d.port() : "");
            }
            case Verdict.Masquerade m -> {
                if (key.table() != IptTable.NAT || !EnumSet.of(Hook.POSTROUTING).containsAll(hooks)) {
                    throw new BackendException(where + ": masquerade needs a nat chain at postrouting");
                }
                yield "-j MASQUERADE";
            }
        };
        if (chain.userOwned()) {
            target = Snapshot.USER_CHAIN_MARK + target; // iptables-save prints the comment match last
        }
        String spec = matches.isEmpty() ? target : matches + " " + target;
        if (v instanceof Verdict.Goto && dropPolicy) {
            // a goto from a base chain ends in the base chain's policy once the target falls off its end
            return List.of(spec, matches.isEmpty() ? "-j DROP" : matches + " -j DROP");
        }
        return List.of(spec);
    }

    private static String rejectWith(Family family, int version, Verdict.RejectType type) {
        return switch (type) {
            case TCP_RESET -> "tcp-reset";
            case PORT_UNREACHABLE -> version == 4 ? "icmp-port-unreachable" : "icmp6-port-unreachable";
            // nftables: ip -> icmp host-prohibited; ip6 -> icmpv6 admin-prohibited; inet -> icmpx
            // admin-prohibited, which is ICMP code 13 (admin-prohibited) for IPv4
            case HOST_PROHIBITED -> version == 6 ? "icmp6-adm-prohibited"
                    : family == Family.IP ? "icmp-host-prohibited" : "icmp-admin-prohibited";
            case ADMIN_PROHIBITED -> version == 6 ? "icmp6-adm-prohibited" : "icmp-admin-prohibited";
        };
    }

    /** The match part of a rule, in the order {@code iptables-save} prints it. */
    private String matches(Plan plan, Rule rule, int version) throws BackendException {
        String where = "rule in " + rule.chain();
        String saddr = null;
        String daddr = null;
        String iif = null;
        String oif = null;
        Match.Protocol proto = null;
        List<Match.Protocol> notProto = new ArrayList<>();
        List<Match.Port> ports = new ArrayList<>();
        for (Match m : rule.matches()) {
            switch (m) {
                // any address of one IP version (/0): the rule already goes to that version's tables only, and
                // iptables-save prints no -s/-d for it, so neither does the rendering (read-back compares equal)
                case Match.Address a when a.prefix().length() == 0 && !a.negated() -> {
                }
                case Match.Address a -> {
                    String text = (a.negated() ? "! " : "") + a.prefix().address().text() + "/" + a.prefix().length();
                    if (a.side() == Match.Side.SOURCE) {
                        if (saddr != null) {
                            throw new BackendException(where + ": iptables has one source address match per rule");
                        }
                        saddr = text;
                    } else {
                        if (daddr != null) {
                            throw new BackendException(where + ": iptables has one destination address match per rule");
                        }
                        daddr = text;
                    }
                }
                case Match.Interface i -> {
                    String n = i.name().endsWith("*") ? i.name().substring(0, i.name().length() - 1) + "+" : i.name();
                    String text = (i.negated() ? "! " : "") + n;
                    if (i.direction() == Match.Direction.INPUT) {
                        if (iif != null) {
                            throw new BackendException(where + ": iptables has one input interface match per rule");
                        }
                        iif = text;
                    } else {
                        if (oif != null) {
                            throw new BackendException(where + ": iptables has one output interface match per rule");
                        }
                        oif = text;
                    }
                }
                case Match.L4 l -> {
                    if (l.negated()) {
                        notProto.add(l.protocol());
                    } else if (proto != null && proto != l.protocol()) {
                        throw new BackendException(where + ": two different protocols can never match");
                    } else {
                        proto = l.protocol();
                    }
                }
                case Match.Port p -> {
                    if (proto != null && proto != p.protocol()) {
                        throw new BackendException(where + ": two different protocols can never match");
                    }
                    proto = p.protocol();
                    for (Match.Port q : ports) {
                        if (q.side() == p.side()) {
                            throw new BackendException(where + ": iptables has one "
                                    + (p.side() == Match.Side.SOURCE ? "source" : "destination") + " port match per rule");
                        }
                    }
                    ports.add(p);
                }
                case Match.IcmpType t -> {
                    if (proto != null && proto != t.protocol()) {
                        throw new BackendException(where + ": two different protocols can never match");
                    }
                    proto = t.protocol();
                }
                default -> {
                }
            }
        }
        String protoText = null;
        if (proto != null) {
            if (notProto.contains(proto)) {
                throw new BackendException(where + ": protocol " + proto.keyword() + " and not " + proto.keyword()
                        + " can never match");
            }
            protoText = protoName(proto); // other negated protocols are implied by the positive one
        } else if (notProto.size() == 1) {
            protoText = "! " + protoName(notProto.getFirst());
        } else if (notProto.size() > 1 && new TreeSet<>(notProto).size() > 1) {
            throw new BackendException(where + ": iptables has one protocol match per rule (two negated protocols)");
        } else if (!notProto.isEmpty()) {
            protoText = "! " + protoName(notProto.getFirst());
        }
        List<String> parts = new ArrayList<>();
        if (saddr != null) {
            parts.add(neg(saddr, "-s"));
        }
        if (daddr != null) {
            parts.add(neg(daddr, "-d"));
        }
        if (iif != null) {
            parts.add(neg(iif, "-i"));
        }
        if (oif != null) {
            parts.add(neg(oif, "-o"));
        }
        if (protoText != null) {
            parts.add(neg(protoText, "-p"));
        }
        boolean portsDone = false;
        for (Match m : rule.matches()) {
            switch (m) {
                case Match.Port p -> {
                    if (!portsDone) {
                        portsDone = true;
                        parts.add(portMatch(ports));
                    }
                }
                case Match.IcmpType t -> parts.add(t.protocol() == Match.Protocol.ICMP
                        ? "-m icmp " + (t.negated() ? "! " : "") + "--icmp-type " + t.type()
                        : "-m icmp6 " + (t.negated() ? "! " : "") + "--icmpv6-type " + t.type());
                case Match.Conntrack c -> parts.add("-m conntrack " + (c.negated() ? "! " : "") + "--ctstate "
                        + ctStates(c.states()));
                case Match.InterfaceGroup g -> parts.add("-m devgroup " + (g.negated() ? "! " : "")
                        + (g.direction() == Match.Direction.INPUT ? "--src-group " : "--dst-group ")
                        + "0x" + Integer.toHexString(g.group()));
                case Match.InSet s -> {
                    NamedSet set = plan.set(SetRef.of(rule.chain().family(), s.set())).orElseThrow();
                    String flags = switch (s.key()) {
                        case SOURCE_ADDRESS -> "src";
                        case DESTINATION_ADDRESS -> "dst";
                        case IIFNAME_SOURCE_ADDRESS -> "src,src";
                        case OIFNAME_DESTINATION_ADDRESS -> "dst,dst";
                        case SOURCE_DESTINATION_PROTOCOL, SOURCE_DESTINATION_PROTOCOL_PORT ->
                                throw new IllegalArgumentException("key sets are written out as rules");
                    };
                    parts.add("-m set " + (s.negated() ? "! " : "") + "--match-set " + names.setName(set) + " " + flags);
                }
                default -> {
                }
            }
        }
        return String.join(" ", parts);
    }

    /** {@code "! x"} with option {@code -s} becomes {@code "! -s x"}. */
    private static String neg(String value, String option) {
        return value.startsWith("! ") ? "! " + option + " " + value.substring(2) : option + " " + value;
    }

    private static String protoName(Match.Protocol p) {
        return switch (p) {
            case TCP -> "tcp";
            case UDP -> "udp";
            case ICMP -> "icmp";
            case ICMPV6 -> "ipv6-icmp";
        };
    }

    private static String portMatch(List<Match.Port> ports) {
        StringBuilder b = new StringBuilder("-m ").append(ports.getFirst().protocol().keyword());
        for (Match.Side side : List.of(Match.Side.SOURCE, Match.Side.DESTINATION)) {
            for (Match.Port p : ports) {
                if (p.side() == side) {
                    b.append(p.negated() ? " !" : "").append(side == Match.Side.SOURCE ? " --sport " : " --dport ")
                            .append(p.first()).append(p.first() == p.last() ? "" : ":" + p.last());
                }
            }
        }
        return b.toString();
    }

    /** States in the order iptables prints them. */
    private static String ctStates(Set<Match.CtState> states) {
        List<String> out = new ArrayList<>();
        for (Match.CtState s : List.of(Match.CtState.INVALID, Match.CtState.NEW, Match.CtState.RELATED,
                Match.CtState.ESTABLISHED)) {
            if (states.contains(s)) {
                out.add(s.name());
            }
        }
        return String.join(",", out);
    }
}
