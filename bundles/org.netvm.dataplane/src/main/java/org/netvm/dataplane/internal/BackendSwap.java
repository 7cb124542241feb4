package org.netvm.dataplane.internal;

import static org.netvm.dataplane.internal.BackendEntry.asBackendException;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import org.netvm.dataplane.BackendException;
import org.netvm.dataplane.OwnedState;
import org.netvm.dataplane.Plan;
import org.osgi.service.log.Logger;

/**
 * Which backend is in charge, what it holds, and the protocol for changing that. Reconciler thread only.
 *
 * <ul>
 * <li>Make before break ({@link #swap}): the new backend applies the whole plan; only when that succeeded
 * (the backend's contract: the kernel then holds the whole plan, else what it held before) the old one
 * sweeps ({@link #sweepSwitchedAway}, once the switch's callers are answered, before the next pass). If the new one fails, its partial state is swept and the old one stays in charge. Two backends
 * with the same name own the same kernel objects: a switch between them never sweeps.</li>
 * <li>Verified by the next drift check ({@link #unverified}, {@link #revert}): the read-back of the new
 * backend is not on the switch's path (with 1 000 guests' firewalls it costs more than the apply: 26 000
 * rules listed and parsed), it is the drift check of the next resync. A difference found then is repaired
 * like any drift (the new backend applies the plan again; someone may have changed the kernel since the
 * switch); only if it still does not read back what it applied is the switch undone the same way, make
 * before break: the old backend applies the plan again, then the new one is swept, and the old one stays
 * in charge.</li>
 * <li>Fail closed ({@link #wentAway}): a backend that goes away is never swept (the kernel keeps
 * enforcing its last state) and nothing is in charge until it or the configured one is back.</li>
 * <li>Idle backends ({@link #sweepIdle}) are swept once per registration, once the active one is in
 * sync: that removes what an earlier run with another backend left.</li>
 * <li>Cleanup ({@link #sweepAll}) sweeps every backend and pauses until {@link #resume}.</li>
 * </ul>
 */
final class BackendSwap {

    private final Logger log;
    private final StatusBoard board;
    private final Clock clock;

    private BackendEntry active;
    private Plan applied;            // what active holds, as far as we know; null: unknown
    private OwnedState appliedExpected;
    private BackendEntry failedCandidate;
    private BackendEntry unverified;  // the backend active swapped away from, until active is read back once
    private BackendEntry switchedAway; // the backend a switch went away from, until it is swept (same pass)
    private long switchStart;
    private long switchDone;
    private String swapFailure;
    private boolean paused;
    private boolean inForce;         // active has applied a plan since it took charge
    private final Set<Long> idleSwept = new HashSet<>();

    BackendSwap(Logger log, StatusBoard board, Clock clock) {
        this.log = log;
        this.board = board;
        this.clock = clock;
    }

    /** The backend in charge, or null. */
    BackendEntry active() {
        return active;
    }

    /** Whether the backend in charge is known to hold {@code plan}. */
    boolean holds(Plan plan) {
        return active != null && plan.equals(applied);
    }

    /** What the backend in charge is known to hold (null: unknown). */
    Plan applied() {
        return applied;
    }

    /** The active backend applied {@code plan}. */
    void applied(Plan plan) {
        applied = plan;
        appliedExpected = null;
        inForce = true;
    }

    /**
     * Whether the backend in charge holds a plan it applied (every apply waits for the required owners):
     * netvm's rules are in force. Drift does not change that; a cleanup or a backend going away does.
     */
    boolean inForce() {
        return active != null && inForce && !paused;
    }

    /** What the active backend holds is unknown (it is applied again). */
    void forgetApplied() {
        applied = null;
    }

    /** What the active backend should read back for what it holds. */
    OwnedState expected() {
        if (appliedExpected == null) {
            appliedExpected = active.backend().expected(applied);
        }
        return appliedExpected;
    }

    /** Cleaned up: nothing is applied until {@link #resume}. */
    boolean paused() {
        return paused;
    }

    /** A configuration change or retry: forgets a failed take-over and a cleanup. */
    void resume() {
        failedCandidate = null;
        swapFailure = null;
        if (paused) {
            paused = false;
            log.info("dataplane resumes after cleanup");
        }
    }

