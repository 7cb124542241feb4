package org.netvm.dataplane.internal;

import java.time.Instant;
import java.util.PriorityQueue;

/** A {@link Scheduler} with a fake clock: tasks run on the test thread when time is advanced. */
final class ManualScheduler implements Scheduler {

    private record Task(long due, long seq, Runnable run) {
    }

    private final PriorityQueue<Task> queue = new PriorityQueue<>((a, b) -> a.due != b.due
            ? Long.compare(a.due, b.due) : Long.compare(a.seq, b.seq));
    private long nowMillis;
    private long seq;
    private boolean shutdown;
    /** Fake time each backend call may add, see {@link FakeBackend}. */
    long extraNanos;

    @Override
    public synchronized void schedule(Runnable task, long delayMillis) {
        if (!shutdown) {
            queue.add(new Task(nowMillis + Math.max(0, delayMillis), seq++, task));
        }
    }

    @Override
    public synchronized long nanoTime() {
        return nowMillis * 1_000_000L + extraNanos;
    }

    @Override
    public synchronized Instant now() {
        return Instant.ofEpochMilli(nowMillis);
    }

    @Override
    public synchronized void shutdown() {
        shutdown = true;
        queue.clear();
    }

    /** Advances the clock by {@code millis}, running every task that falls due, in order. */
    void advance(long millis) {
        long end;
        synchronized (this) {
            end = nowMillis + millis;
        }
        while (true) {
            Task t;
            synchronized (this) {
                Task head = queue.peek();
                if (head == null || head.due > end) {
                    nowMillis = end;
                    return;
                }
                queue.poll();
                nowMillis = Math.max(nowMillis, head.due);
                t = head;
            }
            t.run.run();
        }
    }

    /** Runs what is due now (e.g. a pass after a 0 ms debounce). */
    void runDue() {
        advance(0);
    }

    synchronized long nowMillis() {
        return nowMillis;
    }
}
