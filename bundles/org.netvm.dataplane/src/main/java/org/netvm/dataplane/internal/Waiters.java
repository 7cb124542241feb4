package org.netvm.dataplane.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

import org.netvm.dataplane.BackendException;

/** Callers waiting for the outcome of a pass, and when a pass answers them. */
final class Waiters {
    private Waiters() {
    }

    /** A put or remove of {@code owner}, answered by the first pass that merged {@code generation}. */
    record Waiter(long generation, String owner, CompletableFuture<Void> future) {
    }

    /** Answered only by a pass that saw a configuration change or retry made after it was registered. */
    record SwapWaiter(String name, CompletableFuture<String> future, long configEpoch, long retrySeq) {
    }

    /** What a pass found, for the swap waiters. */
    record SwapOutcome(String requested, long configEpoch, long retrySeq, boolean candidateInCharge, boolean sync,
            boolean ready, String failure, String lastError) {
    }

    /** Completes the waiters the pass answers (into {@code notifications}); returns those. */
    static List<Waiter> completePuts(List<Waiter> waiters, Set<String> accepted, Map<String, String> rejected,
            boolean sync, BackendException applyError, List<Runnable> notifications) {
        List<Waiter> done = new ArrayList<>();
        for (Waiter w : waiters) {
            String why = rejected.get(w.owner);
            if (why != null && !accepted.contains(w.owner)) {
                IllegalArgumentException e = new IllegalArgumentException(
                        "contribution of " + w.owner + " left out of the plan: " + why);
                notifications.add(() -> w.future.completeExceptionally(e));
            } else if (sync) {
                notifications.add(() -> w.future.complete(null));
            } else if (applyError != null) {
                notifications.add(() -> w.future.completeExceptionally(applyError));
            } else {
                continue; // no backend in charge (or cleaned up): wait
            }
            done.add(w);
        }
        return done;
    }

    /** Completes the swap waiters the pass answers (into {@code notifications}); returns those. */
    static List<SwapWaiter> completeSwaps(List<SwapWaiter> waiters, SwapOutcome o, List<Runnable> notifications) {
        List<SwapWaiter> done = new ArrayList<>();
        for (SwapWaiter w : waiters) {
            if (!w.name.equals(o.requested) || o.configEpoch <= w.configEpoch && o.retrySeq <= w.retrySeq) {
                continue; // the configuration change or retry it waits for has not arrived yet
            }
            if (o.candidateInCharge && (o.sync || !o.ready)) {
                String msg = o.sync ? w.name + " is in charge and in sync" : w.name + " is in charge (nothing to apply yet)";
                notifications.add(() -> w.future.complete(msg));
            } else if (o.failure != null) {
                notifications.add(() -> w.future.completeExceptionally(new IllegalStateException(o.failure)));
            } else if (o.candidateInCharge && o.lastError != null) {
                String msg = w.name + " is in charge but not in sync: " + o.lastError;
                notifications.add(() -> w.future.completeExceptionally(new IllegalStateException(msg)));
            } else {
                continue;
            }
            done.add(w);
        }
        return done;
    }
}
