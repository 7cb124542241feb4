package org.netvm.vif.internal;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

import org.netvm.dataplane.Contribution;

/** Records puts and removes in the trace; completes at once unless {@link #hold} is set. */
final class FakeAntiSpoof implements AntiSpoof {
    final List<String> trace;
    final Map<String, Contribution> contributions = new ConcurrentHashMap<>();
    final List<CompletableFuture<Void>> held = new CopyOnWriteArrayList<>();
    volatile boolean hold;
    /** Like a dataplane after a start: nothing completes before the owner {@code vif} (ready) is put. */
    volatile boolean holdUntilReady;
    volatile RuntimeException failWith;

    FakeAntiSpoof(List<String> trace) {
        this.trace = trace;
    }

    @Override
    public CompletionStage<Void> put(Contribution c) {
        StringBuilder b = new StringBuilder("dataplane put " + c.owner());
        c.elements().forEach((set, els) -> b.append("\n  ").append(set).append(": ").append(els));
        trace.add(b.toString());
        CompletionStage<Void> f = answer(() -> contributions.put(c.owner(), c));
        if (holdUntilReady && c.owner().equals(VifExecutor.READY_OWNER)) {
            holdUntilReady = false;
            held.forEach(h -> h.complete(null));
        }
        return f;
    }

    @Override
    public CompletionStage<Void> remove(String owner) {
        trace.add("dataplane remove " + owner);
        return answer(() -> contributions.remove(owner));
    }

    private CompletionStage<Void> answer(Runnable effect) {
        CompletableFuture<Void> f = new CompletableFuture<>();
        if (failWith != null) {
            f.completeExceptionally(failWith);
            return f;
        }
        if (hold || holdUntilReady) {
            held.add(f);
            f.thenRun(effect);
            return f;
        }
        effect.run();
        f.complete(null);
        return f;
    }
}
