package org.netvm.util;

import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * The one reconciler thread of a component (the shape of Calico Felix's managers): event sources
 * only {@link #record} what changed, under this object's lock, and wake the thread; the thread runs
 * one {@link Pass} that takes everything recorded so far and applies it. A burst of records while
 * a pass runs costs one more pass, not one per record.
 *
 * <ul>
 * <li>The first pass runs at {@link #start} and is periodic; then a periodic pass runs every
 * {@code periodMillis} (none if 0). A pass that returns false (or throws) is followed by a periodic
 * pass after {@code retryMillis}.</li>
 * <li>{@code coalesceMillis} (may be 0): after a wake-up, the thread waits this long for more
 * records before the pass.</li>
 * <li>{@link #request} returns a future completed after the pass that covered the request (one that
 * started after it), with that pass's result.</li>
 * </ul>
 * The pass may also be run by hand (tests); {@link #record}, {@link #locked} and {@link #underLock} work
 * without a thread.
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
     * @param coalesceMillis to let a burst of records accumulate after a wake-up; 0 for none
     */
    public record Timing(long periodMillis, long retryMillis, long coalesceMillis) {
        public Timing {
            if (periodMillis < 0 || retryMillis <= 0 || coalesceMillis < 0) {
                throw new IllegalArgumentException("period >= 0, retry > 0, coalesce >= 0");
            }
        }
    }

    private final String threadName;
    private final String what;
    private final Timing timing;
    private final Pass pass;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition wakeUp = lock.newCondition();
    private boolean signalled;
    private final List<CompletableFuture<Boolean>> requested = new ArrayList<>();
    private volatile boolean running;
    private Thread thread;

    /**
     * @param threadName the daemon thread's name
     * @param what       names the work in the log ({@code "<what> pass failed"})
     */
    public Reconciler(String threadName, String what, Timing timing, Pass pass) {
        this.threadName = threadName;
        this.what = what;
        this.timing = timing;
        this.pass = pass;
    }

    /** Starts the thread; its first pass runs at once. */
    public void start() {
        running = true;
        thread = Thread.ofPlatform().name(threadName).daemon().start(this::loop);
    }

    /** Stops the thread (waits up to 10 s for a pass); requests not covered yet are cancelled. */
    public void stop() {
        running = false;
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
            signalled = true;
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

    private void loop() {
        long nextPeriodic = System.nanoTime();
        while (running) {
            Boolean periodic = awaitWork(nextPeriodic);
            if (periodic == null || !sleep(timing.coalesceMillis())) {
                return;
            }
            boolean ok = runPass(periodic);
            if (periodic || !ok) {
                long delay = !ok ? timing.retryMillis() : timing.periodMillis();
                nextPeriodic = delay > 0 ? System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(delay) : Long.MAX_VALUE;
            }
        }
    }

    /** Waits for a record or the periodic deadline; true if periodic, null when stopping. */
    private Boolean awaitWork(long nextPeriodic) {
        lock.lock();
        try {
            long wait;
            while (running && !signalled && (wait = deadline(nextPeriodic)) > 0) {
                wakeUp.awaitNanos(wait);
            }
            if (!running) {
                return null;
            }
            signalled = false;
            return nextPeriodic != Long.MAX_VALUE && System.nanoTime() - nextPeriodic >= 0;
        } catch (InterruptedException e) {
            return null;
        } finally {
            lock.unlock();
        }
    }

    private static long deadline(long nextPeriodic) {
        return nextPeriodic == Long.MAX_VALUE ? Long.MAX_VALUE : nextPeriodic - System.nanoTime();
    }

    private static boolean sleep(long millis) {
        if (millis > 0) {
            try {
                Thread.sleep(millis);
            } catch (InterruptedException e) {
                return false;
            }
        }
        return true;
    }

    private boolean runPass(boolean periodic) {
        List<CompletableFuture<Boolean>> covered = locked(() -> {
            List<CompletableFuture<Boolean>> c = new ArrayList<>(requested);
            requested.clear();
            return c;
        });
        boolean ok;
        try {
            ok = pass.run(periodic);
        } catch (RuntimeException | Error e) {
            LOG.log(Level.ERROR, what + " pass failed", e);
            ok = false;
        }
        boolean result = ok;
        covered.forEach(f -> f.complete(result));
        return ok;
    }
}
