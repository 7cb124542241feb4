package org.netvm.vif.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.netvm.kernel.CloseableKernel;
import org.netvm.kernel.Kernels;
import org.netvm.testing.netns.Netns;
import org.netvm.testing.xenstore.FakeXenStore;
import org.netvm.vif.VifState.Actual;

/**
 * The vif lifecycle against the real kernel: a netvm namespace holding {@code vif3.0}, veth peer of
 * {@code eth0} in a guest namespace; the reconciler programs the netvm namespace through a
 * {@link Kernels#open kernel bound to it} (fake xenstore and dataplane, the namespace's conntrack
 * table through the same seam). Checked with {@code ip -n NS ...} as a user would. Skipped unless root.
 */
class VifNetnsTest {
    private Netns netvm;
    private Netns guest;
    private CloseableKernel kernel;
    private VifReconciler reconciler;
    private final List<String> trace = new CopyOnWriteArrayList<>();
    private final FakeXenStore xs = new FakeXenStore();

    @BeforeEach
    void setUp() throws Exception {
        Netns.assumeUsable();
        netvm = Netns.create("vif");
        guest = netvm.peer("vifg");
        netvm.veth("vif3.0", guest, "eth0");
        guest.ip("link", "set", "eth0", "address", Rig.MAC);
        guest.up("eth0"); // a running guest: the vif has carrier once it is up
        kernel = Kernels.open(netvm.name());
        reconciler = new VifReconciler(kernel, xs, new FakeAntiSpoof(trace),
                new KernelConntrack(kernel), new HookRunner(() -> 1000L),
                new VifReconciler.Settings("backend/vif", 60_000, 0, 2_000), Clock.systemUTC());
        xs.put(VifReconciler.GATEWAY_KEY, "10.137.0.1");
        reconciler.subscribe();
    }

    @AfterEach
    void tearDown() {
        if (reconciler != null) {
            reconciler.stop();
        }
        if (kernel != null) {
            kernel.close();
        }
        if (netvm != null) {
            netvm.close(); // and its peer, the guest
        }
    }

    @Test
    void onlineProgramsWhatVifRouteQubesDoesAndOfflineRemovesIt() throws Exception {
        xs.putVif(3, 0, "10.137.0.5", Rig.MAC);
        assertTrue(reconciler.pass(true));
        assertEquals(Actual.PROGRAMMED, reconciler.vif("vif3.0").orElseThrow().actual(),
                () -> String.valueOf(reconciler.vif("vif3.0")));

        assertEquals("10.137.0.5 dev vif3.0 proto netvm scope link metric 32749",
                netvm.ip("route", "show", "10.137.0.5").trim().replace("proto 110", "proto netvm"));
        assertEquals("10.137.0.5 lladdr 00:16:3e:5e:6c:00 PERMANENT",
                netvm.ip("neigh", "show", "dev", "vif3.0").trim());
        assertEquals("1", netvm.ok("cat", "/proc/sys/net/ipv4/conf/vif3.0/proxy_arp").trim());
        assertEquals("1", netvm.ok("cat", "/proc/sys/net/ipv6/conf/vif3.0/disable_ipv6").trim(),
                "issue 11: IPv6 off on the vif of an IPv4-only guest");
        String link = netvm.ip("link", "show", "vif3.0");
        assertTrue(link.contains(",UP") && link.contains(" group 2 "), link);
        String addr = netvm.ip("-4", "addr", "show", "dev", "vif3.0");
        assertTrue(addr.contains("inet 10.137.0.1/32 scope global vif3.0"), addr);

        // the guest reaches its gateway through what was programmed (traffic stays in our namespaces)
        guest.ip("addr", "add", "10.137.0.5/32", "dev", "eth0");
        guest.ip("route", "add", "10.137.0.1", "dev", "eth0", "scope", "link");
        guest.ok("ping", "-c", "1", "-W", "5", "10.137.0.1");

        // a resync finds nothing to do
        long batches = reconciler.counters().batches();
        assertTrue(reconciler.pass(true));
        assertEquals(batches, reconciler.counters().batches(), "a resync of a programmed vif writes nothing");

        // offline while the device still exists: everything netvm programmed is gone
        reconciler.hotplug(VifName.parse("vif3.0").orElseThrow(), VifReconciler.Intent.OFFLINE);
        assertTrue(reconciler.pass(false));
        assertEquals(Actual.ABSENT, reconciler.vif("vif3.0").orElseThrow().actual());
        assertEquals("", netvm.ip("route", "show", "10.137.0.5").trim());
        assertEquals("", netvm.ip("neigh", "show", "dev", "vif3.0").trim());
        assertFalse(netvm.ip("-4", "addr", "show", "dev", "vif3.0").contains("10.137.0.1"));
        assertTrue(trace.contains("dataplane remove vif/vif3.0"), trace.toString());
    }

