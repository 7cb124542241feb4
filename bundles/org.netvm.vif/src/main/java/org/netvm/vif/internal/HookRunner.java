package org.netvm.vif.internal;

import java.lang.System.Logger.Level;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import org.netvm.vif.VifHook;

/**
 * Runs {@link VifHook}s: each call on its own virtual thread, interrupted and logged when it exceeds
 * the time limit; exceptions are logged. The caller never waits.
 */
final class HookRunner {
    private static final System.Logger LOG = System.getLogger(HookRunner.class.getName());

    private final List<VifHook> hooks = new CopyOnWriteArrayList<>();
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

    /** Starts every hook for the event; returns at once. The futures complete when each call ended. */
    List<CompletableFuture<Void>> fire(VifHook.Event event) {
        long limit = timeoutMillis.get();
        return hooks.stream().map(h -> call(h, event, limit)).toList();
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
            if (e instanceof java.util.concurrent.TimeoutException) {
                LOG.log(Level.WARNING, "vif hook " + hook.getClass().getName() + " did not finish within " + limit
                        + " ms for " + event.action() + " " + event.vif() + ": interrupted");
                t.interrupt();
            }
        });
        return done;
    }
}
