package org.netvm.util;

import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * The one reconciler thread of a component (the shape of Calico Felix's managers): event sources
 * only {@link #record} what changed, under this object's lock, and wake the thread; the thread runs
 * one {@link Pass} that takes everything recorded so far and applies it. A burst of records while
 * a pass runs costs one more pass, not one per record. Used by every bundle that reconciles (vif,
 * dataplane, policy, guest).
 *
 * <ul>
 * <li>The first pass runs at {@link #start} and is periodic (unless {@link Timing#passAtStart} is
 * false: then the first periodic pass runs one period after the start); then a periodic pass runs
 * every {@code periodMillis} after the previous one ended (none if 0). A pass that returns false
 * (or throws) is followed by a periodic pass {@code retryMillis} after it ended.</li>
 * <li>{@code coalesceMillis} (may be 0): a pass for records runs this long after the first record
 * since the last pass took its records (or after that pass, if it was under way), so a burst of records
 * becomes one pass. A periodic pass is not delayed; it takes what was recorded too.</li>
 * <li>{@link #request} returns a future completed after the pass that covered the request (one that
 * started after it), with that pass's result.</li>
 * <li>The timing is read again at every decision, so a component may change it with its configuration.</li>
 * </ul>
 * Liveness ({@link #progress}): whether the thread lives, how long the running pass has run and what it
 * is doing ({@link #activity}), how long recorded work has waited for a pass. Inside an OSGi framework
 * {@link #start} publishes it as a {@code java.util.function.Supplier} service with the property
 * {@value #SERVICE_PROPERTY}={@code what} (JDK types only: every bundle has its private copy of this
 * class), so {@code netvm status} can say when a pass or a request is stuck.
 * Tests drive it without a thread and with a fake clock: {@link #startManual}, then {@link #nextDue}
 * and {@link #runDue} whenever their clock moves. {@link #record}, {@link #locked} and
 * {@link #underLock} work without a thread.
 */
public final class Reconciler {
    private static final System.Logger LOG = System.getLogger(Reconciler.class.getName());

    /** One pass over what was recorded; {@code periodic}: the period (or a retry delay) is over. */
    @FunctionalInterface
    public interface Pass {
        /** Returns false if the pass could not complete (it is retried after the retry delay). */
        boolean run(boolean periodic);
    }

    /**
     * @param periodMillis   between periodic passes; 0 for none (only the first pass and retries)
     * @param retryMillis    until the pass after a failed one
     * @param coalesceMillis to let a burst of records accumulate before their pass; 0 for none
     * @param passAtStart    whether the first periodic pass runs at the start (else one period later)
     */
    public record Timing(long periodMillis, long retryMillis, long coalesceMillis, boolean passAtStart) {
        public Timing {
            if (periodMillis < 0 || retryMillis <= 0 || coalesceMillis < 0) {
                throw new IllegalArgumentException("period >= 0, retry > 0, coalesce >= 0");
            }
        }

        /** A first (periodic) pass at the start. */
        public Timing(long periodMillis, long retryMillis, long coalesceMillis) {
            this(periodMillis, retryMillis, coalesceMillis, true);
        }
    }

    private static final long NEVER = Long.MAX_VALUE;

    /** The service property naming a published reconciler's {@code what}. */
    public static final String SERVICE_PROPERTY = "netvm.reconciler";

    /**
     * Liveness at one moment.
     *
     * @param what           the reconciler's name (as in the log)
     * @param alive          its thread is running (manual reconcilers: started and not stopped)
     * @param passes         passes run so far
     * @param passMillis     how long the running pass has run; 0 when none runs
     * @param activity       what the running pass said it is doing ({@link #activity}), or null
     * @param activityMillis since when it is doing that; 0 without an activity
     * @param waitingMillis  how long the oldest work recorded and not yet taken by a pass has waited; 0 if none
     */
    public record Progress(String what, boolean alive, long passes, long passMillis, String activity,
            long activityMillis, long waitingMillis) {

        /** As published: a map of JDK types, keys as the component names. */
        public Map<String, Object> toMap() {
            Map<String, Object> m = new java.util.HashMap<>();
            m.put("what", what);
            m.put("alive", alive);
            m.put("passes", passes);
            m.put("passMillis", passMillis);
            m.put("activityMillis", activityMillis);
            m.put("waitingMillis", waitingMillis);
            if (activity != null) {
                m.put("activity", activity);
            }
            return m;
        }
    }

    /** The reconciler whose pass runs on this thread, for {@link #activity}. */
    private static final ThreadLocal<Reconciler> CURRENT = new ThreadLocal<>();

    private final String threadName;
    private final String what;
    private final Supplier<Timing> timing;
    private final LongSupplier clock;
    private final Pass pass;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition wakeUp = lock.newCondition();
    // guarded by lock
    private boolean signalled;
    private long wokenAt;
    private long nextPeriodic = NEVER;
    private final List<CompletableFuture<Boolean>> requested = new ArrayList<>();
    private volatile boolean running;
    private Thread thread;
    private volatile long passStartedAt = NEVER;
    private volatile long passes;
    private volatile String activity;
    private volatile long activitySince;
    private AutoCloseable publication;

    /**
     * @param threadName the daemon thread's name
     * @param what       names the work in the log ({@code "<what> pass failed"})
     */
    public Reconciler(String threadName, String what, Timing timing, Pass pass) {
        this(threadName, what, () -> timing, System::nanoTime, pass);
    }

    /**
     * @param timing read at every decision (a configuration change applies from the next one)
     * @param clock  nanoseconds; {@link System#nanoTime} unless driven by hand ({@link #startManual})
     */
    public Reconciler(String threadName, String what, Supplier<Timing> timing, LongSupplier clock, Pass pass) {
        this.threadName = threadName;
        this.what = what;
        this.timing = timing;
        this.clock = clock;
        this.pass = pass;
    }

    /** Starts the thread; its first pass runs at once (see {@link Timing#passAtStart}). */
    public void start() {
        startManual();
        thread = Thread.ofPlatform().name(threadName).daemon().start(this::loop);
        publication = ReconcilerPublication.publish(this);
    }

    /**
     * Says what the pass running on the calling thread is doing now ({@code null}: nothing in
     * particular any more), e.g. {@code "apply nftables"}; {@link #progress} reports it with its age.
     * Does nothing off a reconciler's thread.
     */
    public static void activity(String doing) {
        Reconciler r = CURRENT.get();
        if (r != null) {
            r.activitySince = r.clock.getAsLong();
            r.activity = doing;
        }
    }

    /** The liveness figures now. */
    public Progress progress() {
        long now = clock.getAsLong();
        long started = passStartedAt;
        String doing = activity;
        long waiting = locked(() -> signalled ? Math.max(0, now - wokenAt) : 0);
        boolean alive = thread == null ? running : running && thread.isAlive();
        return new Progress(what, alive, passes, started == NEVER ? 0 : millis(now - started), doing,
                doing == null ? 0 : millis(now - activitySince), millis(waiting));
    }

    private static long millis(long nanos) {
        return Math.max(0, TimeUnit.NANOSECONDS.toMillis(nanos));
    }

    /** The name given to the log and the published service. */
    public String what() {
        return what;
    }

    /** Starts without a thread: the caller runs the passes that are due with {@link #runDue}. */
    public void startManual() {
        Timing t = timing.get();
        underLock(() -> nextPeriodic = t.passAtStart() ? clock.getAsLong() : after(t.periodMillis()));
        running = true;
    }

    /** Stops the thread (waits up to 10 s for a pass); requests not covered yet are cancelled. */
    public void stop() {
        running = false;
        if (publication != null) {
            try {
                publication.close();
            } catch (Exception | LinkageError e) {
                LOG.log(Level.DEBUG, what + ": unpublishing its progress failed", e);
            }
            publication = null;
        }
        record(() -> { });
        if (thread != null && thread != Thread.currentThread()) {
            try {
                thread.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        List<CompletableFuture<Boolean>> left = locked(() -> {
            List<CompletableFuture<Boolean>> l = new ArrayList<>(requested);
            requested.clear();
            return l;
        });
        left.forEach(f -> f.completeExceptionally(new CancellationException(threadName + " stopped")));
    }

    /** Runs {@code change} under the lock (it records desired state) and wakes the thread. */
    public void record(Runnable change) {
        lock.lock();
        try {
            change.run();
            if (!signalled) {
                signalled = true;
                wokenAt = clock.getAsLong();
            }
            wakeUp.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Records {@code change} like {@link #record}; the future completes after the pass that covered it. */
    public CompletableFuture<Boolean> request(Runnable change) {
        CompletableFuture<Boolean> f = new CompletableFuture<>();
        record(() -> {
            change.run();
            requested.add(f);
        });
        return f;
    }

    /** Reads or takes recorded state under the lock, without waking the thread. */
    public <T> T locked(Supplier<T> read) {
        lock.lock();
        try {
            return read.get();
        } finally {
            lock.unlock();
        }
    }

    /** Runs {@code change} under the lock without waking the thread. */
    public void underLock(Runnable change) {
        locked(() -> {
            change.run();
            return null;
        });
    }

    /** When the next pass is due (clock nanoseconds), {@link Long#MAX_VALUE} if none is (or stopped). */
    public long nextDue() {
        return locked(() -> running ? due(timing.get().coalesceMillis()) : NEVER);
    }

    /** Runs one pass on the calling thread if one is due by the clock; returns whether it ran. */
    public boolean runDue() {
        Taken taken = takeIfDue();
        if (taken == null) {
            return false;
        }
        runPass(taken);
        return true;
    }

    private void loop() {
        while (running) {
            Taken taken = awaitDue();
            if (taken == null) {
                return;
            }
            runPass(taken);
        }
    }

    /** What a pass takes when it starts: whether it is periodic, and the requests it covers. */
    private record Taken(boolean periodic, List<CompletableFuture<Boolean>> covered) {
    }

    /** Waits until a pass is due and takes it; null when stopping. */
    private Taken awaitDue() {
        lock.lock();
        try {
            while (running) {
                long due = due(timing.get().coalesceMillis());
                long wait = due == NEVER ? NEVER : due - clock.getAsLong();
                if (wait <= 0) {
                    return take();
                }
                if (wait == NEVER) {
                    wakeUp.await();
                } else {
                    wakeUp.awaitNanos(wait);
                }
            }
            return null;
        } catch (InterruptedException e) {
            return null;
        } finally {
            lock.unlock();
        }
    }

    private Taken takeIfDue() {
        return locked(() -> {
            long due = due(timing.get().coalesceMillis());
            return running && due != NEVER && due - clock.getAsLong() <= 0 ? take() : null;
        });
    }

    /** Called with the lock held. */
    private long due(long coalesceMillis) {
        long coalesce = TimeUnit.MILLISECONDS.toNanos(coalesceMillis);
        long event = signalled ? wokenAt + coalesce : NEVER;
        return Math.min(event, nextPeriodic);
    }

    /** Called with the lock held. */
    private Taken take() {
        signalled = false;
        boolean periodic = nextPeriodic != NEVER && clock.getAsLong() - nextPeriodic >= 0;
        List<CompletableFuture<Boolean>> covered = new ArrayList<>(requested);
        requested.clear();
        return new Taken(periodic, covered);
    }

    private long after(long millis) {
        return millis > 0 ? clock.getAsLong() + TimeUnit.MILLISECONDS.toNanos(millis) : NEVER;
    }

    private void runPass(Taken taken) {
        boolean ok;
        Reconciler outer = CURRENT.get();
        CURRENT.set(this);
        passStartedAt = clock.getAsLong();
        try {
            ok = pass.run(taken.periodic());
        } catch (RuntimeException | Error e) {
            LOG.log(Level.ERROR, what + " pass failed", e);
            ok = false;
        } finally {
            activity = null;
            passStartedAt = NEVER;
            passes++;
            CURRENT.set(outer);
        }
        boolean result = ok;
        Timing t = timing.get();
        underLock(() -> {
            if (taken.periodic() || !result) {
                nextPeriodic = after(!result ? t.retryMillis() : t.periodMillis());
            }
            if (signalled) { // recorded during the pass: the wake-up is now
                wokenAt = Math.max(wokenAt, clock.getAsLong());
            }
        });
        taken.covered().forEach(f -> f.complete(result));
    }
}
