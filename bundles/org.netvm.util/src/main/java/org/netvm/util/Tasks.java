package org.netvm.util;

/**
 * The one thread a component does its work on (a seam: tests run tasks by hand).
 * Tasks submitted after {@link #close()} are dropped.
 */
public interface Tasks extends AutoCloseable {

    void execute(Runnable task);

    void schedule(Runnable task, long delayMillis);

    /** Runs what was already submitted (not delayed tasks), waits for it a few seconds, then stops. */
    @Override
    void close();
}
