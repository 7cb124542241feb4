package org.netvm.firewall.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.netvm.dataplane.Chain;
import org.netvm.dataplane.ChainRef;
import org.netvm.dataplane.Contribution;
import org.netvm.dataplane.IpAddress;
import org.netvm.dataplane.IpPrefix;
import org.netvm.dataplane.Match;
import org.netvm.dataplane.Match.Protocol;
import org.netvm.dataplane.NamedSet;
import org.netvm.dataplane.Rule;
import org.netvm.dataplane.SetElement;
import org.netvm.dataplane.SetType;
import org.netvm.dataplane.Verdict;
import org.netvm.policy.BasePolicy;

/**
 * Pure: a guest's rules (or the reason it is blocked) → its contribution. Rendered by nftables:
 *
 * <pre>
 * chain forward { ...
 *     iifgroup 2 oifgroup != 2 jump fw-dispatch                    (the guests' addresses → fw-&lt;domid&gt;,
 *                                                                   {@link FirewallDispatch})
 *     iifgroup 2 oifgroup != 2 reject with icmpx admin-prohibited  (order LAST-1: fail closed, {@link #closed})
 *     oifgroup 2 drop; iifgroup 2 oifgroup != 2 accept }           (the base policy's, order LAST)
 * chain fw-3 {
 *     ip saddr . ip daddr . meta l4proto . th dport @fwk-0-4p-a-3 accept  (a run of rules of one verdict, {@link KeyedRuns})
 *     meta l4proto icmp icmp type 8 accept                            (a rule no set key expresses)
 *     ip daddr @fw-dns4 udp dport 53 accept                          (specialtarget=dns, {@link #dns})
 *     ...                                                           (first match wins)
 *     reject with icmpx admin-prohibited }                          (policy drop; accept for policy accept)
 * </pre>
 *
 * Qubes semantics (qubesagent/firewall.py): {@code dstports} without {@code proto} is tcp and udp;
 * {@code proto=icmp} is ICMPv6 for IPv6 destinations (both when the rule has none); {@code specialtarget=dns}
 * is tcp and udp port 53 to the current DNS servers (as the forward hook sees them, after DNAT), left out
 * when it names another port; {@code dsthost} is every address it resolved to; an expired rule is left out.
 * The DNS servers are the elements of two address sets of their own contribution ({@link #dns}), which a
 * guest's {@code specialtarget=dns} rule looks up: a DNS change is an element change, no guest chain changes
 * (with no DNS server the sets are empty and the lookup matches nothing). The dispatch only covers traffic
 * leaving through a non-vif interface, so the base policy's "no guest-to-guest" stays in force whatever the
 * guest's rules accept.
 */
final class FirewallPlanner {
    static final ChainRef FORWARD = BasePolicy.FORWARD;

    private FirewallPlanner() {
    }

    /** Owner id of the guest's contribution. */
    static String owner(int domid) {
        return "firewall/" + domid;
    }

    /** Owner id of the DNS servers' sets ({@link #dns}). */
    static final String DNS_OWNER = "firewall/dns";
    /** The IPv4 DNS servers. */
    static final NamedSet DNS4 = NamedSet.of(BasePolicy.FAMILY, "fw-dns4", SetType.IPV4_ADDR);
    /** The IPv6 DNS servers. */
    static final NamedSet DNS6 = NamedSet.of(BasePolicy.FAMILY, "fw-dns6", SetType.IPV6_ADDR);

    static String chain(int domid) {
        return "fw-" + domid;
    }

    /**
     * What the firewall needs to know to plan one guest.
     *
     * @param domid     the guest's domain id
     * @param rules     its rules, or null if it is blocked
     * @param resolved  every {@code dsthost} name of the rules → its addresses
     * @param now       unix seconds, for {@code expire}
     * @param addresses the guest's addresses (the sources of its elements in the key sets)
     */
    record Input(int domid, GuestRules rules, Map<String, List<IpAddress>> resolved, long now,
            List<IpAddress> addresses) {
    }

    /** The catch-all of an enabled firewall: vif traffic to the uplink that no guest chain took is refused. */
    static Contribution closed() {
        return Contribution.builder("firewall").rule(Rule.in(FORWARD).order(Rule.LAST - 1)
                .iifgroup(BasePolicy.VIF_GROUP).not(Match.oifgroup(BasePolicy.VIF_GROUP)).counter()
                .reject(Verdict.RejectType.ADMIN_PROHIBITED)).build();
    }

