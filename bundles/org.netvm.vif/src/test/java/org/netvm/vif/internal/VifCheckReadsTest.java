package org.netvm.vif.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.netvm.vif.VifState.Actual;

/**
 * Issue 12: the whole-namespace reads of a periodic check run off the reconciler thread; a hotplug call
 * that arrives while they run is answered without waiting for them.
 */
class VifCheckReadsTest {

    @Test
    void issue12AHotplugCallIsAnsweredWhileTheCheckReadsTheNamespace() throws Exception {
        try (Rig rig = new Rig()) {
            CountDownLatch readsMayRun = new CountDownLatch(1);
            CountDownLatch readsStarted = new CountDownLatch(1);
            Executor held = r -> Thread.ofPlatform().daemon().start(() -> {
                readsStarted.countDown();
                try {
                    readsMayRun.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                r.run();
            });
            VifReconciler reconciler = new VifReconciler(rig.kernel, rig.xs, rig.antiSpoof, rig.conntrack, rig.hooks,
                    new VifReconciler.Settings("backend/vif", 60_000, 0, 2_000), Clock.systemUTC(),
                    CheckReads.on(rig.kernel, held));
            try {
                reconciler.subscribe();
                for (int d = 1; d <= 40; d++) {
                    rig.xs.putVif(d, 0, "10.137.1." + (d + 1), Rig.MAC);
                    rig.kernel.addLink("vif" + d + ".0");
                }
                assertTrue(reconciler.pass(true)); // the first pass reads everything on this thread
                // the next full pass is a periodic check: its reads are held
                CompletableFuture<Boolean> check = CompletableFuture.supplyAsync(() -> reconciler.pass(true));
                assertTrue(readsStarted.await(10, TimeUnit.SECONDS));
                // meanwhile: a guest is attached and its hotplug call arrives
                rig.xs.putVif(999, 0, "10.137.9.9", Rig.MAC);
                rig.kernel.addLink("vif999.0");
                CompletableFuture<Outcome> call = reconciler.hotplug(VifName.parse("vif999.0").orElseThrow(),
                        VifReconciler.Intent.ONLINE);
                assertEquals(Outcome.OK, call.get(10, TimeUnit.SECONDS), "answered while the check's reads wait");
                assertFalse(check.isDone(), "the check still waits for its reads");
                assertEquals(Actual.PROGRAMMED, reconciler.vif("vif999.0").orElseThrow().actual());

                readsMayRun.countDown();
                assertTrue(check.get(10, TimeUnit.SECONDS));
                assertEquals(Actual.PROGRAMMED, reconciler.vif("vif40.0").orElseThrow().actual(), "the check went on");
                assertEquals(Actual.PROGRAMMED, reconciler.vif("vif999.0").orElseThrow().actual());
            } finally {
                reconciler.stop();
            }
        }
    }
}
