package org.netvm.vif.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CompletableFuture;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.netvm.kernel.Address;
import org.netvm.kernel.IpPrefix;
import org.netvm.kernel.Route;
import org.netvm.vif.VifState.Actual;

/** Issue 15 #3 and #4: a guest address is held by one online vif only, and never one of the netvm's own. */
class VifAddressGuardTest {

    private static VifName vif(String name) {
        return VifName.parse(name).orElseThrow();
    }

    @Test
    void issue15DuplicateIpv4IsRefusedAndTheHolderKeepsWorking() throws Exception {
        try (Rig rig = new Rig()) {
            rig.xs.putVif(3, 0, "10.137.0.5", Rig.MAC);
            rig.kernel.addLink("vif3.0");
            assertTrue(rig.reconciler.pass(true));
            assertEquals(Actual.PROGRAMMED, rig.state("vif3.0").actual());
            rig.trace.clear();

            rig.xs.putVif(4, 0, "10.137.0.5", "00:16:3e:5e:6c:04");
            rig.kernel.addLink("vif4.0");
            CompletableFuture<Outcome> hotplug = rig.reconciler.hotplug(vif("vif4.0"), VifReconciler.Intent.ONLINE);
            assertTrue(rig.reconciler.pass(false));
            Outcome o = hotplug.getNow(null);
            assertFalse(o == null || o.ok(), String.valueOf(o));
            assertEquals("vif4.0: ip 10.137.0.5 is already held by vif3.0 (online)", o.error());
            assertEquals(Actual.FAILED, rig.state("vif4.0").actual());
            assertEquals(Actual.PROGRAMMED, rig.state("vif3.0").actual());
            String t = rig.trace();
            assertFalse(t.contains("vif4.0 group 2 up") || t.contains("dev vif4.0 metric") || t.contains("conntrack"), t);
            assertFalse(t.contains("dataplane put vif/vif4.0"), t);
            assertTrue(rig.kernel.routes.stream().anyMatch(r -> "vif3.0".equals(r.device())));

            // the holder survives every later resync; the newcomer stays refused
            assertTrue(rig.reconciler.pass(true));
            assertEquals(Actual.PROGRAMMED, rig.state("vif3.0").actual());
            assertEquals(Actual.FAILED, rig.state("vif4.0").actual());
            assertTrue(rig.kernel.routes.stream().noneMatch(r -> "vif4.0".equals(r.device())));

            // once the holder is gone, the address is free again
            rig.kernel.removeLink("vif3.0");
            rig.xs.remove("backend/vif/3");
            assertTrue(rig.reconciler.pass(true));
            assertEquals(Actual.PROGRAMMED, rig.state("vif4.0").actual());
        }
    }

    @Test
    void issue15DuplicateIpv6IsRefused() {
        try (Rig rig = new Rig()) {
            rig.xs.put(VifReconciler.GATEWAY6_KEY, "fd09:24ef:4179::a89:1");
            rig.xs.putVif(3, 0, "10.137.0.5 fd09:24ef:4179::a89:5", Rig.MAC);
            rig.kernel.addLink("vif3.0");
            assertTrue(rig.reconciler.pass(true));
            rig.xs.putVif(4, 0, "10.137.0.6 fd09:24ef:4179::a89:5", "00:16:3e:5e:6c:04");
            rig.kernel.addLink("vif4.0");
            assertTrue(rig.reconciler.pass(false));
            assertEquals(Actual.FAILED, rig.state("vif4.0").actual());
            assertEquals("vif4.0: ip fd09:24ef:4179::a89:5 is already held by vif3.0 (online)", rig.state("vif4.0").error());
            assertEquals(Actual.PROGRAMMED, rig.state("vif3.0").actual());
        }
    }

