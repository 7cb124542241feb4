package org.netvm.util;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.Test;

class ReconcilerTest {

    /** What the passes saw: the records each one took, and whether it was periodic. */
    private final List<String> passes = new CopyOnWriteArrayList<>();
    private final List<String> recorded = new ArrayList<>(); // guarded by the reconciler's lock

    private String take(Reconciler r) {
        return r.locked(() -> {
            String s = String.join(",", recorded);
            recorded.clear();
            return s;
        });
    }

    @Test
    void theFirstPassIsPeriodicAndARequestCompletesAfterThePassThatTookIt() throws Exception {
        Reconciler[] r = new Reconciler[1];
        r[0] = new Reconciler("test-reconciler", "test", new Reconciler.Timing(0, 1000, 0), periodic -> {
            passes.add((periodic ? "periodic:" : "event:") + take(r[0]));
            return true;
        });
        r[0].start();
        try {
            awaitTrue(() -> passes.size() == 1);
            assertEquals("periodic:", passes.get(0));
            CompletableFuture<Boolean> done = r[0].request(() -> recorded.add("a"));
            assertTrue(done.get(5, TimeUnit.SECONDS));
            assertTrue(passes.contains("event:a"), passes.toString());
        } finally {
            r[0].stop();
        }
    }

    @Test
    void recordsDuringAPassAreTakenTogetherByTheNextPass() throws Exception {
        CountDownLatch inPass = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        Reconciler[] r = new Reconciler[1];
        r[0] = new Reconciler("test-reconciler", "test", new Reconciler.Timing(0, 1000, 0), periodic -> {
            String took = take(r[0]);
            passes.add(took);
            if (took.equals("first")) {
                inPass.countDown();
                await(release);
            }
            return true;
        });
        r[0].start();
        try {
            awaitTrue(() -> passes.size() == 1);
            r[0].record(() -> recorded.add("first"));
            assertTrue(inPass.await(5, TimeUnit.SECONDS));
            List<CompletableFuture<Boolean>> waiting = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                String v = "e" + i;
                waiting.add(r[0].request(() -> recorded.add(v)));
            }
            release.countDown();
            for (CompletableFuture<Boolean> f : waiting) {
                assertTrue(f.get(5, TimeUnit.SECONDS));
            }
            assertEquals(List.of("", "first", "e0,e1,e2,e3,e4,e5,e6,e7,e8,e9"), passes);
        } finally {
            r[0].stop();
        }
    }

    @Test
    void periodicPassesRunEveryPeriod() {
        Reconciler r = new Reconciler("test-reconciler", "test", new Reconciler.Timing(20, 1000, 0), periodic -> {
            passes.add(String.valueOf(periodic));
            return true;
        });
        r.start();
        try {
            awaitTrue(() -> passes.size() >= 4);
            assertFalse(passes.contains("false"), passes.toString());
        } finally {
            r.stop();
        }
    }

    @Test
    void aFailedOrThrowingPassIsRetriedAfterTheRetryDelay() throws Exception {
        AtomicBoolean fail = new AtomicBoolean(true);
        Reconciler r = new Reconciler("test-reconciler", "test", new Reconciler.Timing(0, 30, 0), periodic -> {
            passes.add(String.valueOf(periodic));
            if (passes.size() == 1) {
                throw new IllegalStateException("first pass breaks");
            }
            return !fail.get();
        });
        r.start();
        try {
            awaitTrue(() -> passes.size() >= 3);
            assertEquals(List.of("true", "true", "true"), passes.subList(0, 3), "retries are periodic passes");
            assertFalse(r.request(() -> { }).get(5, TimeUnit.SECONDS), "the covering pass failed");
            fail.set(false);
            awaitTrue(() -> {
                try {
                    return r.request(() -> { }).get(5, TimeUnit.SECONDS);
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            });
        } finally {
            r.stop();
        }
    }

    @Test
    void stopEndsTheThreadAndCancelsRequestsNoPassCovered() {
        Reconciler r = new Reconciler("test-reconciler", "test", new Reconciler.Timing(0, 1000, 0), periodic -> true);
        CompletableFuture<Boolean> never = r.request(() -> { }); // not started: no pass covers it
        r.stop();
        assertThrows(java.util.concurrent.CancellationException.class, () -> never.get(1, TimeUnit.SECONDS));

        Reconciler started = new Reconciler("test-reconciler", "test", new Reconciler.Timing(0, 1000, 0), periodic -> true);
        started.start();
        started.stop();
        assertTrue(Thread.getAllStackTraces().keySet().stream().noneMatch(t -> t.getName().equals("test-reconciler")
                && t.isAlive()), "the thread ended");
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void awaitTrue(java.util.function.BooleanSupplier condition) {
        long end = System.nanoTime() + 5_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("timed out");
            }
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }
    }
}
