package org.netvm.firewall.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.netvm.dataplane.ChainRef;
import org.netvm.dataplane.Contribution;
import org.netvm.dataplane.Family;
import org.netvm.dataplane.IpAddress;
import org.netvm.kernel.ConntrackEntry;
import org.netvm.kernel.ConntrackEntry.Tuple;

/** Which tracked flows a new rule set still allows (the conntrack cut after a change). */
class FlowTest {
    static final ConntrackEntry DNAT_DNS = new ConntrackEntry(17,
            new Tuple(ip("10.137.0.5"), ip("10.139.1.1"), 5353, 53),
            new Tuple(ip("192.168.0.1"), ip("10.137.0.5"), 53, 5353));
    static final ConntrackEntry WEB = new ConntrackEntry(6,
            new Tuple(ip("10.137.0.5"), ip("93.184.216.34"), 40000, 443),
            new Tuple(ip("93.184.216.34"), ip("10.137.0.5"), 443, 40000));
    static final ConntrackEntry PING = new ConntrackEntry(1,
            new Tuple(ip("10.137.0.5"), ip("198.51.100.5"), 0, 0),
            new Tuple(ip("198.51.100.5"), ip("10.137.0.5"), 0, 0), 8);

    static InetAddress ip(String text) {
        return KernelConntrack.inet(IpAddress.of(text));
    }

    @Test
    void takesTheDestinationAfterDnat() {
        Flow f = Flow.of(DNAT_DNS);
        assertEquals(IpAddress.of("10.137.0.5"), f.source());
        assertEquals(IpAddress.of("10.139.1.1"), f.origDst());
        assertEquals(IpAddress.of("192.168.0.1"), f.dst());
        assertEquals(53, f.dport());
        assertEquals(8, Flow.of(PING).icmpType());
        assertNull(Flow.of(new ConntrackEntry(132, new Tuple(ip("1.2.3.4"), ip("1.2.3.5"), 1, 2),
                new Tuple(ip("1.2.3.5"), ip("1.2.3.4"), 2, 1))), "sctp is not judged");
    }

    @Test
    void firstMatchOfTheNewChainDecides() throws Exception {
        GuestRules rules = RuleParser.parse(Map.of("policy", "drop", "0000", "action=accept specialtarget=dns",
                "0001", "action=accept proto=tcp dstports=80", "0002", "action=accept proto=icmp icmptype=8"));
        Contribution c = FirewallPlanner.plan(new FirewallPlanner.Input(3, rules, Map.of(), 0,
                List.of(IpAddress.of("10.137.0.5"))));
        Contribution dns = FirewallPlanner.dns(List.of(IpAddress.of("192.168.0.1")));
        ChainRef chain = ChainRef.of(Family.INET, "fw-3");
        assertTrue(Flow.of(DNAT_DNS).allowedBy(chain, c, dns));
        assertFalse(Flow.of(WEB).allowedBy(chain, c, dns));
        assertTrue(Flow.of(PING).allowedBy(chain, c, dns), "icmptype=8 allows the echo request's entry");
    }

    @Test
    void theDnsLookupSeesTheCurrentServers() throws Exception {
        GuestRules rules = RuleParser.parse(Map.of("policy", "drop", "0000", "action=accept specialtarget=dns"));
        Contribution c = FirewallPlanner.plan(new FirewallPlanner.Input(3, rules, Map.of(), 0,
                List.of(IpAddress.of("10.137.0.5"))));
        ChainRef chain = ChainRef.of(Family.INET, "fw-3");
        assertFalse(Flow.of(DNAT_DNS).allowedBy(chain, c, FirewallPlanner.dns(List.of())), "no DNS server");
        assertFalse(Flow.of(DNAT_DNS).allowedBy(chain, c, FirewallPlanner.dns(List.of(IpAddress.of("9.9.9.9")))),
                "another server");
        assertTrue(Flow.of(DNAT_DNS).allowedBy(chain, c, FirewallPlanner.dns(List.of(IpAddress.of("fd00::1"),
                IpAddress.of("192.168.0.1")))));
    }
}
