package org.netvm.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.netvm.testing.netns.Command;
import org.netvm.testing.netns.Json;
import org.netvm.testing.netns.Netns;

/**
 * The kernel seam against the real kernel: every test gets its own namespace with the veth pair
 * vif3.0/eth0, programs it through {@link Kernels#open(String)} bound to that namespace, and checks
 * the result with {@code ip -n NS -j ...}. Skipped unless root.
 */
class KernelNetnsTest {
    private static final InetAddress GUEST = IpPrefix.parseAddress("10.137.0.5");
    private static final InetAddress GATEWAY = IpPrefix.parseAddress("10.137.0.2");
    private static final MacAddress GUEST_MAC = MacAddress.parse("00:16:3e:5e:6c:00");

    private Netns ns;
    private CloseableKernel kernel;

    @BeforeEach
    void setUp() throws KernelException {
        Netns.assumeUsable();
        ns = Netns.create("kern");
        ns.veth("vif3.0", "eth0");
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

    private void bothUp() throws KernelException {
        kernel.apply(new Batch().setLinkUp("vif3.0", true).setLinkUp("eth0", true));
    }

    private static Map<String, Object> only(List<Map<String, Object>> l) {
        assertEquals(1, l.size(), () -> "expected exactly one entry: " + l);
        return l.getFirst();
    }

    @Test
    void perDeviceReadsSeeOnlyThatDeviceAndEqualTheFilteredWholeReads() throws KernelException {
        bothUp();
        ns.ip("link", "add", "vif4.0", "type", "veth", "peer", "name", "eth4");
        kernel.apply(new Batch().setLinkUp("vif4.0", true).setLinkUp("eth4", true));
        InetAddress other = IpPrefix.parseAddress("10.137.0.6");
        kernel.apply(new Batch()
                .replaceRoute(Route.host(GUEST, "vif3.0").withMetric(32749))
                .replaceRoute(Route.host(other, "vif4.0").withMetric(32748))
                .replaceNeighbour(Neighbour.permanent(GUEST, GUEST_MAC, "vif3.0"))
                .replaceNeighbour(Neighbour.permanent(other, GUEST_MAC, "vif4.0"))
                .replaceAddress(Address.of("vif3.0", IpPrefix.host(GATEWAY)))
                .replaceAddress(Address.of("vif4.0", IpPrefix.host(GATEWAY))));
        for (String dev : List.of("vif3.0", "vif4.0")) {
            assertEquals(kernel.routes(Route.PROTO_NETVM).stream().filter(r -> dev.equals(r.device())).toList(),
                    kernel.routes(Route.PROTO_NETVM, dev));
            assertEquals(1, kernel.routes(Route.PROTO_NETVM, dev).size());
            assertEquals(kernel.neighbours().stream().filter(n -> dev.equals(n.device())).toList(),
                    kernel.neighbours(dev));
            assertTrue(kernel.neighbours(dev).stream().anyMatch(Neighbour::permanent));
            assertEquals(kernel.addresses().stream().filter(a -> dev.equals(a.device())).toList(),
                    kernel.addresses(dev));
            assertTrue(kernel.addresses(dev).stream().anyMatch(a -> a.prefix().equals(IpPrefix.host(GATEWAY))));
        }
        assertTrue(kernel.routes(-1, "vif4.0").stream().anyMatch(r -> r.protocol() == Route.PROTO_NETVM));
        assertEquals(List.of(), kernel.routes(Route.PROTO_NETVM, "vif9.0"), "no such device: nothing");
        assertEquals(List.of(), kernel.neighbours("vif9.0"));
        assertEquals(List.of(), kernel.addresses("vif9.0"));
        assertThrows(IllegalArgumentException.class, () -> kernel.addresses("a b"));
    }

    @Test
    void hostRouteWithMetricProtocolAndScopeLink() throws KernelException {
        bothUp();
        Route route = Route.host(GUEST, "vif3.0").withMetric(32749);
        kernel.apply(new Batch().replaceRoute(route));
        kernel.apply(new Batch().replaceRoute(route)); // replace is idempotent

        Map<String, Object> r = only(ns.ipJson("route", "show", "10.137.0.5"));
        assertEquals("vif3.0", r.get("dev"));
        assertEquals(32749L, r.get("metric"));
        assertEquals("110", r.get("protocol"));
        assertEquals("link", r.get("scope"));
        assertEquals(List.of(route), kernel.routes(Route.PROTO_NETVM));
        // the process's own namespace is untouched
        assertEquals("", Command.check("ip", "route", "show", "proto", "110").trim());

        kernel.apply(new Batch().deleteRoute(route));
        assertEquals(List.of(), ns.ipJson("route", "show", "10.137.0.5"));
    }

    @Test
    void ipv6HostRoute() throws KernelException {
        bothUp();
        Route route = Route.host(IpPrefix.parseAddress("fd09:24ef:4179::a89:5"), "vif3.0").withMetric(32749);
        kernel.apply(new Batch().replaceRoute(route));

        Map<String, Object> r = only(ns.ipJson("-6", "route", "show", "fd09:24ef:4179::a89:5"));
        assertEquals("vif3.0", r.get("dev"));
        assertEquals(32749L, r.get("metric"));
        assertEquals("110", r.get("protocol"));
        assertEquals(List.of(route), kernel.routes(Route.PROTO_NETVM));

        kernel.apply(new Batch().deleteRoute(route));
        assertEquals(List.of(), ns.ipJson("-6", "route", "show", "fd09:24ef:4179::a89:5"));
    }

    @Test
    void guestSideDefaultRouteOnlinkViaGateway() throws KernelException {
        Batch guest = new Batch()
                .replaceAddress(Address.of("eth0", IpPrefix.parse("10.137.0.5/32")))
                .replaceNeighbour(Neighbour.permanent(GATEWAY, MacAddress.QUBES_GATEWAY, "eth0"))
                .setLink("eth0", 1, true)
                .replaceRoute(Route.host(GATEWAY, "eth0"))
                .replaceRoute(Route.defaultVia(GATEWAY, "eth0").withOnlink(true));
        kernel.apply(guest);

        Map<String, Object> def = only(ns.ipJson("route", "show", "default"));
        assertEquals("10.137.0.2", def.get("gateway"));
        assertEquals("eth0", def.get("dev"));
        assertTrue(((List<?>) def.get("flags")).contains("onlink"), def::toString);
        Map<String, Object> gw = only(ns.ipJson("route", "show", "10.137.0.2"));
        assertEquals("link", gw.get("scope"));
        assertEquals("eth0", gw.get("dev"));
        Map<String, Object> eth0 = only(ns.ipJson("link", "show", "eth0"));
        assertEquals("1", eth0.get("group"));
        assertTrue(((List<?>) eth0.get("flags")).contains("UP"));

        Route read = kernel.routes(Route.PROTO_NETVM).stream().filter(Route::isDefault).findFirst().orElseThrow();
        assertTrue(read.onlink());
        assertEquals(GATEWAY, read.gateway());
    }

    @Test
    void permanentNeighbour() throws KernelException {
        kernel.apply(new Batch().replaceNeighbour(Neighbour.permanent(GUEST, GUEST_MAC, "vif3.0")));

        Map<String, Object> n = only(ns.ipJson("neigh", "show", "dev", "vif3.0"));
        assertEquals("10.137.0.5", n.get("dst"));
        assertEquals("00:16:3e:5e:6c:00", n.get("lladdr"));
        assertEquals(List.of("PERMANENT"), n.get("state"));
        assertTrue(kernel.neighbours().contains(Neighbour.permanent(GUEST, GUEST_MAC, "vif3.0")));

        kernel.apply(new Batch().deleteNeighbour(GUEST, "vif3.0"));
        assertEquals(List.of(), ns.ipJson("neigh", "show", "dev", "vif3.0"));
    }

    @Test
    void addressAddAndDelete() throws KernelException {
        Address v4 = Address.of("vif3.0", IpPrefix.parse("10.137.0.1/32"));
        Address v6 = Address.of("vif3.0", IpPrefix.parse("fd09:24ef:4179::a89:1/128"));
        kernel.apply(new Batch().replaceAddress(v4).replaceAddress(v6).replaceAddress(v4));

        List<?> info = (List<?>) only(ns.ipJson("addr", "show", "dev", "vif3.0", "scope", "global")).get("addr_info");
        assertEquals(2, info.size(), info::toString);
        assertEquals("10.137.0.1", ((Map<?, ?>) info.get(0)).get("local"));
        assertEquals(32L, ((Map<?, ?>) info.get(0)).get("prefixlen"));
        assertEquals("fd09:24ef:4179::a89:1", ((Map<?, ?>) info.get(1)).get("local"));
        assertTrue(kernel.addresses().containsAll(List.of(v4, v6)));

        kernel.apply(new Batch().deleteAddress(v4).deleteAddress(v6));
        assertEquals(List.of(), only(ns.ipJson("addr", "show", "dev", "vif3.0", "scope", "global")).get("addr_info"));
        assertFalse(kernel.addresses().contains(v4));
    }

    @Test
    void linkGroupUpAndDown() throws KernelException {
        kernel.apply(new Batch().setLink("vif3.0", 2, true));
        Map<String, Object> l = only(ns.ipJson("link", "show", "vif3.0"));
        assertEquals("2", l.get("group"));
        assertTrue(((List<?>) l.get("flags")).contains("UP"));
        Link link = kernel.link("vif3.0").orElseThrow();
        assertEquals(2, link.group());
        assertTrue(link.up());
        assertEquals(((Number) l.get("ifindex")).intValue(), link.index());
        assertEquals(link.index(), kernel.linkIndex("vif3.0").orElseThrow());
        assertEquals(l.get("address"), link.mac().text());

        kernel.apply(new Batch().setLinkUp("vif3.0", false));
        assertFalse(((List<?>) only(ns.ipJson("link", "show", "vif3.0")).get("flags")).contains("UP"));
        assertEquals(2, kernel.link("vif3.0").orElseThrow().group());

        assertTrue(kernel.link("vif9.0").isEmpty());
        assertTrue(kernel.linkIndex("vif9.0").isEmpty());
        assertEquals(3, kernel.links().size()); // lo, vif3.0, eth0
    }

    @Test
    void sysctlsAreWrittenInsideTheNamespace() throws Exception {
        String hostForward = Files.readString(Path.of("/proc/sys/net/ipv4/ip_forward")).trim();
        kernel.apply(new Batch()
                .setSysctl(Sysctl.proxyArp("vif3.0"), 1)
                .setSysctl(Sysctl.proxyNdp("vif3.0"), 1)
                .setSysctl(Sysctl.ipv4Forward(), "1".equals(hostForward) ? 0 : 1));

        assertEquals("1", ns.ok("sysctl", "-n", "net.ipv4.conf.vif3/0.proxy_arp").trim());
        assertEquals("1", ns.ok("cat", "/proc/sys/net/ipv6/conf/vif3.0/proxy_ndp").trim());
        assertNotEquals(hostForward, ns.ok("sysctl", "-n", "net.ipv4.ip_forward").trim());
        assertEquals(hostForward, Files.readString(Path.of("/proc/sys/net/ipv4/ip_forward")).trim(),
                "the process's own namespace must keep its ip_forward");
        assertEquals(1, kernel.sysctl(Sysctl.proxyArp("vif3.0")));
    }

    @Test
    void missingDeviceFailsItsOperationOnlyAndNamesIt() throws KernelException {
        bothUp();
        Batch batch = new Batch()
                .replaceRoute(Route.host(GUEST, "vif3.0").withMetric(32749))
                .replaceRoute(Route.host(IpPrefix.parseAddress("10.137.0.9"), "vif9.0").withMetric(32743))
                .replaceNeighbour(Neighbour.permanent(GUEST, GUEST_MAC, "vif3.0"))
                // the kernel refuses this one: a gateway that is not on any link, without onlink
                .replaceRoute(Route.defaultVia(IpPrefix.parseAddress("192.0.2.1"), "vif3.0"))
                .setSysctl(Sysctl.proxyArp("vif9.0"), 1)
                .setLink("vif3.0", 2, true);

        BatchException e = assertThrows(BatchException.class, () -> kernel.apply(batch));
        System.out.println("missing device: " + e.getMessage());

        assertEquals(6, e.attempted());
        assertEquals(List.of(1, 3, 4), e.failures().stream().map(BatchException.Failure::index).toList(), e::getMessage);
        BatchException.Failure missing = e.failures().get(0);
        assertEquals("ENODEV", missing.errnoName());
        assertTrue(missing.isMissing());
        assertTrue(missing.toString().startsWith("route replace 10.137.0.9/32 dev vif9.0"), missing::toString);
        assertTrue(missing.message().contains("vif9.0"), missing::message);
        BatchException.Failure refused = e.failures().get(1);
        assertFalse(refused.isMissing());
        assertNotEquals(0, refused.errno());
        assertTrue(e.getMessage().startsWith("3 of 6 operations failed: route replace 10.137.0.9/32 dev vif9.0"),
                e::getMessage);
        assertEquals("ENOENT", e.failures().get(2).errnoName());

        // everything else was applied
        assertEquals(32749L, only(ns.ipJson("route", "show", "10.137.0.5")).get("metric"));
        assertEquals(List.of("PERMANENT"), only(ns.ipJson("neigh", "show", "dev", "vif3.0")).get("state"));
        assertEquals("2", only(ns.ipJson("link", "show", "vif3.0")).get("group"));
        assertEquals(List.of(), ns.ipJson("route", "show", "default"));
    }

    @Test
    void deletingWhatIsGoneReportsOnlyMissing() throws KernelException {
        bothUp();
        BatchException e = assertThrows(BatchException.class, () -> kernel.apply(new Batch()
                .deleteRoute(Route.host(GUEST, "vif3.0").withMetric(32749))
                .deleteNeighbour(GUEST, "vif3.0")
                .deleteAddress(Address.of("vif3.0", IpPrefix.parse("10.137.0.1/32")))
                .deleteRoute(Route.host(GUEST, "vif8.0"))));
        assertEquals(4, e.failures().size());
        assertTrue(e.onlyMissing(), e::getMessage);
    }

    @Test
    void linkEventsArriveForVethCreatedAndDeletedInTheNamespace() throws Exception {
        LinkedBlockingQueue<LinkEvent> events = new LinkedBlockingQueue<>();
        Subscription sub = kernel.subscribeLinks(events::add);
        try {
            ns.ip("link", "add", "vif7.0", "type", "veth", "peer", "name", "vif7.0p");
            LinkEvent added = await(events, LinkEvent.Kind.NEW, "vif7.0");
            assertTrue(added.link().index() > 0);

            ns.ip("link", "set", "vif7.0", "up");
            LinkEvent up = await(events, LinkEvent.Kind.NEW, "vif7.0");
            assertTrue(up.link().up());

            ns.ip("link", "del", "vif7.0");
            LinkEvent deleted = await(events, LinkEvent.Kind.DELETED, "vif7.0");
            assertEquals(added.link().index(), deleted.link().index());
        } finally {
            sub.close();
        }
        events.clear();
        ns.ip("link", "add", "vif8.0", "type", "veth", "peer", "name", "vif8.0p");
        assertNull(events.poll(500, TimeUnit.MILLISECONDS), "no events after close");
    }

    private static LinkEvent await(LinkedBlockingQueue<LinkEvent> q, LinkEvent.Kind kind, String name)
            throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (System.nanoTime() < deadline) {
            LinkEvent e = q.poll(100, TimeUnit.MILLISECONDS);
            if (e != null && e.kind() == kind && e.link().name().equals(name)) {
                return e;
            }
        }
        throw new AssertionError("no " + kind + " event for " + name);
    }

