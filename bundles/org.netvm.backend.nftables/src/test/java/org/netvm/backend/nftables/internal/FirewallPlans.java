package org.netvm.backend.nftables.internal;

import org.netvm.dataplane.Chain;
import org.netvm.dataplane.ChainRef;
import org.netvm.dataplane.Contribution;
import org.netvm.dataplane.Family;
import org.netvm.dataplane.Hook;
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
}
