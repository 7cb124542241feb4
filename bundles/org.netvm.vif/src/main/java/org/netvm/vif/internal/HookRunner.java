package org.netvm.vif.internal;

import java.lang.System.Logger.Level;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

import org.netvm.vif.VifHook;

/**
 * Runs {@link VifHook}s: each call on its own virtual thread, interrupted and logged when it exceeds
 * the time limit; exceptions are logged. The caller never waits.
 *
 * <p>Calls of one hook for one vif run in event order: the next starts when the previous returned,
 * threw or ran out of time (so a hook never sees a vif's OFFLINE before its ONLINE). Calls of different
 * hooks, or of one hook for different vifs, run concurrently. A hook unregistered while calls wait for
 * it is not called any more.
 */
final class HookRunner {
    private static final System.Logger LOG = System.getLogger(HookRunner.class.getName());

    private record Key(VifHook hook, String vif) {
    }

    private final List<VifHook> hooks = new CopyOnWriteArrayList<>();
    private final Map<Key, CompletableFuture<Void>> tails = new ConcurrentHashMap<>();
    private final Supplier<Long> timeoutMillis;

    HookRunner(Supplier<Long> timeoutMillis) {
        this.timeoutMillis = timeoutMillis;
    }

    void add(VifHook hook) {
        hooks.add(hook);
    }

    void remove(VifHook hook) {
        hooks.remove(hook);
    }

    /**
     * Starts (or queues behind the same hook's previous call for the same vif) every hook for the event;
     * returns at once. The futures complete when each call ended: normally, or exceptionally with what
     * the hook threw or a {@link TimeoutException}.
     */
    List<CompletableFuture<Void>> fire(VifHook.Event event) {
        long limit = timeoutMillis.get();
        return hooks.stream().map(h -> enqueue(h, event, limit)).toList();
    }

    private CompletableFuture<Void> enqueue(VifHook hook, VifHook.Event event, long limit) {
        Key key = new Key(hook, event.vif());
        CompletableFuture<Void> result = new CompletableFuture<>();
        CompletableFuture<Void> tail = tails.compute(key, (k, previous) -> {
            CompletableFuture<Void> before = previous == null ? CompletableFuture.completedFuture(null)
                    : previous.handle((v, e) -> null);
            return before.thenCompose(x -> hooks.contains(hook) ? call(hook, event, limit)
                    : CompletableFuture.<Void>completedFuture(null)).handle((v, e) -> {
                        if (e == null) {
                            result.complete(null);
                        } else {
                            result.completeExceptionally(e instanceof java.util.concurrent.CompletionException
                                    && e.getCause() != null ? e.getCause() : e);
                        }
                        return null;
                    });
        });
        tail.whenComplete((v, e) -> tails.remove(key, tail));
        return result;
    }

    private static CompletableFuture<Void> call(VifHook hook, VifHook.Event event, long limit) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        Thread t = Thread.ofVirtual().name("netvm-vif-hook-" + event.vif()).start(() -> {
            try {
                hook.vifChanged(event);
                done.complete(null);
            } catch (Throwable e) {
                LOG.log(Level.WARNING, "vif hook " + hook.getClass().getName() + " failed for " + event.action() + " "
                        + event.vif(), e);
                done.completeExceptionally(e);
            }
        });
        done.orTimeout(limit, TimeUnit.MILLISECONDS).whenComplete((v, e) -> {
            if (e instanceof TimeoutException) {
                LOG.log(Level.WARNING, "vif hook " + hook.getClass().getName() + " did not finish within " + limit
                        + " ms for " + event.action() + " " + event.vif() + ": interrupted");
                t.interrupt();
            }
        });
        return done;
    }
}
