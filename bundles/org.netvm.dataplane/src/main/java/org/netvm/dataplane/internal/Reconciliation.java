package org.netvm.dataplane.internal;

import static org.netvm.dataplane.internal.BackendEntry.asBackendException;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;

import org.netvm.dataplane.BackendException;
import org.netvm.dataplane.Contribution;
import org.netvm.dataplane.IncrementalMerge;
import org.netvm.dataplane.OwnedState;
import org.netvm.dataplane.Plan;
import org.netvm.dataplane.SetElement;
import org.netvm.dataplane.internal.BackendControl.DryRun;
import org.netvm.dataplane.internal.Waiters.SwapWaiter;
import org.netvm.dataplane.internal.Waiters.Waiter;
import org.osgi.service.log.Logger;

/**
 * What one pass of the reconciler thread does, and the state passes keep: merge the contributions (the
 * model's rules, {@link Plan#mergeLeavingOut}), wait for the required owners, put the configured backend
 * in charge ({@link BackendSwap}), apply the plan or repair drift, switch IP forwarding
 * ({@link IpForwarding}), publish the status and answer the callers. Reconciler thread only (but
 * {@link #plan()}).
 */
final class Reconciliation {

    /**
     * What a pass works on, copied under the component's lock. The contributions: all of them ({@code
     * contributions}), or only what changed since the last pass's ({@code changes}: an owner's contribution
     * now, null for none), or neither (nothing changed).
     */
    record Snapshot(long generation, boolean everDesired, List<Contribution> contributions,
            Map<String, Contribution> changes,
            List<BackendEntry> backends, Settings settings, long configEpoch, long retrySeq,
            List<CompletableFuture<List<String>>> cleanups, List<Waiter> waiters, List<SwapWaiter> swapWaiters,
            List<IpForwarding.Request> forwarding) {
    }

    /**
     * The waiters a pass answered, the notifications to run once they are dropped, and what the pass
     * runs after it handed them to the notifier ({@code afterwards}: an idle backend's sweep).
     */
    record Outcome(List<Waiter> doneWaiters, List<SwapWaiter> doneSwaps, List<Runnable> notifications,
            Runnable afterwards) {
    }

    private final Logger log;
    private final Clock clock;
    private final StatusBoard board;
    private final BackendSwap swap;
    private final ApplyLog applyLog;
    private final IpForwarding forwarding;
    private final FullApplyListener fullApplies;

    private final IncrementalMerge merger = new IncrementalMerge();
    private volatile Plan merged = Plan.EMPTY;
    private long mergedGeneration = -1;
    private Set<String> accepted = Set.of();
    private Map<String, String> rejected = Map.of();
    private long seenEpoch;
    private long seenRetrySeq;
    private boolean ready;           // something desired and every required owner in the plan
    private Set<String> loggedMissing = Set.of();
    private boolean sweepLeft;       // this pass applied: idle backends are swept after its callers are notified

    Reconciliation(Logger log, Clock clock, StatusBoard board, IpForwarding forwarding, FullApplyListener fullApplies) {
        this.log = log;
        this.fullApplies = fullApplies;
        this.clock = clock;
        this.board = board;
        this.forwarding = forwarding;
        this.swap = new BackendSwap(log, board, clock);
        this.applyLog = new ApplyLog(log, clock::nanoTime);
    }

    /** The merged plan (any thread). */
    Plan plan() {
        return merged;
    }

    /** Whether the contributions of {@code generation} are merged already. */
    boolean merged(long generation) {
        return generation == mergedGeneration;
    }