    @Test
    void ipv6GuestAndAVanishedDevice() throws Exception {
        xs.put(VifReconciler.GATEWAY6_KEY, "fd09:24ef:4179::a89:1");
        xs.putVif(3, 0, "10.137.0.5 fd09:24ef:4179::a89:5", Rig.MAC);
        assertTrue(reconciler.pass(true));
        assertEquals(Actual.PROGRAMMED, reconciler.vif("vif3.0").orElseThrow().actual(),
                () -> String.valueOf(reconciler.vif("vif3.0")));
        assertTrue(netvm.ip("-6", "route", "show", "fd09:24ef:4179::a89:5").contains("dev vif3.0"));
        assertTrue(netvm.ip("-6", "neigh", "show", "dev", "vif3.0").contains("PERMANENT"));
        assertEquals("1", netvm.ok("cat", "/proc/sys/net/ipv6/conf/vif3.0/proxy_ndp").trim());
        assertEquals("0", netvm.ok("cat", "/proc/sys/net/ipv6/conf/vif3.0/disable_ipv6").trim());
        String addr6 = netvm.ip("-6", "addr", "show", "dev", "vif3.0");
        assertTrue(addr6.contains("inet6 fd09:24ef:4179::a89:1/128"), addr6);

        netvm.ip("link", "del", "vif3.0");
        xs.remove("backend/vif/3");
        assertTrue(reconciler.pass(false));
        assertTrue(reconciler.vif("vif3.0").isEmpty(), () -> String.valueOf(reconciler.vif("vif3.0")));
        assertEquals("", netvm.ip("route", "show", "proto", "110").trim());
    }

    /**
     * A new guest inherits no connection state of its address: entries made by real traffic of an
     * earlier holder of 10.137.0.5 are gone once the vif is online; another address's entry stays.
     */
    @Test
    void staleConnectionsOfTheAddressArePurgedOthersStay() throws Exception {
        Netns.assumeUsable("nft", "ping");
        netvm.ok("nft", "add table inet cttest; add chain inet cttest input { type filter hook input priority 0; };"
                + " add rule inet cttest input ct state new counter");
        Netns old = netvm.peer("vifo");
        netvm.veth("old0", "10.137.0.1/24", old, "eth0", "10.137.0.5/24");
        old.ok("ping", "-c", "1", "-W", "2", "10.137.0.1");
        Netns other = netvm.peer("vifx");
        netvm.veth("oth0", "10.137.9.1/24", other, "eth0", "10.137.9.9/24");
        other.ok("ping", "-c", "1", "-W", "2", "10.137.9.1");
        java.net.InetAddress guestAddress = FakeKernel.addr("10.137.0.5");
        java.net.InetAddress otherAddress = FakeKernel.addr("10.137.9.9");
        assertEquals(1, kernel.conntrack().entries(guestAddress).size(), "the earlier holder's ping");
        netvm.ip("link", "del", "old0");

        xs.putVif(3, 0, "10.137.0.5", Rig.MAC);
        assertTrue(reconciler.pass(true));

        assertEquals(Actual.PROGRAMMED, reconciler.vif("vif3.0").orElseThrow().actual());
        assertEquals(List.of(), kernel.conntrack().entries(guestAddress));
        assertEquals(1, kernel.conntrack().entries(otherAddress).size(), "another address's entry stays");
    }
}
