package org.netvm.vif.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.junit.jupiter.api.Test;
import org.netvm.vif.VifHook;
import org.netvm.vif.VifHook.Action;

/** Isolation and ordering of vif hooks: what a third-party hook can rely on. */
class HookRunnerTest {

    static VifHook.Event event(Action action, String vif) {
        return new VifHook.Event(action, vif, 3, "vif", "10.137.0.5", null, "10.137.0.1");
    }

    @Test
    void aThrowingHookIsReportedAndOthersStillRun() throws Exception {
        HookRunner runner = new HookRunner(() -> 1000L);
        List<String> seen = new CopyOnWriteArrayList<>();
        runner.add(e -> {
            throw new IllegalStateException("broken hook");
        });
        runner.add(e -> seen.add(e.action() + " " + e.vif()));
        List<CompletableFuture<Void>> calls = runner.fire(event(Action.ONLINE, "vif3.0"));
        ExecutionException failed = assertThrows(ExecutionException.class, () -> calls.get(0).get(5, TimeUnit.SECONDS));
        assertInstanceOf(IllegalStateException.class, failed.getCause());
        calls.get(1).get(5, TimeUnit.SECONDS);
        assertEquals(List.of("ONLINE vif3.0"), seen);
    }

    @Test
    void aHangingHookIsInterruptedAtTheLimitAndDelaysNobodyElse() throws Exception {
        HookRunner runner = new HookRunner(() -> 1500L);
        CountDownLatch interrupted = new CountDownLatch(1);
        runner.add(e -> {
            try {
                new CountDownLatch(1).await();
            } catch (InterruptedException x) {
                interrupted.countDown();
                throw x;
            }
        });
        List<String> seen = new CopyOnWriteArrayList<>();
        runner.add(e -> seen.add(e.vif()));
        long start = System.nanoTime();
        List<CompletableFuture<Void>> calls = runner.fire(event(Action.ONLINE, "vif3.0"));
        assertTrue(System.nanoTime() - start < TimeUnit.MILLISECONDS.toNanos(700), "fire() does not wait for the hanging hook");
        calls.get(1).get(5, TimeUnit.SECONDS);
        assertTrue(System.nanoTime() - start < TimeUnit.MILLISECONDS.toNanos(1000), "the good hook did not wait for the hanging one");
        ExecutionException timedOut = assertThrows(ExecutionException.class, () -> calls.get(0).get(5, TimeUnit.SECONDS));
        assertInstanceOf(TimeoutException.class, timedOut.getCause());
        assertTrue(interrupted.await(5, TimeUnit.SECONDS), "the hanging hook was interrupted");
        // other vifs are not held up by the hanging call either
        List<CompletableFuture<Void>> other = runner.fire(event(Action.ONLINE, "vif4.0"));
        other.get(1).get(1, TimeUnit.SECONDS);
        assertEquals(List.of("vif3.0", "vif4.0"), seen);
    }

    @Test
    void oneHookSeesTheEventsOfOneVifInOrder() throws Exception {
        HookRunner runner = new HookRunner(() -> 5000L);
        List<String> seen = new CopyOnWriteArrayList<>();
        runner.add(e -> {
            if (e.action() == Action.ONLINE) {
                Thread.sleep(200); // a slow online must not be overtaken by the offline that follows
            }
            seen.add(e.action() + " " + e.vif());
        });
        List<CompletableFuture<Void>> all = new ArrayList<>();
        all.addAll(runner.fire(event(Action.ONLINE, "vif3.0")));
        all.addAll(runner.fire(event(Action.OFFLINE, "vif3.0")));
        all.addAll(runner.fire(event(Action.ONLINE, "vif3.0")));
        all.addAll(runner.fire(event(Action.OFFLINE, "vif3.0")));
        CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(10, TimeUnit.SECONDS);
        assertEquals(List.of("ONLINE vif3.0", "OFFLINE vif3.0", "ONLINE vif3.0", "OFFLINE vif3.0"), seen);
    }

    @Test
    void anUnregisteredHookIsNotCalledForQueuedEvents() throws Exception {
        HookRunner runner = new HookRunner(() -> 5000L);
        CountDownLatch release = new CountDownLatch(1);
        List<String> seen = new CopyOnWriteArrayList<>();
        VifHook hook = e -> {
            seen.add(e.action().toString());
            release.await();
        };
        runner.add(hook);
        CompletableFuture<Void> first = runner.fire(event(Action.ONLINE, "vif3.0")).get(0);
        CompletableFuture<Void> second = runner.fire(event(Action.OFFLINE, "vif3.0")).get(0);
        runner.remove(hook);
        release.countDown();
        first.get(5, TimeUnit.SECONDS);
        second.get(5, TimeUnit.SECONDS);
        assertEquals(List.of("ONLINE"), seen);
    }
}