    /** One pass; publishes the status, then returns who to notify (the caller drops the answered waiters). */
    Outcome reconcile(Snapshot s, boolean resync) {
        List<Runnable> notifications = new ArrayList<>(); // run once the status is published
        swap.sweepSwitchedAway(); // normally done by the previous pass's afterwards
        applyLog.drain();
        if (s.contributions != null || s.changes != null) {
            merge(s.contributions != null ? merger.update(s.contributions, accepted) : merger.update(s.changes, accepted));
            mergedGeneration = s.generation;
        }
        Plan plan = merged;
        forwarding.startUp(s.backends);
        if (s.configEpoch != seenEpoch || s.retrySeq != seenRetrySeq) {
            seenEpoch = s.configEpoch;
            seenRetrySeq = s.retrySeq;
            swap.resume();
        }
        if (!s.cleanups.isEmpty()) {
            List<String> lines = cleanup(s.backends);
            s.cleanups.forEach(f -> notifications.add(() -> f.complete(lines)));
        }
        swap.wentAway(s.backends);
        forwarding.handle(s.forwarding, swap.inForce(), notifications); // off before an apply withdraws the policy
        BackendEntry candidate = s.backends.stream().filter(b -> b.name().equals(s.settings.backend()))
                .findFirst().orElse(null);
        checkReady(s);
        sweepLeft = false;
        BackendException applyError = swap.paused() ? null : converge(s, candidate, plan, resync);
        boolean sync = !swap.paused() && ready && swap.holds(plan);
        forwarding.handle(List.of(), swap.inForce(), notifications); // on, once the rules are in force
        String failure = swap.requestFailure(s.settings.backend(), candidate);
        List<Waiter> doneWaiters = Waiters.completePuts(s.waiters, accepted, rejected, sync, applyError,
                notifications);
        Waiters.SwapOutcome outcome = new Waiters.SwapOutcome(s.settings.backend(), s.configEpoch, s.retrySeq,
                candidate != null && candidate.equals(swap.active()), sync, ready, failure, board.lastError());
        List<SwapWaiter> doneSwaps = Waiters.completeSwaps(s.swapWaiters, outcome, notifications);
        publish(plan, sync, failure);
        List<BackendEntry> backends = s.backends;
        boolean idle = sweepLeft;
        Runnable afterwards = () -> {
            swap.sweepSwitchedAway(); // a switch's old backend, once its callers are answered
            if (idle) {
                swap.sweepIdle(backends);
            }
        };
        return new Outcome(doneWaiters, doneSwaps, notifications, afterwards);
    }

    /** Status first, so that whoever is notified sees it. */
    private void publish(Plan plan, boolean sync, String failure) {
        int elements = 0;
        for (SortedSet<SetElement> set : plan.elements().values()) {
            elements += set.size();
        }
        BackendEntry active = swap.active();
        board.publish(new StatusBoard.Published(active == null ? null : active.name(), sync, failure,
                accepted.size(), rejected.size(), elements));
    }

    /** Whether every required owner is in the plan; logs when that changes. */
    private void checkReady(Snapshot s) {
        Set<String> missing = new TreeSet<>(s.settings.requiredOwners());
        missing.removeAll(accepted);
        ready = s.everDesired && missing.isEmpty();
        if (s.everDesired && !missing.equals(loggedMissing)) {
            if (missing.isEmpty()) {
                log.info("{}", "required contributions present (" + s.settings.requiredOwners() + "): applying");
            } else {
                log.warn("{}", "waiting for the contribution of " + missing + ": nothing is written meanwhile,"
                        + " the kernel keeps its last state");
            }
        }
        loggedMissing = s.everDesired ? missing : Set.of();
    }

    /** Puts the configured backend in charge and makes it hold the plan; returns an apply's error, or null. */
    private BackendException converge(Snapshot s, BackendEntry candidate, Plan plan, boolean resync) {
        if (!ready) {
            if (candidate != null && !s.everDesired) {
                swap.takeCharge(candidate); // nothing desired yet: no kernel I/O, just who will be in charge
            }
            return null; // a required owner is missing: no kernel I/O at all (fail closed)
        }
        boolean switched = false;
        if (swap.shouldTakeOver(candidate)) {
            if (swap.active() == null) {
                swap.takeCharge(candidate);
                log.info("{}", "backend " + candidate.name() + " takes charge");
            } else if (swap.swap(candidate, plan)) {
                switched = true;
                applyLog.appliedMerged();
                forwarding.afterApply(candidate.name());
                fullApplies.fullApplyDone(candidate.name());
            }
        }
        if (swap.active() == null) {
            return null;
        }
        BackendException applyError = null;
        boolean applied = false;
        if (!swap.holds(plan)) {
            applyError = apply(plan, "change");
            applied = true;
        } else if (resync && !switched) { // a switch's read-back is the next resync's, not this pass's
            applyError = checkDrift();
        }
        // after an apply, idle backends are swept (processes, after a start: ~0.1-0.2 s) once the callers
        // waiting for the apply are answered
        sweepLeft = applyError == null && swap.holds(plan) && applied;
        if (applyError == null && swap.holds(plan) && !applied) {
            swap.sweepIdle(s.backends);
        }
        return applyError;
    }

    /**
     * Takes the merge of all contributions; on a conflict, it left out as few as it could (established ones
     * stay). Only the contributions that changed since the last pass are merged again ({@link IncrementalMerge}).
     */
    private void merge(Plan.Merge m) {
        Map<String, String> old = rejected;
        m.leftOut().forEach((owner, why) -> {
            if (!why.equals(old.get(owner))) {
                log.warn("{}", "contribution of " + owner + " left out of the plan: " + why);
            }
        });
        merged = m.plan();
        accepted = m.merged().keySet();
        rejected = m.leftOut();
        applyLog.merged(m.merged(), merger.changedOwners());
    }

