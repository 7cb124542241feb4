package org.netvm.vif.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CompletableFuture;

import org.junit.jupiter.api.Test;
import org.netvm.vif.VifState.Actual;

/** Issue 11 #5: behaviours of vif-route-qubes netvm did not reproduce. */
class VifFidelityTest {

    @Test
    void issue11AVifWithoutMacFails() {
        try (Rig rig = new Rig()) {
            rig.xs.putVif(3, 0, "10.137.0.5", null);
            rig.kernel.addLink("vif3.0");
            CompletableFuture<Outcome> hotplug = rig.reconciler.hotplug(VifName.parse("vif3.0").orElseThrow(),
                    VifReconciler.Intent.ONLINE);
            assertTrue(rig.reconciler.pass(true));
            assertEquals("vif3.0: no mac in xenstore", hotplug.getNow(Outcome.OK).error());
            assertFalse(rig.trace().contains("neighbour replace"), rig.trace());
        }
    }

    @Test
    void issue11ANetvmWithoutGatewaySaysSoInEveryVif() {
        try (Rig rig = new Rig()) {
            rig.xs.remove(VifReconciler.GATEWAY_KEY);
            rig.xs.putVif(3, 0, "10.137.0.5", Rig.MAC);
            rig.xs.putVif(4, 0, "10.137.0.6", Rig.MAC);
            rig.kernel.addLink("vif3.0");
            rig.kernel.addLink("vif4.0");
            assertTrue(rig.reconciler.pass(true));
            for (String v : new String[] {"vif3.0", "vif4.0"}) {
                assertEquals(Actual.FAILED, rig.state(v).actual());
                assertEquals(v + ": the netvm has no qubes-netvm-gateway: no guest is programmed without one",
                        rig.state(v).error());
            }
            assertTrue(rig.kernel.routes.isEmpty());

            // the gateway appears: every vif follows
            rig.xs.put(VifReconciler.GATEWAY_KEY, "10.137.0.1");
            assertTrue(rig.reconciler.pass(false));
            assertEquals(Actual.PROGRAMMED, rig.state("vif3.0").actual());
            assertEquals(Actual.PROGRAMMED, rig.state("vif4.0").actual());
        }
    }

    @Test
    void issue11AFailedConntrackPurgeFailsTheVifBeforeItsLinkComesUp() {
        try (Rig rig = new Rig()) {
            rig.conntrack.failWith = "conntrack purge of 10.137.0.5 failed: exit status 1";
            rig.xs.putVif(3, 0, "10.137.0.5", Rig.MAC);
            rig.kernel.addLink("vif3.0");
            CompletableFuture<Outcome> hotplug = rig.reconciler.hotplug(VifName.parse("vif3.0").orElseThrow(),
                    VifReconciler.Intent.ONLINE);
            assertTrue(rig.reconciler.pass(true));
            assertEquals("vif3.0: conntrack purge of 10.137.0.5 failed: exit status 1 (link left down)",
                    hotplug.getNow(Outcome.OK).error());
            assertEquals(Actual.FAILED, rig.state("vif3.0").actual());
            assertFalse(rig.kernel.links.get("vif3.0").up());
            assertTrue(rig.kernel.routes.isEmpty());

            // the purge works again: the next resync purges and programs
            rig.conntrack.failWith = null;
            rig.trace.clear();
            assertTrue(rig.reconciler.pass(true));
            assertTrue(rig.trace().contains("conntrack purge 10.137.0.5"), rig.trace());
            assertEquals(Actual.PROGRAMMED, rig.state("vif3.0").actual());
        }
    }
}
