package org.netvm.vif.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;
import org.netvm.vif.VifState.Actual;

/**
 * Issue 12: the hotplug call for a vif the agent already programmed from its xenstore keys and device
 * is answered after reading those afresh (its keys, its link), without planning the vif again; a vif
 * whose keys changed since goes through a whole pass.
 */
class VifAnswerProgrammedTest {
    private static final VifName VIF = VifName.parse("vif3.0").orElseThrow();

    @Test
    void issue12AProgrammedVifIsAnsweredWithoutAPassOverItsObjects() {
        try (Rig rig = new Rig()) {
            rig.xs.putVif(3, 0, "10.137.0.5", Rig.MAC);
            rig.kernel.addLink("vif3.0");
            assertTrue(rig.reconciler.pass(true));
            assertEquals(Actual.PROGRAMMED, rig.state("vif3.0").actual());

            AtomicInteger planned = new AtomicInteger();
            rig.kernel.onSysctl = planned::incrementAndGet;
            CompletableFuture<Outcome> call = rig.reconciler.hotplug(VIF, VifReconciler.Intent.ONLINE);
            assertTrue(rig.reconciler.pass(false));
            assertEquals(Outcome.OK, call.join());
            assertEquals(0, planned.get(), "no sysctl read: the vif was not planned again");
        }
    }

    @Test
    void issue12AVifWhoseKeysChangedIsProgrammedAgainBeforeTheAnswer() {
        try (Rig rig = new Rig()) {
            rig.xs.putVif(3, 0, "10.137.0.5", Rig.MAC);
            rig.kernel.addLink("vif3.0");
            assertTrue(rig.reconciler.pass(true));

            rig.xs.putVif(3, 0, "10.137.0.6", Rig.MAC); // the watch has not been taken by a pass yet
            AtomicInteger planned = new AtomicInteger();
            rig.kernel.onSysctl = planned::incrementAndGet;
            CompletableFuture<Outcome> call = rig.reconciler.hotplug(VIF, VifReconciler.Intent.ONLINE);
            assertTrue(rig.reconciler.pass(false));
            assertEquals(Outcome.OK, call.join());
            assertTrue(planned.get() > 0, "planned again");
            assertEquals("10.137.0.6", rig.state("vif3.0").ipv4());
        }
    }
}
