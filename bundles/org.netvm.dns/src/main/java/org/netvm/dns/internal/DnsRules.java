package org.netvm.dns.internal;

import java.util.List;

import org.netvm.dataplane.Chain;
import org.netvm.dataplane.ChainRef;
import org.netvm.dataplane.Contribution;
import org.netvm.dataplane.Family;
import org.netvm.dataplane.Hook;
import org.netvm.dataplane.Match;
import org.netvm.dataplane.Priority;
import org.netvm.dataplane.Rule;
import org.netvm.dataplane.Verdict;

/**
 * A {@link DnsMapping} as the dataplane contribution of owner {@value #OWNER}: its own nat chain
 * {@code ip dnat-dns} at prerouting, priority dstnat, and per virtual address a UDP then a TCP rule:
 *
 * <pre>
 * ip daddr 10.139.1.1 udp dport 53 dnat to 192.168.0.1
 * ip daddr 10.139.1.1 tcp dport 53 dnat to 192.168.0.1
 * ip daddr 10.139.1.2 udp dport 53 dnat to 9.9.9.9
 * ip daddr 10.139.1.2 tcp dport 53 dnat to 9.9.9.9
 * </pre>
 *
 * or {@code drop} in place of {@code dnat to ...}. The whole contribution replaces the previous one in
 * one dataplane transaction, so the chain is never missing, half-filled or doubled.
 */
final class DnsRules {
    static final String OWNER = "dns";
    static final ChainRef CHAIN = ChainRef.of(Family.IP, "dnat-dns");
    static final int PORT = 53;

    private DnsRules() {
    }

    static Contribution contribution(DnsMapping mapping) {
        Contribution.Builder b = Contribution.builder(OWNER)
                .chain(Chain.nat(CHAIN.family(), CHAIN.name(), Hook.PREROUTING, Priority.DSTNAT));
        for (DnsMapping.Entry e : mapping.entries()) {
            for (Match.Protocol p : List.of(Match.Protocol.UDP, Match.Protocol.TCP)) {
                Rule.Builder r = Rule.in(CHAIN).daddr(e.virtual().text()).dport(p, PORT);
                b.rule(e.upstream() == null ? r.drop() : r.verdict(new Verdict.Dnat(e.upstream(), 0)));
            }
        }
        return b.build();
    }
}
