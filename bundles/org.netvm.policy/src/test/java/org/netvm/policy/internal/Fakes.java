package org.netvm.policy.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.LongSupplier;

import org.netvm.dataplane.Contribution;
import org.netvm.dataplane.Dataplane;
import org.netvm.dataplane.Plan;
import org.netvm.util.Reconciler;

/** Fakes of the policy component's seams. */
final class Fakes {
    private Fakes() {
    }

    /** Everything that happened, in order, across dataplane and kernel: "put policy", "forwarding IPV4". */
    static final class Journal {
        final List<String> events = new ArrayList<>();
    }

    static final class FakeDataplane implements Dataplane {
        final Journal journal;
        final List<Contribution> puts = new ArrayList<>();
        final List<CompletableFuture<Void>> stages = new ArrayList<>();

        FakeDataplane(Journal journal) {
            this.journal = journal;
        }

        @Override
        public CompletionStage<Void> put(Contribution c) {
            journal.events.add("put " + c.owner());
            puts.add(c);
            CompletableFuture<Void> f = new CompletableFuture<>();
            stages.add(f);
            return f;
        }

        /** What forwarding requests answer; null: completed. */
        RuntimeException forwardingFailure;

        @Override
        public CompletionStage<Void> forwarding(Forwarding wanted) {
            journal.events.add("forwarding " + wanted);
            return forwardingFailure == null ? CompletableFuture.completedFuture(null)
                    : CompletableFuture.failedFuture(forwardingFailure);
        }

        @Override
        public CompletionStage<Void> remove(String owner) {
            journal.events.add("remove " + owner);
            return CompletableFuture.completedFuture(null);
        }

        @Override
        public Plan plan() {
            return Plan.EMPTY;
        }

        @Override
        public Status status() {
            throw new UnsupportedOperationException();
        }
    }

    /** Drives policy components' reconcilers by hand, with a fake clock: passes run only when the test says so. */
    static final class ManualTasks {
        private final List<Reconciler> driven = new ArrayList<>();
        private long nowNanos;

        LongSupplier clock() {
            return () -> nowNanos;
        }

        PolicyComponent drive(PolicyComponent c) {
            c.loop().startManual();
            driven.add(c.loop());
            return c;
        }

        /** Runs every pass that is due now. */
        void runNow() {
            for (boolean ran = true; ran;) {
                ran = false;
                for (Reconciler r : driven) {
                    ran |= r.runDue();
                }
            }
        }

        /** Milliseconds until the next pass (a retry), -1 if none is planned. */
        long nextInMillis() {
            long due = driven.stream().mapToLong(Reconciler::nextDue).min().orElse(Long.MAX_VALUE);
            return due == Long.MAX_VALUE ? -1 : (due - nowNanos) / 1_000_000L;
        }

        /** Moves the clock to the next pass (a retry) and runs what is due. */
        void runLater() {
            long due = driven.stream().mapToLong(Reconciler::nextDue).min().orElse(Long.MAX_VALUE);
            if (due != Long.MAX_VALUE) {
                nowNanos = Math.max(nowNanos, due);
            }
            runNow();
        }
    }
}
