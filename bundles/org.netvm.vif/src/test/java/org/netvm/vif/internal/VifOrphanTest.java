package org.netvm.vif.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.netvm.vif.VifState.Actual;

/** Issue 15 #6: vif devices without a (valid) xenstore entry delay neither the start nor other vifs. */
class VifOrphanTest {

    @Test
    void issue15OrphanDevicesDoNotStallTheFirstPass() {
        try (Rig rig = new Rig()) {
            rig.antiSpoof.holdUntilReady = true; // the dataplane applies nothing before the vifs are recorded
            for (int d = 20; d < 25; d++) {
                rig.kernel.addLink("vif" + d + ".0"); // no xenstore entry
            }
            rig.xs.putVif(3, 0, "10.137.0.5", Rig.MAC);
            rig.kernel.addLink("vif3.0");
            long start = System.nanoTime();
            assertTrue(rig.reconciler.pass(true));
            long millis = (System.nanoTime() - start) / 1_000_000;
            // the rig's dataplane timeout is 2 s: before the fix each orphan waited for it in turn
            assertTrue(millis < 1_000, "first pass took " + millis + " ms");
            assertEquals(Actual.PROGRAMMED, rig.state("vif3.0").actual());
            var orphan = rig.state("vif20.0");
            assertEquals(Actual.PENDING, orphan.actual());
            assertEquals("device without a xenstore entry backend/vif/20/0, not programmed", orphan.error());
            assertTrue(rig.kernel.routes.stream().noneMatch(r -> r.device().startsWith("vif2")));
        }
    }
}
