package org.netvm.status.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.netvm.util.Reconciler;

/**
 * Issue 15 #8 and #2: {@code status} said in-sync while an {@code nft} apply hung for 30 s and while
 * a reconciler was stuck. A reconciler's published progress now makes the netvm degraded with
 * {@code apply-stalled}, {@code reconciler-stalled} or {@code reconciler-dead}, and in-sync again once
 * the apply or pass ends.
 */
class LivenessTest {
    private long nowMillis;

    private StatusReport report(List<? extends Map<String, ?>> reconcilers) {
        Fakes.Rig rig = new Fakes.Rig();
        return StatusReport.collect(Fakes.T0, rig.xs, Fakes.XS_PROPS, rig.dataplane, rig.vifs, rig.firewall, null,
                reconcilers);
    }

    private static List<String> codes(StatusReport r) {
        return r.reasons().stream().map(StatusReport.Reason::code).toList();
    }

    @Test
    void aHangingBackendApplyIsApplyStalledUntilItEnds() throws Exception {
        CountDownLatch applying = new CountDownLatch(1);
        CountDownLatch hang = new CountDownLatch(1);
        // the dataplane's shape: a pass that says it applies, then a backend that does not come back
        Reconciler dataplane = new Reconciler("dataplane-test", "dataplane", () -> new Reconciler.Timing(0, 1000, 0, true),
                () -> nowMillis * 1_000_000L, periodic -> {
                    Reconciler.activity("apply nftables");
                    applying.countDown();
                    try {
                        hang.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    Reconciler.activity(null);
                    return true;
                });
        dataplane.start();
        try {
            assertTrue(applying.await(5, TimeUnit.SECONDS));
            nowMillis += 2000;
            assertTrue(report(List.of(dataplane.progress().toMap())).inSync(), "2 s into an apply is normal");
            nowMillis += 4000;
            StatusReport stalled = report(List.of(dataplane.progress().toMap()));
            assertEquals(List.of("apply-stalled"), codes(stalled));
            assertEquals("the dataplane reconciler's nftables apply has run for 6.0 s", stalled.reasons().get(0).message());
        } finally {
            hang.countDown(); // the apply ends (or ProcessRunner killed it)
        }
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (dataplane.progress().passMillis() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertTrue(report(List.of(dataplane.progress().toMap())).inSync(), "cleared when the apply finished");
        dataplane.stop();
    }

    @Test
    void aBlockedPassOrAWaitingRequestIsReconcilerStalled() {
        Map<String, Object> blocked = Map.of("what", "vif", "alive", true, "passMillis", 31_000L,
                "activityMillis", 0L, "waitingMillis", 31_000L);
        StatusReport r = report(List.of(blocked));
        assertEquals(List.of("reconciler-stalled"), codes(r));
        assertEquals("the vif pass has run for 31.0 s", r.reasons().get(0).message());
        Map<String, Object> waiting = Map.of("what", "policy", "alive", true, "passMillis", 0L,
                "activityMillis", 0L, "waitingMillis", 45_000L);
        assertEquals("work recorded for the policy reconciler has waited 45.0 s for a pass",
                report(List.of(waiting)).reasons().get(0).message());
        Map<String, Object> busy = Map.of("what", "vif", "alive", true, "passMillis", 9_000L,
                "activityMillis", 0L, "waitingMillis", 9_000L);
        assertTrue(report(List.of(busy)).inSync(), "a long pass within the deadline is fine");
    }

    @Test
    void aDeadReconcilerThreadIsReported() {
        Map<String, Object> dead = Map.of("what", "guest", "alive", false, "passMillis", 0L,
                "activityMillis", 0L, "waitingMillis", 0L);
        assertEquals(List.of("reconciler-dead"), codes(report(List.of(dead))));
    }

    @Test
    void theCollectorReadsWhatTheReconcilersPublish() {
        StatusCollector c = new StatusCollector();
        assertEquals(List.of(), c.progress(), "nothing published");
        c.reconcilers = List.of(() -> Map.of("what", "vif", "alive", true), () -> "not a map", () -> {
            throw new IllegalStateException("gone");
        });
        assertEquals(List.of(Map.of("what", "vif", "alive", true)), c.progress());
    }
}
