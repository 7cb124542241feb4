package org.netvm.vif.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;

import org.junit.jupiter.api.Test;

class ConntrackToolTest {
    @Test
    void oneArgumentListPerDirectionWithTheCanonicalAddress() {
        ConntrackTool t = new ConntrackTool(List.of("ip", "netns", "exec", "ns"), "/usr/sbin/conntrack", 1000);
        assertEquals(List.of(List.of("ip", "netns", "exec", "ns", "/usr/sbin/conntrack", "-D", "-s", "fd00::5"),
                List.of("ip", "netns", "exec", "ns", "/usr/sbin/conntrack", "-D", "-d", "fd00::5")),
                t.commands(FakeKernel.addr("fd00:0:0::5")));
    }

    @Test
    void aMissingToolIsSkipped() {
        new ConntrackTool(List.of(), "/nonexistent/conntrack", 1000).purge(List.of(FakeKernel.addr("10.137.0.5")));
    }

    @Test
    void theListingTellsWhichAddressesHaveEntries() throws Exception {
        String listing = "tcp      6 431999 ESTABLISHED src=10.137.0.5 dst=198.51.100.1 sport=40000 dport=22 "
                + "src=198.51.100.1 dst=10.137.0.5 sport=22 dport=40000 [ASSURED] mark=0 use=1\n"
                + "udp      17 29 src=fd09::5 dst=fd09::1 sport=5353 dport=53 [UNREPLIED] src=fd09::1 dst=fd09::5\n";
        var found = ConntrackTool.addressesIn(listing);
        org.junit.jupiter.api.Assertions.assertTrue(found.contains(java.net.InetAddress.getByName("10.137.0.5")));
        org.junit.jupiter.api.Assertions.assertTrue(found.contains(java.net.InetAddress.getByName("fd09:0:0:0:0:0:0:5")));
        org.junit.jupiter.api.Assertions.assertFalse(found.contains(java.net.InetAddress.getByName("10.137.0.6")));
    }
}
