package org.netvm.util;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import org.junit.jupiter.api.Test;

/** The reconciler's timing decisions, driven by hand with a fake clock. */
class ReconcilerManualTest {
    private long nowMillis;
    private final List<String> passes = new ArrayList<>();
    private final List<String> recorded = new ArrayList<>();
    private Reconciler.Timing timing;
    private boolean fail;

    private Reconciler reconciler() {
        Reconciler[] r = new Reconciler[1];
        r[0] = new Reconciler("manual", "test", () -> timing, () -> nowMillis * 1_000_000L, periodic -> {
            String took = r[0].locked(() -> {
                String s = String.join(",", recorded);
                recorded.clear();
                return s;
            });
            passes.add(nowMillis + (periodic ? " periodic:" : " event:") + took);
            return !fail;
        });
        return r[0];
    }

    /** Moves the fake clock, running every pass that falls due on the way. */
    private void advance(Reconciler r, long millis) {
        long end = nowMillis + millis;
        while (r.nextDue() <= end * 1_000_000L) {
            nowMillis = Math.max(nowMillis, r.nextDue() / 1_000_000L);
            assertTrue(r.runDue());
        }
        nowMillis = end;
    }

    @Test
    void aBurstOfRecordsBecomesOnePassAfterTheCoalescingDelay() {
        timing = new Reconciler.Timing(5000, 5000, 2, false);
        Reconciler r = reconciler();
        r.startManual();
        advance(r, 10);
        assertEquals(List.of(), passes, "no pass at the start");
        r.record(() -> recorded.add("a"));
        advance(r, 1);
        r.record(() -> recorded.add("b"));
        assertFalse(r.runDue(), "not due before the delay is over");
        advance(r, 1);
        assertEquals(List.of("12 event:a,b"), passes);
    }

    @Test
    void periodicPassesFollowTheTimingReadAtEachDecision() {
        timing = new Reconciler.Timing(1000, 1000, 0, false);
        Reconciler r = reconciler();
        r.startManual();
        advance(r, 1000);
        timing = new Reconciler.Timing(3000, 1000, 0, false);
        advance(r, 6000);
        // the pass at 2000 was planned before the change
        assertEquals(List.of("1000 periodic:", "2000 periodic:", "5000 periodic:"), passes);
    }

    @Test
    void aFailedPassIsRetriedAndRequestsGetThePassResult() {
        timing = new Reconciler.Timing(0, 300, 0, true);
        Reconciler r = reconciler();
        r.startManual();
        fail = true;
        CompletableFuture<Boolean> f = r.request(() -> recorded.add("x"));
        advance(r, 0);
        assertEquals(Boolean.FALSE, f.getNow(null));
        fail = false;
        advance(r, 1000);
        assertEquals(List.of("0 periodic:x", "300 periodic:"), passes);
        r.stop();
        assertFalse(r.runDue(), "stopped");
    }
}
