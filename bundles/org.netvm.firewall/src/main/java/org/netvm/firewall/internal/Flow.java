package org.netvm.firewall.internal;

import java.net.InetAddress;
import java.util.Objects;
import org.netvm.dataplane.ChainRef;
import org.netvm.dataplane.Contribution;
import org.netvm.dataplane.IpAddress;
import org.netvm.dataplane.IpPrefix;
import org.netvm.dataplane.Match;
import org.netvm.dataplane.Match.Protocol;
import org.netvm.dataplane.NamedSet;
import org.netvm.dataplane.Rule;
import org.netvm.dataplane.SetElement;
import org.netvm.dataplane.SetRef;
import org.netvm.dataplane.Verdict;
import org.netvm.kernel.ConntrackEntry;

/**
 * One tracked connection of a guest, from its conntrack entry (ctnetlink), and whether a guest chain still
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

    /** The flow of a conntrack entry; null for a protocol this class does not judge (those are never cut). */
    static Flow of(ConntrackEntry e) {
        Protocol p = switch (e.protocol()) {
            case 6 -> Protocol.TCP;
            case 17 -> Protocol.UDP;
            case 1 -> Protocol.ICMP;
            case 58 -> Protocol.ICMPV6;
            default -> null;
        };
        if (p == null) {
            return null;
        }
        boolean ports = p == Protocol.TCP || p == Protocol.UDP;
        boolean icmp = p == Protocol.ICMP || p == Protocol.ICMPV6;
        return new Flow(p, address(e.original().source()), address(e.original().destination()),
                address(e.reply().source()), ports ? e.original().destinationPort() : 0, icmp ? e.icmpType() : -1);
    }

    private static IpAddress address(InetAddress a) {
        return IpAddress.of(a.getHostAddress());
    }

    /**
     * Whether the rules of a guest chain in {@code guest} (first match wins; a chain ends in a verdict) accept
     * this flow; lookups see the elements of the guest's key sets and of the sets of {@code shared} (the DNS
     * servers, {@link FirewallPlanner#dns}; a set no one declares is empty).
     */
    boolean allowedBy(ChainRef chain, Contribution guest, Contribution shared) {
        for (Rule r : guest.rules()) {
            if (r.chain().equals(chain) && r.matches().stream().allMatch(m -> matches(m, chain, guest, shared))) {
                return r.verdict() instanceof Verdict.Accept;
            }
        }
        return false;
    }

    private boolean matches(Match m, ChainRef chain, Contribution guest, Contribution shared) {
        return switch (m) {
            case Match.Address a -> a.side() == Match.Side.DESTINATION && contains(a.prefix(), dst) != a.negated();
            case Match.L4 l -> (l.protocol() == protocol) != l.negated();
            case Match.Port p -> p.protocol() == protocol && (dport >= p.first() && dport <= p.last()) != p.negated();
            case Match.IcmpType t -> t.protocol() == protocol && (icmpType == t.type()) != t.negated();
            case Match.InSet s when s.key() == Match.SetKey.SOURCE_DESTINATION_PROTOCOL
                    || s.key() == Match.SetKey.SOURCE_DESTINATION_PROTOCOL_PORT -> inSet(s, chain, guest) != s.negated();
            case Match.InSet s when s.key() == Match.SetKey.DESTINATION_ADDRESS ->
                    (inSet(s, chain, guest) || inSet(s, chain, shared)) != s.negated();
            default -> false;
        };
    }

    /**
     * Whether a set of {@code c} holds this flow: a key set its source . destination . protocol [. port], an
     * address set its destination.
     */
    private boolean inSet(Match.InSet s, ChainRef chain, Contribution c) {
        SetRef ref = SetRef.of(chain.family(), s.set());
        NamedSet set = c.sets().stream().filter(x -> x.ref().equals(ref)).findFirst().orElse(null);
        if (set == null || set.type().ipVersion() != dst.version()) {
            return false;
        }
        for (SetElement e : c.elements().getOrDefault(ref, java.util.Collections.emptySortedSet())) {
            if (e.source() == null ? dst.equals(e.address()) : source.equals(e.source()) && contains(e.prefix(), dst)
                    && (e.protocol() == null || e.protocol() == protocol)
                    && (!e.hasPorts() || dport >= e.firstPort() && dport <= e.lastPort())) {
                return true;
            }
        }
        return false;
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
