package org.netvm.dataplane.internal;

import java.time.Instant;

/**
 * The reconciler's thread and clock. Every task runs on one thread, one at a time, in due order; the
 * real one is a single-threaded scheduled executor, tests use a manual one with a fake clock.
 */
interface Scheduler {

    /** Runs {@code task} on the reconciler thread after {@code delayMillis} (0: as soon as possible). */
    void schedule(Runnable task, long delayMillis);

    /** A monotonic clock for durations. */
    long nanoTime();

    /** Wall-clock time for status. */
    Instant now();

    /** Stops the thread; queued tasks are dropped. */
    void shutdown();
}