    /**
     * The DNS servers guests reach through DNS1/DNS2 (after DNAT) as the elements of {@link #DNS4} and
     * {@link #DNS6}, which the guests' {@code specialtarget=dns} rules look up. Put while the firewall is
     * enabled; a DNS change puts this contribution only.
     */
    static Contribution dns(List<IpAddress> servers) {
        Contribution.Builder b = Contribution.builder(DNS_OWNER).set(DNS4).set(DNS6);
        for (IpAddress a : servers) {
            b.element((a.version() == 4 ? DNS4 : DNS6).ref(), new SetElement(null, a));
        }
        return b.build();
    }

    /** The set of DNS servers of IP version {@code version}. */
    static NamedSet dnsSet(int version) {
        return version == 4 ? DNS4 : DNS6;
    }

    /**
     * The guest's contribution: its chain (the jumps to it are {@link FirewallDispatch}'s) and its elements
     * in the key sets. A rule change touches this chain and those elements only.
     */
    static Contribution plan(Input in) {
        ChainRef chain = ChainRef.of(BasePolicy.FAMILY, chain(in.domid()));
        Contribution.Builder b = Contribution.builder(owner(in.domid())).chain(Chain.regular(chain.family(),
                chain.name()));
        List<Rule> rules = plainRules(in);
        declareDnsSets(rules, b);
        KeyedRuns.merge(in.domid(), chain, in.addresses(), rules.subList(0, rules.size() - 1), b);
        return b.rule(rules.getLast()).build(); // the policy
    }

    /**
     * Declares the DNS sets the rules look up (as {@link #dns} does: identical declarations merge), so the
     * guest never depends on another contribution's declaration; their elements come from {@link #dns}.
     */
    private static void declareDnsSets(List<Rule> rules, Contribution.Builder b) {
        for (NamedSet set : List.of(DNS4, DNS6)) {
            if (rules.stream().anyMatch(r -> r.matches().stream().anyMatch(m -> m instanceof Match.InSet s
                    && s.set().equals(set.name())))) {
                b.set(set);
            }
        }
    }

    /**
     * The guest chain's rules one by one, as Qubes writes them (what {@link #plan} merges into key sets), the
     * policy last.
     */
    static List<Rule> plainRules(Input in) {
        ChainRef chain = ChainRef.of(BasePolicy.FAMILY, chain(in.domid()));
        List<Rule> out = new ArrayList<>();
        boolean policyAccept = false;
        if (in.rules() != null) {
            for (FirewallRule r : in.rules().rules()) {
                if (!r.expiredAt(in.now())) {
                    out.addAll(expand(in, chain, r));
                }
            }
            policyAccept = in.rules().policyAccept();
        }
        out.add(policyAccept ? Rule.in(chain).accept() : Rule.in(chain).reject(Verdict.RejectType.ADMIN_PROHIBITED));
        return out;
    }

    /** The earliest {@code expire} after {@code now} of the rules, or 0 if none. */
    static long nextExpiry(GuestRules rules, long now) {
        return rules == null ? 0 : rules.rules().stream().mapToLong(FirewallRule::expire).filter(e -> e > now)
                .min().orElse(0);
    }

    /** One Qubes rule as model rules (none, one or several). */
    static List<Rule> expand(Input in, ChainRef chain, FirewallRule r) {
        List<IpPrefix> dsts = destinations(in, r);
        List<Protocol> protos = protocols(r);
        if (dsts == null || protos == null) {
            return List.of(); // can never match (Qubes leaves it out)
        }
        if (r.dns()) {
            return dnsRules(in, chain, r, dsts, protos);
        }
        List<Rule> out = new ArrayList<>();
        for (IpPrefix dst : dsts.isEmpty() ? java.util.Collections.<IpPrefix>singletonList(null) : dsts) {
            for (Protocol p : protos.isEmpty() ? java.util.Collections.<Protocol>singletonList(null) : protos) {
                if (p == Protocol.ICMP && dst == null) {
                    out.add(one(chain, r, null, Protocol.ICMP));
                    out.add(one(chain, r, null, Protocol.ICMPV6));
                } else {
                    out.add(one(chain, r, dst, p == Protocol.ICMP && dst.address().version() == 6
                            ? Protocol.ICMPV6 : p));
                }
            }
        }
        return out;
    }

