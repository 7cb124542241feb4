package org.netvm.testing.dataplane;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

import org.netvm.dataplane.Contribution;
import org.netvm.dataplane.Dataplane;
import org.netvm.dataplane.Plan;

/**
 * A {@link Dataplane} that records every {@link #put} and {@link #remove} and keeps the current
 * contribution of each owner. Each call's stage completes at once, unless {@link #hold} is on (then it
 * waits in {@link #held()} until {@link #completeHeld()}) or {@link #failWith} is set (then it fails).
 * A held change takes effect in {@link #contributions()} only when its stage completes.
 *
 * <p>{@link #trace(List)} adds {@code "put <owner>"} and {@code "remove <owner>"} lines to a journal
 * the test shares with other fakes; {@link #onPut}/{@link #onRemove} run on the caller's thread.
 * {@link #plan()}, {@link #status()} and {@link #backendStatistics()} answer what the test set.
 */
public final class FakeDataplane implements Dataplane {
    private final List<Contribution> puts = new CopyOnWriteArrayList<>();
    private final List<String> removes = new CopyOnWriteArrayList<>();
    private final Map<String, Contribution> current = new ConcurrentHashMap<>();
    private final List<CompletableFuture<Void>> held = new CopyOnWriteArrayList<>();
    private volatile List<String> trace;
    private volatile boolean hold;
    private volatile Throwable failWith;
    private volatile Consumer<Contribution> onPut = c -> { };
    private volatile Consumer<String> onRemove = o -> { };
    private volatile Plan plan = Plan.EMPTY;
    private volatile Status status;
    private volatile List<BackendStatistics> statistics = List.of();

    @Override
    public CompletionStage<Void> put(Contribution c) {
        journal("put " + c.owner());
        puts.add(c);
        onPut.accept(c);
        return answer(() -> current.put(c.owner(), c));
    }

    @Override
    public CompletionStage<Void> remove(String owner) {
        journal("remove " + owner);
        removes.add(owner);
        onRemove.accept(owner);
        return answer(() -> current.remove(owner));
    }

    private void journal(String line) {
        List<String> t = trace;
        if (t != null) {
            t.add(line);
        }
    }

    private CompletionStage<Void> answer(Runnable effect) {
        CompletableFuture<Void> f = new CompletableFuture<>();
        Throwable failure = failWith;
        if (failure != null) {
            f.completeExceptionally(failure);
        } else if (hold) {
            f.thenRun(effect);
            held.add(f);
        } else {
            effect.run();
            f.complete(null);
        }
        return f;
    }

    // ---- what happened

    /** Every contribution put, in order. */
    public List<Contribution> puts() {
        return puts;
    }

    /** The last contribution put. */
    public Contribution last() {
        return puts.getLast();
    }

    /** Every owner removed, in order. */
    public List<String> removes() {
        return removes;
    }

    /** The contributions in effect now, by owner (puts and removes whose stage completed). */
    public Map<String, Contribution> contributions() {
        return Map.copyOf(current);
    }

    // ---- completion control

    /** While on, new stages wait in {@link #held()}. */
    public void hold(boolean on) {
        hold = on;
    }

    /** The stages held so far (completed ones included), in order. */
    public List<CompletableFuture<Void>> held() {
        return held;
    }

    /** Completes every held stage, in order. */
    public void completeHeld() {
        held.forEach(f -> f.complete(null));
    }

    /** While set (not null), new stages fail with {@code failure}. */
    public void failWith(Throwable failure) {
        failWith = failure;
    }

    /** Also journal {@code "put <owner>"} / {@code "remove <owner>"} in {@code journal} (a thread-safe list). */
    public void trace(List<String> journal) {
        trace = journal;
    }

    public void onPut(Consumer<Contribution> listener) {
        onPut = listener;
    }

    public void onRemove(Consumer<String> listener) {
        onRemove = listener;
    }

    // ---- answers

    public void plan(Plan p) {
        plan = p;
    }

    public void status(Status s) {
        status = s;
    }

    public void backendStatistics(List<BackendStatistics> s) {
        statistics = List.copyOf(s);
    }

    @Override
    public Plan plan() {
        return plan;
    }

    /** What the test set with {@link #status(Status)}; throws {@link UnsupportedOperationException} before. */
    @Override
    public Status status() {
        Status s = status;
        if (s == null) {
            throw new UnsupportedOperationException("FakeDataplane: no status set");
        }
        return s;
    }

    @Override
    public List<BackendStatistics> backendStatistics() {
        return statistics;
    }
}