    @Test
    void tenThousandRoutesInOneBatch() throws KernelException {
        bothUp();
        Batch batch = new Batch();
        for (int i = 0; i < 10_000; i++) {
            batch.replaceRoute(Route.host(IpPrefix.parseAddress("10.200." + (i >> 8) + "." + (i & 0xff)), "vif3.0")
                    .withMetric(1000 + i % 7));
        }
        long t0 = System.nanoTime();
        kernel.apply(batch);
        long micros = (System.nanoTime() - t0) / 1000;
        System.out.printf("10000 routes in one batch: %.1f ms%n", micros / 1000.0);

        String shown = ns.ip("-4", "route", "show", "proto", "110");
        assertEquals(10_000, shown.lines().count());
        assertTrue(shown.contains("10.200.39.15 dev vif3.0 scope link metric 1003"), () -> shown.substring(0, 300));
        assertEquals(10_000, kernel.routes(Route.PROTO_NETVM).size());
    }

    @Test
    void readsTheProcesssOwnNamespaceWhenUnbound() throws KernelException {
        try (CloseableKernel own = Kernels.open("")) {
            assertEquals("", own.namespace());
            List<String> expected = Command.check("ip", "-j", "link", "show").lines().findFirst()
                    .map(Json::array).orElseThrow()
                    .stream().map(m -> (String) m.get("ifname")).sorted().toList();
            assertEquals(expected, own.links().stream().map(Link::name).sorted().toList());
            // the test namespace's links are not the process's own ones
            assertEquals(3, kernel.links().size());
        }
    }

    @Test
    void closingTheKernelStopsItsSubscriptions() throws Exception {
        LinkedBlockingQueue<LinkEvent> events = new LinkedBlockingQueue<>();
        kernel.subscribeLinks(events::add);
        kernel.close();
        ns.ip("link", "add", "vif8.0", "type", "veth", "peer", "name", "vif8.0p");
        assertNull(events.poll(500, TimeUnit.MILLISECONDS), "no events after the kernel was closed");
    }

    @Test
    void closedKernelRefusesCalls() {
        kernel.close();
        assertThrows(KernelException.class, () -> kernel.links());
    }

    @Test
    void unknownNamespaceIsAClearError() {
        KernelException e = assertThrows(KernelException.class, () -> Kernels.open("netvmtest-kern-absent"));
        assertEquals("ENOENT", e.errnoName());
        assertTrue(e.getMessage().contains("/var/run/netns/netvmtest-kern-absent"), e::getMessage);
    }
}
