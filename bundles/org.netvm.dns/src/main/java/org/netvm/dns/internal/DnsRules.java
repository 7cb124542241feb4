package org.netvm.dns.internal;

import java.util.List;

import org.netvm.dataplane.Chain;
import org.netvm.dataplane.ChainRef;
import org.netvm.dataplane.Contribution;
import org.netvm.dataplane.Family;
import org.netvm.dataplane.Hook;
import org.netvm.dataplane.Match;
import org.netvm.dataplane.Policy;
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
 * A virtual address without an upstream has no nat rule; its queries are dropped by a filter chain
 * {@code ip dns-guard} at forward ({@code ip daddr 10.139.1.1 udp dport 53 drop}), because a nat table
 * cannot filter on every backend (iptables refuses DROP in its nat table). The guard holds rules only
 * for those addresses: a translated query may well go to the same address again (a proxy VM's
 * upstream is its netvm's DNS1). The whole contribution replaces the previous one in one dataplane
 * transaction, so no chain is ever missing, half-filled or doubled.
 */
final class DnsRules {
    static final String OWNER = "dns";
    static final ChainRef CHAIN = ChainRef.of(Family.IP, "dnat-dns");
    static final ChainRef GUARD = ChainRef.of(Family.IP, "dns-guard");
    static final int PORT = 53;

    private DnsRules() {
    }

    static Contribution contribution(DnsMapping mapping) {
        Contribution.Builder b = Contribution.builder(OWNER)
                .chain(Chain.nat(CHAIN.family(), CHAIN.name(), Hook.PREROUTING, Priority.DSTNAT))
                .chain(Chain.filter(GUARD.family(), GUARD.name(), Hook.FORWARD, Priority.FILTER, Policy.ACCEPT));
        for (DnsMapping.Entry e : mapping.entries()) {
            for (Match.Protocol p : List.of(Match.Protocol.UDP, Match.Protocol.TCP)) {
                if (e.upstream() != null) {
                    b.rule(Rule.in(CHAIN).daddr(e.virtual().text()).dport(p, PORT)
                            .verdict(new Verdict.Dnat(e.upstream(), 0)));
                }
            }
        }
        for (DnsMapping.Entry e : mapping.entries()) {
            for (Match.Protocol p : List.of(Match.Protocol.UDP, Match.Protocol.TCP)) {
                if (e.upstream() == null) {
                    b.rule(Rule.in(GUARD).daddr(e.virtual().text()).dport(p, PORT).drop());
                }
            }
        }
        return b.build();
    }
}
