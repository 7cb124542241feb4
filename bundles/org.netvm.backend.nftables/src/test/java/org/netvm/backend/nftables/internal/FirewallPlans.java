package org.netvm.backend.nftables.internal;

import org.netvm.dataplane.Chain;
import org.netvm.dataplane.ChainRef;
import org.netvm.dataplane.Contribution;
import org.netvm.dataplane.Family;
import org.netvm.dataplane.Hook;
import org.netvm.dataplane.IpAddress;
import org.netvm.dataplane.IpPrefix;
import org.netvm.dataplane.Match.SetKey;
import org.netvm.dataplane.NamedSet;
import org.netvm.dataplane.SetElement;
import org.netvm.dataplane.SetType;
import org.netvm.dataplane.Match.Protocol;
import org.netvm.dataplane.Plan;
import org.netvm.dataplane.Policy;
import org.netvm.dataplane.Priority;
import org.netvm.dataplane.Rule;
import org.netvm.dataplane.Verdict.RejectType;

/** Plans with the model's 1.2 additions (ICMP types, port ranges, reject admin-prohibited; issue 10). */
final class FirewallPlans {
    static final ChainRef INPUT = ChainRef.of(Family.INET, "input");
    static final ChainRef INPUT4 = ChainRef.of(Family.IP, "input4");
    static final ChainRef INPUT6 = ChainRef.of(Family.IP6, "input6");

    private FirewallPlans() {
    }

    /** An input chain (policy accept) that rejects pings and tcp 9-10 from the peer, admin-prohibited. */
    static Plan rejecting() {
        return Plan.merge(Contribution.builder("fw")
                .chain(Chain.filter(Family.INET, INPUT.name(), Hook.INPUT, Priority.FILTER, Policy.ACCEPT))
                .chain(Chain.filter(Family.IP, INPUT4.name(), Hook.INPUT, Priority.FILTER, Policy.ACCEPT))
                .chain(Chain.filter(Family.IP6, INPUT6.name(), Hook.INPUT, Priority.FILTER, Policy.ACCEPT))
                .rule(Rule.in(INPUT).icmpType(Protocol.ICMP, 0).accept())
                .rule(Rule.in(INPUT).saddr("10.99.0.2").protocol(Protocol.ICMP).icmpType(Protocol.ICMP, 8)
                        .counter().reject(RejectType.ADMIN_PROHIBITED))
                .rule(Rule.in(INPUT).icmpType(Protocol.ICMPV6, 128).counter().reject(RejectType.ADMIN_PROHIBITED))
                .rule(Rule.in(INPUT).dport(Protocol.TCP, 9, 10).counter().reject(RejectType.ADMIN_PROHIBITED))
                .rule(Rule.in(INPUT).daddr("10.99.0.0/24").match(
                        org.netvm.dataplane.Match.icmpType(Protocol.ICMP, 3).not()).accept())
                .rule(Rule.in(INPUT4).dport(Protocol.UDP, 7000, 7010).reject(RejectType.ADMIN_PROHIBITED))
                .rule(Rule.in(INPUT6).dport(Protocol.UDP, 7000, 7010).reject(RejectType.ADMIN_PROHIBITED))
                .build());
    }

    /**
     * Key sets (a guest's merged runs, the guest here is the peer 10.99.0.2 / fd99::2): the input chain
     * rejects, admin-prohibited, what its sets hold. Variant 0: tcp 9-10 and udp 7000-7010 to 10.99.0.1, icmp
     * to 10.99.0.0/24, anything to fd98::/16; variant 1 (one guest's change): tcp 11 instead of 9-10, the icmp
     * and IPv6 sets gone, tcp 9 to fd99::1 new. Another source's element (10.99.0.3) never matches the peer.
     */
    static Plan keySets(int variant) {
        IpAddress peer = IpAddress.of("10.99.0.2");
        Contribution.Builder c = Contribution.builder("firewall/3")
                .chain(Chain.filter(Family.INET, INPUT.name(), Hook.INPUT, Priority.FILTER, Policy.ACCEPT));
        NamedSet v4p = NamedSet.of(Family.INET, "fwk-0-4p-x-3", SetType.IPV4_SRC_DST_PROTO_PORT);
        c.set(v4p).element(v4p.ref(), SetElement.key(peer, IpPrefix.parse("10.99.0.1"), Protocol.TCP,
                variant == 0 ? 9 : 11, variant == 0 ? 10 : 11))
                .element(v4p.ref(), SetElement.key(peer, IpPrefix.parse("0.0.0.0/0"), Protocol.UDP, 7000, 7010))
                .element(v4p.ref(), SetElement.key(IpAddress.of("10.99.0.3"), IpPrefix.parse("0.0.0.0/0"),
                        Protocol.TCP, 0, 65535))
                .rule(Rule.in(INPUT).inSet(SetKey.SOURCE_DESTINATION_PROTOCOL_PORT, v4p.name())
                        .reject(RejectType.ADMIN_PROHIBITED));
        if (variant == 0) {
            NamedSet v4 = NamedSet.of(Family.INET, "fwk-0-4-x-3", SetType.IPV4_SRC_DST_PROTO);
            NamedSet v6 = NamedSet.of(Family.INET, "fwk-0-6-x-3", SetType.IPV6_SRC_DST_PROTO);
            IpAddress peer6 = IpAddress.of("fd99::2");
            c.set(v4).element(v4.ref(), SetElement.key(peer, IpPrefix.parse("10.99.0.0/24"), Protocol.ICMP))
                    .rule(Rule.in(INPUT).inSet(SetKey.SOURCE_DESTINATION_PROTOCOL, v4.name())
                            .reject(RejectType.ADMIN_PROHIBITED))
                    .set(v6).element(v6.ref(), SetElement.key(peer6, IpPrefix.parse("fd98::/16"), null))
                    .element(v6.ref(), SetElement.key(peer6, IpPrefix.parse("fd97::1"), null))
                    .rule(Rule.in(INPUT).inSet(SetKey.SOURCE_DESTINATION_PROTOCOL, v6.name())
                            .reject(RejectType.ADMIN_PROHIBITED));
        } else {
            NamedSet v6p = NamedSet.of(Family.INET, "fwk-1-6p-x-3", SetType.IPV6_SRC_DST_PROTO_PORT);
            c.set(v6p).element(v6p.ref(), SetElement.key(IpAddress.of("fd99::2"), IpPrefix.parse("fd99::1"),
                    Protocol.TCP, 9, 9))
                    .rule(Rule.in(INPUT).inSet(SetKey.SOURCE_DESTINATION_PROTOCOL_PORT, v6p.name())
                            .reject(RejectType.ADMIN_PROHIBITED));
        }
        return Plan.merge(c.build());
    }
}
