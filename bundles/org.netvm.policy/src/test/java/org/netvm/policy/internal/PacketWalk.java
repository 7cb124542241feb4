package org.netvm.policy.internal;

import java.util.Arrays;
import java.util.Optional;

import org.netvm.dataplane.Chain;
import org.netvm.dataplane.ChainRef;
import org.netvm.dataplane.IpAddress;
import org.netvm.dataplane.IpPrefix;
import org.netvm.dataplane.Match;
import org.netvm.dataplane.Plan;
import org.netvm.dataplane.Rule;
import org.netvm.dataplane.SetElement;
import org.netvm.dataplane.SetRef;
import org.netvm.dataplane.Verdict;

/**
 * A tiny netfilter interpreter for tests: walks one base chain of a {@link Plan} for one packet the
 * way nftables would (jump/goto/return, negation, IPv4 matches never matching IPv6 packets) and tells
 * the verdict. It knows only what the model can express.
 */
final class PacketWalk {

    /** A packet as the chains see it; {@code oif} empty in prerouting/input. */
    record Packet(String iif, int iifgroup, String oif, int oifgroup, String src, String dst,
            Match.Protocol protocol, int dport, Match.CtState ct) {

        static Packet of(String iif, int iifgroup, String src, String dst, Match.Protocol p, int dport,
                Match.CtState ct) {
            return new Packet(iif, iifgroup, "", 0, src, dst, p, dport, ct);
        }

        Packet out(String oif, int oifgroup) {
            return new Packet(iif, iifgroup, oif, oifgroup, src, dst, protocol, dport, ct);
        }

        int version() {
            return IpAddress.of(src).version();
        }
    }

    private final Plan plan;

    PacketWalk(Plan plan) {
        this.plan = plan;
    }

    /** The verdict of base chain {@code chain} for {@code p}: the first terminal verdict, else its policy. */
    Verdict verdict(ChainRef chain, Packet p) {
        Chain c = plan.chain(chain).orElseThrow();
        if (!c.isBase()) {
            throw new IllegalArgumentException(chain + " is no base chain");
        }
        return walk(chain, p, 0).orElse(switch (c.base().policy()) {
            case ACCEPT -> Verdict.ACCEPT;
            case DROP -> Verdict.DROP;
        });
    }

    /** Empty: fell off the end or returned. */
    private Optional<Verdict> walk(ChainRef chain, Packet p, int depth) {
        if (depth > 16) {
            throw new IllegalStateException("chain loop at " + chain);
        }
        for (Rule r : plan.rules(chain)) {
            if (!r.matches().stream().allMatch(m -> matches(chain, m, p))) {
                continue;
            }
            switch (r.verdict()) {
                case Verdict.Jump j -> {
                    Optional<Verdict> v = walk(ChainRef.of(chain.family(), j.chain()), p, depth + 1);
                    if (v.isPresent()) {
                        return v;
                    }
                }
                case Verdict.Goto g -> {
                    return walk(ChainRef.of(chain.family(), g.chain()), p, depth + 1);
                }
                case Verdict.Return ret -> {
                    return Optional.empty();
                }
                default -> {
                    return Optional.of(r.verdict());
                }
            }
        }
        return Optional.empty();
    }

    private boolean matches(ChainRef chain, Match m, Packet p) {
        return switch (m) {
            case Match.Interface i -> {
                String name = i.direction() == Match.Direction.INPUT ? p.iif() : p.oif();
                boolean hit = i.name().endsWith("*") ? name.startsWith(i.name().substring(0, i.name().length() - 1))
                        : name.equals(i.name());
                yield hit != i.negated();
            }
            case Match.InterfaceGroup g -> ((g.direction() == Match.Direction.INPUT ? p.iifgroup() : p.oifgroup())
                    == g.group()) != g.negated();
            case Match.Address a -> {
                String addr = a.side() == Match.Side.SOURCE ? p.src() : p.dst();
                yield a.prefix().version() == p.version() && contains(a.prefix(), IpAddress.of(addr)) != a.negated();
            }
            case Match.L4 l -> (l.protocol() == p.protocol()) != l.negated();
            case Match.Port port -> port.protocol() == p.protocol()
                    && (p.dport() >= port.first() && p.dport() <= port.last()) != port.negated();
            case Match.IcmpType t -> false; // the base policy matches no ICMP type; the walk carries none
            case Match.Conntrack c -> c.states().contains(p.ct()) != c.negated();
            case Match.InSet s -> {
                var set = plan.set(SetRef.of(chain.family(), s.set())).orElseThrow();
                if (set.type().ipVersion() != p.version()) {
                    yield false;
                }
                String addr = switch (s.key()) {
                    case SOURCE_ADDRESS, IIFNAME_SOURCE_ADDRESS -> p.src();
                    case DESTINATION_ADDRESS, OIFNAME_DESTINATION_ADDRESS -> p.dst();
                    case SOURCE_DESTINATION_PROTOCOL, SOURCE_DESTINATION_PROTOCOL_PORT ->
                            throw new IllegalStateException("the base policy has no key sets (the firewall's)");
                };
                String ifname = switch (s.key()) {
                    case IIFNAME_SOURCE_ADDRESS -> p.iif();
                    case OIFNAME_DESTINATION_ADDRESS -> p.oif();
                    default -> null;
                };
                boolean hit = plan.elements(set.ref()).contains(new SetElement(ifname, IpAddress.of(addr)));
                yield hit != s.negated();
            }
        };
    }

    private static boolean contains(IpPrefix prefix, IpAddress a) {
        byte[] net = prefix.address().bytes();
        byte[] x = a.bytes();
        if (net.length != x.length) {
            return false;
        }
        int full = prefix.length() / 8;
        if (!Arrays.equals(net, 0, full, x, 0, full)) {
            return false;
        }
        int rest = prefix.length() % 8;
        if (rest == 0) {
            return true;
        }
        int mask = 0xff << (8 - rest) & 0xff;
        return (net[full] & mask) == (x[full] & mask);
    }
}
