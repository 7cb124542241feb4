package org.netvm.firewall.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.netvm.dataplane.ChainRef;
import org.netvm.dataplane.IpAddress;
import org.netvm.dataplane.IpPrefix;
import org.netvm.dataplane.Match;
import org.netvm.dataplane.Match.Protocol;
import org.netvm.dataplane.Rule;
import org.netvm.dataplane.Verdict;

/**
 * One tracked connection of a guest, as {@code conntrack -L} prints it, and whether a guest chain still
 * allows it. The destination is the one the forward hook saw: the reply's source (after DNAT).
 *
 * @param protocol  tcp, udp, icmp or icmpv6 (others: null)
 * @param source    the guest's address (original source)
 * @param origDst   the original destination (before DNAT), used to delete the entry
 * @param dst       the destination the forward hook saw
 * @param dport     destination port (tcp/udp), else 0
 * @param icmpType  icmp type, else -1
 */
record Flow(Protocol protocol, IpAddress source, IpAddress origDst, IpAddress dst, int dport, int icmpType) {

    /** Parses one line of {@code conntrack -L}; null if it is not a flow this class understands. */
    static Flow parse(String line) {
        String[] w = line.trim().split("\\s+");
        if (w.length < 4) {
            return null;
        }
        Protocol p = switch (w[0]) {
            case "tcp" -> Protocol.TCP;
            case "udp" -> Protocol.UDP;
            case "icmp" -> Protocol.ICMP;
            case "icmpv6" -> Protocol.ICMPV6;
            default -> null;
        };
        List<String> src = new ArrayList<>();
        List<String> dst = new ArrayList<>();
        int dport = 0;
        int type = -1;
        for (String word : w) {
            if (word.startsWith("src=")) {
                src.add(word.substring(4));
            } else if (word.startsWith("dst=")) {
                dst.add(word.substring(4));
            } else if (word.startsWith("dport=") && dport == 0) {
                dport = number(word.substring(6));
            } else if (word.startsWith("type=") && type < 0) {
                type = number(word.substring(5));
            }
        }
        if (p == null || src.size() < 2 || dst.isEmpty()) {
            return null;
        }
        try {
            return new Flow(p, IpAddress.of(src.get(0)), IpAddress.of(dst.get(0)), IpAddress.of(src.get(1)), dport,
                    type);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static int number(String s) {
        return s.matches("[0-9]{1,5}") ? Integer.parseInt(s) : -1;
    }

    /** Whether {@code rules} of a guest chain (first match wins; a chain ends in a verdict) accept this flow. */
    boolean allowedBy(ChainRef chain, List<Rule> rules) {
        for (Rule r : rules) {
            if (r.chain().equals(chain) && r.matches().stream().allMatch(this::matches)) {
                return r.verdict() instanceof Verdict.Accept;
            }
        }
        return false;
    }

    private boolean matches(Match m) {
        return switch (m) {
            case Match.Address a -> a.side() == Match.Side.DESTINATION && contains(a.prefix(), dst) != a.negated();
            case Match.L4 l -> (l.protocol() == protocol) != l.negated();
            case Match.Port p -> p.protocol() == protocol && (dport >= p.first() && dport <= p.last()) != p.negated();
            case Match.IcmpType t -> t.protocol() == protocol && (icmpType == t.type()) != t.negated();
            default -> false;
        };
    }

    static boolean contains(IpPrefix p, IpAddress a) {
        if (p.address().version() != Objects.requireNonNull(a).version()) {
            return false;
        }
        byte[] net = p.address().bytes();
        byte[] addr = a.bytes();
        for (int bit = 0; bit < p.length(); bit++) {
            int mask = 0x80 >> (bit % 8);
            if ((net[bit / 8] & mask) != (addr[bit / 8] & mask)) {
                return false;
            }
        }
        return true;
    }
}
