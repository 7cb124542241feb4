package org.netvm.dns.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.netvm.dataplane.IpAddress;
import org.netvm.dns.internal.Fakes.FakeConntrackTable;
import org.netvm.kernel.ConntrackEntry;
import org.netvm.testing.log.Loggers;

/** Which tracked DNS flows a mapping makes stale, and the cut through a conntrack table. */
class StaleDnsFlowsTest {
    private static final VirtualDns VIRTUAL = VirtualDns.defaults(IpAddress.of("10.139.1.1"), IpAddress.of("10.139.1.2"));
    private static final DnsMapping NOW = DnsMapping.of(VIRTUAL,
            List.of(IpAddress.of("192.168.0.2"), IpAddress.of("9.9.9.9")));
    private static final String GUEST = "10.137.0.5";

    @Test
    void aFlowToAnEarlierUpstreamIsStaleOverUdpAndTcp() {
        assertTrue(StaleDnsFlows.stale(NOW, Fakes.dnsFlow(17, GUEST, 40053, "10.139.1.1", "192.168.0.1")));
        assertTrue(StaleDnsFlows.stale(NOW, Fakes.dnsFlow(6, GUEST, 40053, "10.139.1.1", "192.168.0.1")));
        assertTrue(StaleDnsFlows.stale(NOW, Fakes.dnsFlow(17, GUEST, 40053, "10.139.1.2", "192.168.0.2")),
                "DNS2 now goes to 9.9.9.9, not to DNS1's upstream");
    }

    @Test
    void aFlowNeverTranslatedIsStaleToo() {
        assertTrue(StaleDnsFlows.stale(NOW, Fakes.dnsFlow(17, GUEST, 40053, "10.139.1.1", "10.139.1.1")));
    }

    @Test
    void currentFlowsAndOtherTrafficStay() {
        assertFalse(StaleDnsFlows.stale(NOW, Fakes.dnsFlow(17, GUEST, 40053, "10.139.1.1", "192.168.0.2")));
        assertFalse(StaleDnsFlows.stale(NOW, Fakes.dnsFlow(17, GUEST, 40053, "10.139.1.2", "9.9.9.9")));
        ConntrackEntry.Tuple there = new ConntrackEntry.Tuple(Fakes.ip(GUEST), Fakes.ip("10.139.1.1"), 40000, 5353);
        ConntrackEntry.Tuple back = new ConntrackEntry.Tuple(Fakes.ip("192.168.0.1"), Fakes.ip(GUEST), 5353, 40000);
        assertFalse(StaleDnsFlows.stale(NOW, new ConntrackEntry(17, there, back)), "not port 53");
        assertFalse(StaleDnsFlows.stale(NOW, Fakes.dnsFlow(17, GUEST, 40053, "192.168.0.1", "192.168.0.1")),
                "straight to an upstream, not through a virtual address");
        assertFalse(StaleDnsFlows.stale(NOW, Fakes.dnsFlow(132, GUEST, 40053, "10.139.1.1", "192.168.0.1")),
                "neither UDP nor TCP");
    }

    @Test
    void everyFlowOfADroppedAddressIsStale() {
        DnsMapping none = DnsMapping.of(VIRTUAL, List.of());
        assertTrue(StaleDnsFlows.stale(none, Fakes.dnsFlow(17, GUEST, 40053, "10.139.1.1", "192.168.0.2")));
    }

    @Test
    void aProxysUpstreamThatIsItsOwnVirtualAddressIsCurrent() {
        DnsMapping proxy = DnsMapping.of(VIRTUAL, List.of(IpAddress.of("10.139.1.1")));
        assertFalse(StaleDnsFlows.stale(proxy, Fakes.dnsFlow(17, GUEST, 40053, "10.139.1.1", "10.139.1.1")));
    }

    @Test
    void theCutDeletesTheStaleEntriesOfTheVirtualAddresses() {
        FakeConntrackTable t = new FakeConntrackTable();
        ConntrackEntry stale = Fakes.dnsFlow(17, GUEST, 40053, "10.139.1.1", "192.168.0.1");
        ConntrackEntry current = Fakes.dnsFlow(17, GUEST, 40054, "10.139.1.1", "192.168.0.2");
        t.entries.addAll(List.of(stale, current));
        List<String> log = new ArrayList<>();

        assertEquals(1, new StaleDnsFlows(() -> t, Loggers.recording(log)).cut(NOW));

        assertEquals(List.of(current), t.entries);
        assertEquals(List.of(Fakes.ips("10.139.1.1", "10.139.1.2")), t.deletes);
        assertEquals(1, log.size(), log.toString());
    }

    @Test
    void aFailingTableCutsNothingAndSaysSo() {
        FakeConntrackTable t = new FakeConntrackTable();
        t.failure = new UnsupportedOperationException("no connection tracking access");
        List<String> log = new ArrayList<>();
        assertEquals(0, new StaleDnsFlows(() -> t, Loggers.recording(log)).cut(NOW));
        assertTrue(log.getFirst().startsWith("WARN DNS: tracked flows to earlier upstreams not deleted"), log.toString());
    }
}