    /** If the active backend is no longer registered: nothing in charge, nothing swept (fail closed). */
    void wentAway(List<BackendEntry> registered) {
        if (active != null && !registered.contains(active)) {
            log.warn("{}", "backend " + active.name() + " went away; nothing swept, the kernel keeps its last state;"
                    + " no backend in charge");
            takeCharge(null);
        }
    }

    /** {@code b} is in charge; what it holds is unknown. No kernel I/O. */
    void takeCharge(BackendEntry b) {
        active = b;
        unverified = null;
        applied = null;
        appliedExpected = null;
        inForce = false;
    }

    /** Whether {@code candidate} should take over from the one in charge (not already, not failed). */
    boolean shouldTakeOver(BackendEntry candidate) {
        return candidate != null && !candidate.equals(active) && !candidate.equals(failedCandidate);
    }

    /**
     * Make before break: {@code next} applies {@code plan}; only then the old one sweeps, once this pass
     * answered its callers ({@link #sweepSwitchedAway}). The next drift check reads {@code next} back
     * ({@link #unverified}). Returns whether {@code next} is in charge now.
     */
    boolean swap(BackendEntry next, Plan plan) {
        BackendEntry old = active;
        boolean shared = old.name().equals(next.name());
        long t0 = clock.nanoTime();
        board.applying(next.name());
        try {
            next.backend().apply(plan);
        } catch (BackendException | RuntimeException e) {
            String msg = "switch from " + old.name() + " to " + next.name() + " failed: "
                    + asBackendException(e).getMessage();
            log.error("{}", msg + "; " + old.name() + " stays in charge");
            board.recordApply(next.name(), took(t0), clock.now(), msg);
            failedCandidate = next;
            swapFailure = msg;
            if (shared) {
                applied = null; // same objects: the old one re-applies the plan in this pass
            } else {
                idleSwept.add(next.serviceId());
                String error = sweepError(next);
                if (error != null) {
                    String sm = "sweeping " + next.name() + " after the failed switch failed: " + error;
                    log.error("{}", sm);
                    board.recordFailure(msg + "; " + sm);
                }
            }
            return false;
        }
        long appliedAt = clock.nanoTime();
        board.recordApply(next.name(), took(t0), clock.now(), null);
        active = next;
        applied = plan;
        appliedExpected = null;
        inForce = true;
        if (shared) {
            log.info("{}", "switched to another " + next.name() + " backend in " + took(t0).toMillis()
                    + " ms (same objects: no sweep)");
            return true;
        }
        idleSwept.add(old.serviceId());
        unverified = old;
        switchedAway = old;
        switchStart = t0;
        switchDone = appliedAt;
        log.info("{}", "switched from " + old.name() + " to " + next.name() + " in " + millis(appliedAt - t0)
                + " ms (" + next.name() + " holds the plan); " + old.name() + " is swept once the callers are"
                + " answered; the next drift check reads " + next.name() + " back");
        return true;
    }

    /**
     * Sweeps the backend a switch went away from, if that is pending: after the switch's pass answered its
     * callers (the new backend holds the whole plan, so protection does not wait for this), before the next
     * pass. Until then both backends' rules are in the kernel, holding the same plan (as during a switch that
     * swept at once). Called by the pass's {@code afterwards} and, should that have been skipped, by the next pass.
     */
    void sweepSwitchedAway() {
        BackendEntry old = switchedAway;
        if (old == null) {
            return;
        }
        switchedAway = null;
        long t1 = clock.nanoTime();
        String error = sweepError(old);
        String to = active == null ? "?" : active.name();
        if (error == null) {
            log.info("{}", "switched from " + old.name() + " to " + to + ": " + old.name() + " swept (apply "
                    + millis(switchDone - switchStart) + " ms, sweep " + millis(clock.nanoTime() - t1) + " ms; old swept "
                    + millis(clock.nanoTime() - switchStart) + " ms after the switch began)");
        } else {
            failed("switched from " + old.name() + " to " + to + ", but sweeping " + old.name() + " failed: " + error);
        }
    }

    /** The active backend was read back (in sync, or drift repaired by a re-apply): its switch is over. */
    void verified() {
        unverified = null;
    }