    /** Switches forwarding off, then sweeps every backend; one line each. */
    private List<String> cleanup(List<BackendEntry> all) {
        List<String> lines = new ArrayList<>();
        // the routes to the guests stay: forwarding without any rule would let them out unfiltered
        try {
            if (forwarding.offForCleanup()) {
                lines.add("IP forwarding: off until a backend is in charge again");
            }
        } catch (Exception e) {
            String msg = "could not switch IP forwarding off before the cleanup: " + e.getMessage();
            log.error("{}", msg + "; nothing swept");
            board.recordFailure(msg);
            lines.add(msg);
            return lines;
        }
        lines.addAll(swap.sweepAll(all));
        return lines;
    }

    /** The active backend applies {@code plan}; null on success, else the error (kernel unchanged). */
    private BackendException apply(Plan plan, String reason) {
        BackendEntry active = swap.active();
        long t0 = clock.nanoTime();
        String owners = applyLog.changedOwners();
        boolean full = swap.applied() == null; // what the backend held was unknown: the whole plan went in
        board.applying(active.name());
        try {
            active.backend().apply(plan);
            swap.applied(plan);
            forwarding.afterApply(active.name());
            if (full) {
                fullApplies.fullApplyDone(active.name());
            }
            applyLog.appliedMerged();
            applyLog.apply(active.name(), reason, owners, recordApply(active.name(), t0, null), null);
            return null;
        } catch (BackendException | RuntimeException e) {
            BackendException be = asBackendException(e);
            String msg = "apply on " + active.name() + " failed: " + be.getMessage();
            applyLog.apply(active.name(), reason, owners, recordApply(active.name(), t0, msg), be.getMessage());
            return be;
        }
    }

    private Duration recordApply(String backend, long t0, String error) {
        Duration took = Duration.ofNanos(clock.nanoTime() - t0);
        board.recordApply(backend, took, clock.now(), error);
        return took;
    }

    /**
     * Reads the kernel back; re-applies on drift. Returns a re-apply's error, or null. The first read-back
     * after a switch that differs is repaired like any drift (someone may have changed the kernel since the
     * switch); only if the new backend still does not read back what it has just applied again is the
     * switch undone ({@link BackendSwap#revert}).
     */
    private BackendException checkDrift() {
        BackendEntry active = swap.active();
        List<String> diff = differences(active, swap.expected());
        if (diff == null || diff.isEmpty()) {
            if (diff != null) {
                swap.verified();
            }
            return null;
        }
        boolean afterSwitch = swap.unverified();
        log.warn("{}", "drift in " + active.name() + ": " + diff.size() + " difference(s): "
                + String.join("; ", diff.subList(0, Math.min(3, diff.size())))
                + (diff.size() > 3 ? "; ..." : "") + "; re-applying");
        board.driftRepaired();
        Plan plan = swap.applied();
        swap.forgetApplied();
        BackendException error = apply(plan, "drift");
        if (afterSwitch) {
            List<String> still = error != null ? diff : differences(active, swap.expected());
            if (still != null && !still.isEmpty() && swap.revert(plan, still)) {
                return null;
            }
        }
        swap.verified();
        return error;
    }

    /** What {@code active} holds that differs from {@code want}; null if it could not be read back. */
    private List<String> differences(BackendEntry active, OwnedState want) {
        OwnedState got;
        try {
            got = active.backend().readBack();
        } catch (BackendException | RuntimeException e) {
            String msg = "read back from " + active.name() + " failed: " + asBackendException(e).getMessage();
            log.warn("{}", msg);
            board.recordFailure(msg);
            return null;
        }
        return want.equals(got) ? List.of() : want.diff(got);
    }

    /** What the active (else the configured) backend would own, and holds; {@code bs} sorted. */
    DryRun dryRun(List<BackendEntry> bs, String requested) {
        Plan plan = merged;
        BackendEntry active = swap.active();
        BackendEntry b = active != null ? active
                : bs.stream().filter(x -> x.name().equals(requested)).findFirst().orElse(null);
        if (b == null) {
            return new DryRun(plan, accepted.size(), rejected, requested, null, false, null, null, null);
        }
        OwnedState want = b.backend().expected(plan);
        try {
            return new DryRun(plan, accepted.size(), rejected, requested, b.name(), b.equals(active), want,
                    b.backend().readBack(), null);
        } catch (BackendException | RuntimeException e) {
            return new DryRun(plan, accepted.size(), rejected, requested, b.name(), b.equals(active), want, null,
                    asBackendException(e).getMessage());
        }
    }
}
