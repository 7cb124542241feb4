package org.netvm.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.netvm.testing.netns.Netns;

/**
 * The conntrack table through ctnetlink against the real kernel: a namespace with connection tracking
 * on (one nft rule) and two peer namespaces whose pings and UDP datagrams create entries; the seam
 * deletes the entries of one address and leaves the others. Skipped unless root with nft and ping.
 */
class ConntrackNetnsTest {
    private static final InetAddress A = IpPrefix.parseAddress("10.137.0.5");
    private static final InetAddress B = IpPrefix.parseAddress("10.137.1.5");
    private static final InetAddress A6 = IpPrefix.parseAddress("fd09:24ef:4179::a89:5");

    private Netns ns;
    private Netns a;
    private Netns b;
    private CloseableKernel kernel;

    @BeforeEach
    void setUp() throws KernelException {
        Netns.assumeUsable("nft", "ping");
        ns = Netns.create("ct");
        a = ns.peer("cta");
        b = ns.peer("ctb");
        ns.veth("vif3.0", "10.137.0.1/24", a, "eth0", "10.137.0.5/24");
        ns.veth("vif4.0", "10.137.1.1/24", b, "eth0", "10.137.1.5/24");
        ns.address("vif3.0", "fd09:24ef:4179::a89:1/64");
        a.address("eth0", "fd09:24ef:4179::a89:5/64");
        ns.ok("nft", "add table inet cttest; add chain inet cttest input { type filter hook input priority 0; };"
                + " add rule inet cttest input ct state new counter");
        kernel = Kernels.open(ns.name());
    }

    @AfterEach
    void tearDown() {
        if (kernel != null) {
            kernel.close();
        }
        if (ns != null) {
            ns.close();
        }
    }

    private void traffic() {
        a.ok("ping", "-c", "1", "-W", "2", "10.137.0.1");
        a.ok("ping", "-c", "1", "-W", "2", "fd09:24ef:4179::a89:1");
        b.ok("ping", "-c", "1", "-W", "2", "10.137.1.1");
        // a UDP datagram to a closed port still creates an entry with ports
        a.exec("bash", "-c", "echo x > /dev/udp/10.137.0.1/5353");
    }

    @Test
    void deletesTheEntriesOfOneAddressAndLeavesTheOthers() throws KernelException {
        traffic();
        List<ConntrackEntry> ofA = kernel.conntrack().entries(List.of(A, A6));
        assertTrue(ofA.stream().anyMatch(e -> e.protocol() == 1), "ICMP entry of A: " + ofA);
        assertTrue(ofA.stream().anyMatch(e -> e.protocol() == 58), "ICMPv6 entry of A: " + ofA);
        assertTrue(ofA.stream().anyMatch(e -> e.protocol() == 17 && e.original().destinationPort() == 5353), "UDP: " + ofA);
        assertTrue(ofA.stream().allMatch(e -> e.involves(A) || e.involves(A6)), ofA.toString());
        assertEquals(1, kernel.conntrack().entries(B).size(), "B's ping");

        int deleted = kernel.conntrack().delete(List.of(A, A6));

        assertEquals(ofA.size(), deleted);
        assertEquals(List.of(), kernel.conntrack().entries(List.of(A, A6)));
        assertEquals(1, kernel.conntrack().entries(B).size(), "B's entry stays");
    }

    @Test
    void deletesOnlyTheFlowsTheCallerChooses() throws KernelException {
        traffic();
        int deleted = kernel.conntrack().delete(List.of(A), e -> e.protocol() == 17);
        assertEquals(1, deleted);
        List<ConntrackEntry> left = kernel.conntrack().entries(A);
        assertFalse(left.isEmpty());
        assertTrue(left.stream().noneMatch(e -> e.protocol() == 17), left.toString());
    }

    @Test
    void icmpEntriesCarryTheTypeOfTheirFirstPacket() throws KernelException {
        traffic();
        List<ConntrackEntry> ofA = kernel.conntrack().entries(List.of(A, A6));
        assertTrue(ofA.stream().anyMatch(e -> e.protocol() == 1 && e.icmpType() == 8), "echo request: " + ofA);
        assertTrue(ofA.stream().anyMatch(e -> e.protocol() == 58 && e.icmpType() == 128), "ICMPv6 echo request: " + ofA);
        assertTrue(ofA.stream().filter(e -> e.protocol() == 17).allMatch(e -> e.icmpType() == -1), ofA.toString());
    }

    @Test
    void anAddressWithoutEntriesDeletesNothing() throws KernelException {
        traffic();
        assertEquals(0, kernel.conntrack().delete(IpPrefix.parseAddress("10.137.0.77")));
        assertEquals(1, kernel.conntrack().entries(B).size());
    }

    @Test
    void anEmptyTableDeletesNothingAndEntriesMadeLaterAreFound() throws KernelException {
        assertEquals("0", ns.ok("cat", "/proc/sys/net/netfilter/nf_conntrack_count").trim(), "a new namespace");
        assertEquals(List.of(), kernel.conntrack().entries(List.of(A, A6)));
        assertEquals(0, kernel.conntrack().delete(List.of(A, A6)));
        traffic();
        assertFalse(kernel.conntrack().entries(A).isEmpty(), "the count is read by every call");
        assertTrue(kernel.conntrack().delete(List.of(A, A6)) > 0);
    }
}