    @Test
    void issue15TwoNewVifsWithOneAddressInOnePassTheLowerDomidWins() {
        try (Rig rig = new Rig()) {
            rig.xs.putVif(7, 0, "10.137.0.5", Rig.MAC);
            rig.xs.putVif(5, 0, "10.137.0.5", Rig.MAC);
            rig.kernel.addLink("vif7.0");
            rig.kernel.addLink("vif5.0");
            assertTrue(rig.reconciler.pass(true));
            assertEquals(Actual.PROGRAMMED, rig.state("vif5.0").actual());
            assertEquals(Actual.FAILED, rig.state("vif7.0").actual());
            assertTrue(rig.state("vif7.0").error().contains("held by vif5.0"), rig.state("vif7.0").error());
        }
    }

    @Test
    void issue15AfterARestartTheHolderStaysTheOneWhoseRoutesAreInTheKernel() {
        try (Rig rig = new Rig()) {
            rig.xs.putVif(7, 0, "10.137.0.5", Rig.MAC);
            rig.kernel.addLink("vif7.0");
            assertTrue(rig.reconciler.pass(true));
            rig.xs.putVif(5, 0, "10.137.0.5", Rig.MAC);
            rig.kernel.addLink("vif5.0");
            assertTrue(rig.reconciler.pass(false));
            assertEquals(Actual.FAILED, rig.state("vif5.0").actual());
            rig.reconciler.stop();

            // a new agent instance on the same kernel and store: it knows nothing it applied
            VifReconciler again = new VifReconciler(rig.kernel, rig.xs, rig.antiSpoof, rig.conntrack, rig.hooks,
                    new VifReconciler.Settings("backend/vif", 60_000, 20, 2_000), java.time.Clock.systemUTC());
            try {
                again.subscribe();
                assertTrue(again.pass(true));
                assertEquals(Actual.PROGRAMMED, again.vif("vif7.0").orElseThrow().actual());
                assertEquals(Actual.FAILED, again.vif("vif5.0").orElseThrow().actual());
                assertTrue(rig.kernel.routes.stream().noneMatch(r -> "vif5.0".equals(r.device())));
            } finally {
                again.stop();
            }
        }
    }

