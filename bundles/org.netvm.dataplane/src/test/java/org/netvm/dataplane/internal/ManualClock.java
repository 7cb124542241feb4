package org.netvm.dataplane.internal;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import org.netvm.util.Reconciler;

/** A fake {@link Clock}: the reconcilers it drives run their passes on the test thread when time is advanced. */
final class ManualClock implements Clock {

    private final List<Reconciler> driven = new ArrayList<>();
    private long nowMillis;

    @Override
    public synchronized long nanoTime() {
        return nowMillis * 1_000_000L;
    }

    @Override
    public synchronized Instant now() {
        return Instant.ofEpochMilli(nowMillis);
    }

    /** Starts {@code r}'s reconciler without a thread; its passes run in {@link #advance}. */
    DataplaneReconciler drive(DataplaneReconciler r) {
        r.loop().startManual();
        driven.add(r.loop());
        return r;
    }

    /** Advances the clock by {@code millis}, running every pass that falls due, in order. */
    void advance(long millis) {
        long end = nanoTime() + millis * 1_000_000L;
        while (true) {
            Reconciler next = null;
            long due = Long.MAX_VALUE;
            for (Reconciler r : driven) {
                if (r.nextDue() < due) {
                    due = r.nextDue();
                    next = r;
                }
            }
            if (next == null || due > end) {
                set(end);
                return;
            }
            set(Math.max(nanoTime(), due));
            next.runDue();
        }
    }

    private synchronized void set(long nanos) {
        nowMillis = nanos / 1_000_000L;
    }

    /** Runs what is due now (e.g. a pass after a 0 ms debounce). */
    void runDue() {
        advance(0);
    }

    synchronized long nowMillis() {
        return nowMillis;
    }
}