    /** Whether the active backend took over by a switch and has not been read back since. */
    boolean unverified() {
        return unverified != null && active != null;
    }

    /**
     * The first read-back after a switch found {@code diff}: the switch is undone, make before break. The
     * backend switched away from applies {@code plan} again; only then the new one is swept, and the old one
     * stays in charge (the new one is not tried again until a configuration change or retry). If the old one
     * cannot apply, the new one stays in charge and the caller repairs its drift. Returns whether it reverted.
     */
    boolean revert(Plan plan, List<String> diff) {
        BackendEntry back = unverified;
        BackendEntry failed = active;
        unverified = null;
        String msg = "switch from " + back.name() + " to " + failed.name() + " failed: it does not read back what it"
                + " applied (" + diff.size() + " difference(s)): " + String.join("; ", diff.subList(0,
                        Math.min(3, diff.size())));
        long t0 = clock.nanoTime();
        board.applying(back.name());
        try {
            back.backend().apply(plan);
        } catch (BackendException | RuntimeException e) {
            failed(msg + "; " + back.name() + " cannot apply the plan again (" + asBackendException(e).getMessage()
                    + "): " + failed.name() + " stays in charge");
            return false;
        }
        board.recordApply(back.name(), took(t0), clock.now(), msg);
        log.error("{}", msg + "; " + back.name() + " is in charge again");
        swapFailure = msg;
        failedCandidate = failed;
        active = back;
        applied = plan;
        appliedExpected = null;
        String error = sweepError(failed);
        if (error != null) {
            failed("sweeping " + failed.name() + " after the failed switch failed: " + error);
        }
        return true;
    }

    private static long millis(long nanos) {
        return Duration.ofNanos(nanos).toMillis();
    }

    /** Sweeps {@code b}; returns the error message, or null. */
    private static String sweepError(BackendEntry b) {
        try {
            b.backend().sweep();
            return null;
        } catch (BackendException | RuntimeException e) {
            return asBackendException(e).getMessage();
        }
    }

    private void failed(String msg) {
        log.error("{}", msg);
        board.recordFailure(msg);
    }

    private Duration took(long t0) {
        return Duration.ofNanos(clock.nanoTime() - t0);
    }

    /** Sweeps, once per registration, every backend not in charge and not sharing the active's objects. */
    void sweepIdle(List<BackendEntry> all) {
        Set<Long> present = new HashSet<>();
        for (BackendEntry b : all) {
            present.add(b.serviceId());
            if (b.equals(active) || b.name().equals(active.name()) || !idleSwept.add(b.serviceId())) {
                continue;
            }
            String error = sweepError(b);
            if (error == null) {
                log.info("{}", "swept idle backend " + b.name() + " (" + active.name() + " is in charge)");
            } else {
                failed("sweeping idle backend " + b.name() + " failed: " + error);
            }
        }
        idleSwept.retainAll(present);
    }

    /** The cleanup: sweeps every backend, one line each, and pauses until {@link #resume}. */
    List<String> sweepAll(List<BackendEntry> all) {
        List<String> lines = new ArrayList<>();
        for (BackendEntry b : all) {
            String error = sweepError(b);
            if (error == null) {
                lines.add(b.name() + ": swept");
            } else {
                String msg = "sweeping " + b.name() + " failed: " + error;
                board.recordFailure(msg);
                lines.add(b.name() + ": " + msg);
            }
        }
        log.warn("{}", "cleanup: swept " + all.size()
                + " backend(s); nothing is applied until the backend is chosen again");
        paused = true;
        takeCharge(null);
        idleSwept.clear();
        return lines;
    }

    /** Why the configured backend is not the one in charge, or null. */
    String requestFailure(String requested, BackendEntry candidate) {
        String keeps = active != null && !active.equals(candidate) ? "; " + active.name() + " stays in charge" : "";
        if (paused) {
            return "cleaned up: nothing is applied until 'netvm backend use NAME'";
        }
        if (candidate == null) {
            return "requested backend " + requested + " is not registered" + keeps;
        }
        if (candidate.equals(failedCandidate)) {
            return "requested but failed: " + swapFailure + keeps;
        }
        return null;
    }
}