    @Test
    void issue15AnAddressChangedOntoAnotherGuestsIsRefusedWithoutPurgingTheHoldersConntrack() {
        try (Rig rig = new Rig()) {
            rig.xs.putVif(3, 0, "10.137.0.5", Rig.MAC);
            rig.xs.putVif(4, 0, "10.137.0.6", Rig.MAC);
            rig.kernel.addLink("vif3.0");
            rig.kernel.addLink("vif4.0");
            assertTrue(rig.reconciler.pass(true));
            rig.trace.clear();
            rig.xs.putVif(4, 0, "10.137.0.5", Rig.MAC);
            assertTrue(rig.reconciler.pass(false));
            assertEquals(Actual.FAILED, rig.state("vif4.0").actual());
            assertEquals(Actual.PROGRAMMED, rig.state("vif3.0").actual());
            String t = rig.trace();
            assertTrue(t.contains("conntrack purge 10.137.0.6\n"), t);
            assertFalse(t.contains("10.137.0.5"), t);
        }
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "10.137.0.1|10.137.0.1|the netvm's gateway (qubes-netvm-gateway)",
            "10.139.1.1|10.139.1.1|DNS1 (qubes-netvm-primary-dns)",
            "10.139.1.2|10.139.1.2|DNS2 (qubes-netvm-secondary-dns)",
            "192.168.7.1|192.168.7.1|the netvm's router (via on eth0)",
            "192.168.7.20|192.168.7.20|the netvm's address on eth0",
            "10.137.0.5 2001:db8::20|2001:db8::20|the netvm's address on eth0",
            "10.137.0.5 fd09:24ef:4179::a89:1|fd09:24ef:4179::a89:1|the netvm's gateway6 (qubes-netvm-gateway6)"})
    void issue15TheNetvmsOwnAddressesAreRefused(String ip, String address, String what) throws Exception {
        try (Rig rig = new Rig()) {
            uplink(rig);
            rig.xs.put(VifReconciler.GATEWAY6_KEY, "fd09:24ef:4179::a89:1");
            rig.xs.putVif(3, 0, ip, Rig.MAC);
            rig.kernel.addLink("vif3.0");
            CompletableFuture<Outcome> hotplug = rig.reconciler.hotplug(vif("vif3.0"), VifReconciler.Intent.ONLINE);
            assertTrue(rig.reconciler.pass(true));
            assertEquals("vif3.0: ip " + address + " is " + what, hotplug.getNow(Outcome.OK).error());
            assertEquals(Actual.FAILED, rig.state("vif3.0").actual());
            assertFalse(rig.trace().contains("dev vif3.0 metric"), rig.trace());
            assertFalse(rig.trace().contains("conntrack"), rig.trace());
        }
    }

    @Test
    void issue15DnsKeysReplaceTheDefaults() {
        try (Rig rig = new Rig()) {
            rig.xs.put(XenstoreInput.DNS1_KEY, "10.139.9.1");
            rig.xs.putVif(3, 0, "10.139.1.1", Rig.MAC);
            rig.xs.putVif(4, 0, "10.139.9.1", Rig.MAC);
            rig.kernel.addLink("vif3.0");
            rig.kernel.addLink("vif4.0");
            assertTrue(rig.reconciler.pass(true));
            assertEquals(Actual.PROGRAMMED, rig.state("vif3.0").actual());
            assertEquals("vif4.0: ip 10.139.9.1 is DNS1 (qubes-netvm-primary-dns)", rig.state("vif4.0").error());
        }
    }

    @Test
    void issue15AnOnlineGuestThatCollidesAfterAnUplinkChangeIsCutOff() {
        try (Rig rig = new Rig()) {
            uplink(rig);
            rig.xs.putVif(3, 0, "192.168.7.30", Rig.MAC);
            rig.xs.putVif(4, 0, "10.137.0.6", Rig.MAC);
            rig.kernel.addLink("vif3.0");
            rig.kernel.addLink("vif4.0");
            assertTrue(rig.reconciler.pass(true));
            assertEquals(Actual.PROGRAMMED, rig.state("vif3.0").actual());
            rig.trace.clear();

            // the uplink moves: its router is now the guest's address
            synchronized (rig.kernel) {
                rig.kernel.routes.removeIf(r -> r.gateway() != null);
                rig.kernel.routes.add(Route.defaultVia(IpPrefix.parseAddress("192.168.7.30"), "eth0"));
            }
            assertTrue(rig.reconciler.pass(true));
            var s = rig.state("vif3.0");
            assertEquals(Actual.FAILED, s.actual());
            assertEquals("vif3.0: ip 192.168.7.30 is the netvm's router (via on eth0)", s.error());
            String t = rig.trace();
            assertTrue(t.contains("route delete 192.168.7.30/32 dev vif3.0"), t);
            assertTrue(t.contains("dataplane remove vif/vif3.0"), t);
            assertFalse(t.contains("conntrack"), "the router's connections are not the guest's: " + t);
            assertTrue(rig.kernel.routes.stream().noneMatch(r -> "vif3.0".equals(r.device())));
            assertEquals(Actual.PROGRAMMED, rig.state("vif4.0").actual());
        }
    }

    /** eth0 with 192.168.7.20/24 and 2001:db8::20/64, default route via 192.168.7.1. */
    private static void uplink(Rig rig) {
        synchronized (rig.kernel) {
            rig.kernel.addresses.add(Address.of("eth0", IpPrefix.parse("192.168.7.20/24")));
            rig.kernel.addresses.add(Address.of("eth0", IpPrefix.parse("2001:db8::20/64")));
            rig.kernel.routes.add(Route.defaultVia(IpPrefix.parseAddress("192.168.7.1"), "eth0"));
        }
    }
}
