package org.netvm.vif.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.Test;
import org.netvm.vif.VifState.Actual;

/**
 * Issue 12: a periodic check of many vifs goes in slices; a hotplug call that arrives while it runs is
 * served at the next slice boundary, not after the whole check.
 */
class VifCheckYieldTest {
    private static final int VIFS = 3 * VifReconciler.CHECK_SLICE;

    @Test
    void issue12AHotplugCallIsServedInTheMiddleOfAPeriodicCheck() {
        try (Rig rig = new Rig()) {
            for (int d = 1; d <= VIFS; d++) {
                rig.xs.putVif(d, 0, "10.137." + (d / 200) + "." + (d % 200 + 2), Rig.MAC);
                rig.kernel.addLink("vif" + d + ".0");
            }
            assertTrue(rig.reconciler.pass(true));
            assertTrue(rig.reconciler.pass(true)); // swept: the next full pass is a periodic check

            List<String> order = new CopyOnWriteArrayList<>();
            AtomicBoolean arrived = new AtomicBoolean();
            List<CompletableFuture<Outcome>> call = new CopyOnWriteArrayList<>();
            rig.kernel.onSysctl = () -> {
                order.add("check reads");
                if (arrived.compareAndSet(false, true)) { // the toolstack attaches a guest, then calls hotplug
                    rig.xs.putVif(999, 0, "10.137.9.9", Rig.MAC);
                    rig.kernel.addLink("vif999.0");
                    CompletableFuture<Outcome> f = rig.reconciler.hotplug(VifName.parse("vif999.0").orElseThrow(),
                            VifReconciler.Intent.ONLINE);
                    f.thenRun(() -> order.add("hotplug answered"));
                    call.add(f);
                }
            };
            assertTrue(rig.reconciler.pass(true));
            rig.kernel.onSysctl = null;

            assertEquals(Outcome.OK, call.getFirst().join());
            assertEquals(Actual.PROGRAMMED, rig.state("vif999.0").actual());
            int answered = order.indexOf("hotplug answered");
            assertTrue(answered > 0 && answered < order.size() - VifReconciler.CHECK_SLICE,
                    "answered before the check's last slices: at " + answered + " of " + order.size());
            assertEquals(Actual.PROGRAMMED, rig.state("vif" + VIFS + ".0").actual(), "the check went on");
        }
    }
}
