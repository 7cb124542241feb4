package org.netvm.vif.internal;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.netvm.vif.VifRegistry;

/** Counts durations into fixed buckets (seconds); thread-safe. */
final class DurationHistogram {

    /** From 5 ms (one pass) to 30 s (a guest whose device comes late). */
    static final List<Double> BOUNDS = List.of(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            30.0);

    private final long[] counts = new long[BOUNDS.size()];
    private long count;
    private double sum;

    synchronized void observe(Duration d) {
        double seconds = Math.max(0, d.toNanos()) / 1e9;
        for (int i = 0; i < counts.length; i++) {
            if (seconds <= BOUNDS.get(i)) {
                counts[i]++;
            }
        }
        count++;
        sum += seconds;
    }

    synchronized VifRegistry.Histogram snapshot() {
        List<Long> c = new ArrayList<>(counts.length);
        for (long x : counts) {
            c.add(x);
        }
        return new VifRegistry.Histogram(BOUNDS, c, count, sum);
    }
}
