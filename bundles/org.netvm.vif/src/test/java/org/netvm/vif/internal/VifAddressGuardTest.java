package org.netvm.vif.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CompletableFuture;

import org.junit.jupiter.api.Test;
import org.netvm.vif.VifState.Actual;

/** Issue 15 #3: a guest address is held by one online vif only. */
class VifAddressGuardTest {

    private static VifName vif(String name) {
        return VifName.parse(name).orElseThrow();
    }

    @Test
    void issue15DuplicateIpv4IsRefusedAndTheHolderKeepsWorking() throws Exception {
        try (Rig rig = new Rig()) {
            rig.xs.putVif(3, 0, "10.137.0.5", null);
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
            rig.xs.rm("backend/vif/3");
            assertTrue(rig.reconciler.pass(true));
            assertEquals(Actual.PROGRAMMED, rig.state("vif4.0").actual());
        }
    }

    @Test
    void issue15DuplicateIpv6IsRefused() {
        try (Rig rig = new Rig()) {
            rig.xs.put(VifReconciler.GATEWAY6_KEY, "fd09:24ef:4179::a89:1");
            rig.xs.putVif(3, 0, "10.137.0.5 fd09:24ef:4179::a89:5", null);
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
            rig.xs.putVif(7, 0, "10.137.0.5", null);
            rig.xs.putVif(5, 0, "10.137.0.5", null);
            rig.kernel.addLink("vif7.0");
            rig.kernel.addLink("vif5.0");
            assertTrue(rig.reconciler.pass(true));
            assertEquals(Actual.PROGRAMMED, rig.state("vif5.0").actual());
            assertEquals(Actual.FAILED, rig.state("vif7.0").actual());
            assertTrue(rig.state("vif7.0").error().contains("held by vif5.0"), rig.state("vif7.0").error());
        }
    }

    @Test
    void issue15AnAddressChangedOntoAnotherGuestsIsRefusedWithoutPurgingTheHoldersConntrack() {
        try (Rig rig = new Rig()) {
            rig.xs.putVif(3, 0, "10.137.0.5", null);
            rig.xs.putVif(4, 0, "10.137.0.6", null);
            rig.kernel.addLink("vif3.0");
            rig.kernel.addLink("vif4.0");
            assertTrue(rig.reconciler.pass(true));
            rig.trace.clear();
            rig.xs.putVif(4, 0, "10.137.0.5", null);
            assertTrue(rig.reconciler.pass(false));
            assertEquals(Actual.FAILED, rig.state("vif4.0").actual());
            assertEquals(Actual.PROGRAMMED, rig.state("vif3.0").actual());
            String t = rig.trace();
            assertTrue(t.contains("conntrack purge 10.137.0.6\n"), t);
            assertFalse(t.contains("10.137.0.5"), t);
        }
    }
}
