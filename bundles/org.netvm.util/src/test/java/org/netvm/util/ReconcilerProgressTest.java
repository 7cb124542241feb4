package org.netvm.util;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

/**
 * Issue 15 (status liveness): a reconciler says how long its running pass has run, what it is doing
 * and how long recorded work has waited, so that a stuck pass (a hanging backend) or a request no
 * pass takes is visible. Before, nothing told a stuck reconciler from an idle one.
 */
class ReconcilerProgressTest {
    private long nowMillis;

    @Test
    void aBlockedPassShowsItsAgeItsActivityAndTheWorkWaitingBehindIt() throws Exception {
        CountDownLatch inPass = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        Reconciler r = new Reconciler("progress-test", "test", () -> new Reconciler.Timing(0, 1000, 0, true),
                () -> nowMillis * 1_000_000L, periodic -> {
                    Reconciler.activity("apply fake");
                    inPass.countDown();
                    try {
                        release.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    return true;
                });
        r.start();
        try {
            assertTrue(inPass.await(5, TimeUnit.SECONDS));
            nowMillis += 7000;
            r.record(() -> { });
            nowMillis += 3000;
            Reconciler.Progress p = r.progress();
            assertTrue(p.alive());
            assertEquals(10_000, p.passMillis(), "the pass has run 10 s");
            assertEquals("apply fake", p.activity());
            assertEquals(10_000, p.activityMillis());
            assertEquals(3000, p.waitingMillis(), "a record waits behind the blocked pass");
            assertEquals(0, p.passes());
        } finally {
            release.countDown();
        }
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (r.progress().passes() < 2 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        // the second pass (for the record) blocks on nothing now; wait until it is over
        while ((r.progress().passMillis() > 0 || r.progress().waitingMillis() > 0) && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        Reconciler.Progress idle = r.progress();
        assertEquals(0, idle.passMillis(), "no pass runs");
        assertNull(idle.activity(), "the activity ends with its pass");
        assertEquals(0, idle.waitingMillis());
        assertTrue(idle.passes() >= 2);
        r.stop();
        assertFalse(r.progress().alive(), "stopped");
        assertEquals("test", r.progress().toMap().get("what"));
    }

    @Test
    void activityOffAReconcilerThreadIsIgnored() {
        Reconciler.activity("nothing"); // no reconciler on this thread: no effect, no failure
        Reconciler r = new Reconciler("idle", "idle", () -> new Reconciler.Timing(0, 1000, 0, false),
                () -> nowMillis * 1_000_000L, periodic -> true);
        r.startManual();
        assertNull(r.progress().activity());
        assertTrue(r.progress().alive());
    }
}
