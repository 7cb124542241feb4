package org.netvm.backend.iptables.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.netvm.dataplane.Chain;
import org.netvm.dataplane.ChainRef;
import org.netvm.dataplane.Contribution;
import org.netvm.dataplane.Family;
import org.netvm.dataplane.Hook;
import org.netvm.dataplane.IpAddress;
import org.netvm.dataplane.IpPrefix;
import org.netvm.dataplane.Match;
import org.netvm.dataplane.Match.Protocol;
import org.netvm.dataplane.Match.SetKey;
import org.netvm.dataplane.NamedSet;
import org.netvm.dataplane.Plan;
import org.netvm.dataplane.Policy;
import org.netvm.dataplane.Priority;
import org.netvm.dataplane.Rule;
import org.netvm.dataplane.SetElement;
import org.netvm.dataplane.SetType;
import org.netvm.dataplane.Verdict.RejectType;

/** A key set shared by guests: each guest's chain gets the elements of the sources that reach it. */
class KeySetExpansionTest {
    private static final ChainRef FORWARD = ChainRef.of(Family.INET, "forward");

    @Test
    void aChainReachedOnlyFromHostSourcesGetsOnlyTheirElements() throws Exception {
        NamedSet shared = NamedSet.of(Family.INET, "fwk-0-4p-a-0", SetType.IPV4_SRC_DST_PROTO_PORT);
        Contribution.Builder c = Contribution.builder("firewall")
                .chain(Chain.filter(Family.INET, "forward", Hook.FORWARD, Priority.FILTER, Policy.ACCEPT))
                .set(shared);
        for (String guest : List.of("10.137.0.5", "10.137.0.6")) {
            String chain = "fw-" + guest.substring(guest.lastIndexOf('.') + 1);
            c.chain(Chain.regular(Family.INET, chain))
                    .rule(Rule.in(FORWARD).saddr(guest).jump(chain))
                    .rule(Rule.in(ChainRef.of(Family.INET, chain)).inSet(SetKey.SOURCE_DESTINATION_PROTOCOL_PORT,
                            shared.name()).accept())
                    .rule(Rule.in(ChainRef.of(Family.INET, chain)).reject(RejectType.ADMIN_PROHIBITED));
            for (int port : List.of(80, 443)) {
                c.element(shared.ref(), SetElement.key(IpAddress.of(guest), IpPrefix.parse("192.0.2.0/24"),
                        Protocol.TCP, port, port));
            }
        }
        // a chain also reached without a source match keeps every element
        c.chain(Chain.regular(Family.INET, "any"))
                .rule(Rule.in(FORWARD).jump("any"))
                .rule(Rule.in(ChainRef.of(Family.INET, "any")).inSet(SetKey.SOURCE_DESTINATION_PROTOCOL_PORT,
                        shared.name()).accept());
        Plan expanded = KeySetExpansion.expand(Plan.merge(c.build()));
        assertEquals(List.of("10.137.0.5"), sources(expanded, "fw-5"));
        assertEquals(List.of("10.137.0.6"), sources(expanded, "fw-6"));
        assertEquals(List.of("10.137.0.5", "10.137.0.6"), sources(expanded, "any"));
    }

    /** The distinct source hosts of a chain's expanded accept rules. */
    private static List<String> sources(Plan plan, String chain) {
        return plan.rules().get(ChainRef.of(Family.INET, chain)).stream()
                .filter(r -> r.verdict() instanceof org.netvm.dataplane.Verdict.Accept)
                .flatMap(r -> r.matches().stream())
                .filter(m -> m instanceof Match.Address a && a.side() == Match.Side.SOURCE)
                .map(m -> ((Match.Address) m).prefix().address().toString()).distinct().sorted().toList();
    }
}