    /** A {@code specialtarget=dns} rule: per destination (or any), IP version and protocol. */
    private static List<Rule> dnsRules(Input in, ChainRef chain, FirewallRule r, List<IpPrefix> dsts,
            List<Protocol> protos) {
        List<Rule> out = new ArrayList<>();
        for (IpPrefix dst : dsts.isEmpty() ? java.util.Collections.<IpPrefix>singletonList(null) : dsts) {
            for (int version : dst == null ? versions(in.addresses()) : new int[] {dst.version()}) {
                for (Protocol p : protos) {
                    out.add(dnsRule(chain, r, dst, version, p));
                }
            }
        }
        return out;
    }

    /**
     * The IP versions of the guest's addresses (both if it has none yet): its chain only sees packets from
     * them (the dispatch), so a DNS lookup of another version could never match.
     */
    private static int[] versions(List<IpAddress> addresses) {
        boolean v4 = addresses.stream().anyMatch(a -> a.version() == 4);
        boolean v6 = addresses.stream().anyMatch(a -> a.version() == 6);
        return v4 == v6 ? new int[] {4, 6} : new int[] {v4 ? 4 : 6};
    }

    /** Destination prefixes (empty: any), or null if the rule can never match. */
    private static List<IpPrefix> destinations(Input in, FirewallRule r) {
        List<IpPrefix> dsts = new ArrayList<>();
        if (r.dst() != null) {
            dsts.add(r.dst());
        } else if (r.dsthost() != null) {
            in.resolved().getOrDefault(r.dsthost(), List.of()).forEach(a -> dsts.add(IpPrefix.host(a)));
            if (dsts.isEmpty()) {
                return null;
            }
        }
        return dsts;
    }

    /** Protocols (empty: any), or null if the rule can never match. */
    private static List<Protocol> protocols(FirewallRule r) {
        if (r.dns()) {
            if (r.hasPorts() && (r.firstPort() > 53 || r.lastPort() < 53) || r.proto() == FirewallRule.Proto.ICMP) {
                return null;
            }
            return r.proto() == null ? List.of(Protocol.TCP, Protocol.UDP) : List.of(protocol(r.proto()));
        }
        if (r.proto() != null) {
            return List.of(protocol(r.proto()));
        }
        return r.hasPorts() ? List.of(Protocol.TCP, Protocol.UDP) : List.of();
    }

    private static Protocol protocol(FirewallRule.Proto p) {
        return switch (p) {
            case TCP -> Protocol.TCP;
            case UDP -> Protocol.UDP;
            case ICMP -> Protocol.ICMP;
        };
    }

    /**
     * A {@code specialtarget=dns} rule for one IP version and protocol: the destination in that version's DNS
     * set (and in {@code dst}, if the rule restricts it), port 53.
     */
    private static Rule dnsRule(ChainRef chain, FirewallRule r, IpPrefix dst, int version, Protocol p) {
        Rule.Builder b = Rule.in(chain);
        if (dst != null) {
            b.match(new Match.Address(Match.Side.DESTINATION, dst, false));
        }
        b.inSet(Match.SetKey.DESTINATION_ADDRESS, dnsSet(version).name()).dport(p, 53);
        return r.accept() ? b.accept() : b.reject(Verdict.RejectType.ADMIN_PROHIBITED);
    }

    private static Rule one(ChainRef chain, FirewallRule r, IpPrefix dst, Protocol p) {
        Rule.Builder b = Rule.in(chain);
        if (dst != null) {
            b.match(new Match.Address(Match.Side.DESTINATION, dst, false));
        }
        if (p == Protocol.TCP || p == Protocol.UDP) {
            if (r.hasPorts()) {
                b.dport(p, r.firstPort(), r.lastPort());
            } else {
                b.protocol(p);
            }
        } else if (p != null) {
            b.protocol(p);
            if (r.icmpType() >= 0) {
                b.icmpType(p, r.icmpType());
            }
        }
        return r.accept() ? b.accept() : b.reject(Verdict.RejectType.ADMIN_PROHIBITED);
    }
}
