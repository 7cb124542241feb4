package org.netvm.util;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** Counts durations into fixed buckets (seconds, Prometheus style: cumulative); thread-safe. */
public final class DurationHistogram {

    /** What was counted: upper bounds, cumulative counts per bound, total count and sum (seconds). */
    public record Snapshot(List<Double> bounds, List<Long> cumulativeCounts, long count, double sum) {
    }

    private final List<Double> bounds;
    private final long[] counts;
    private long count;
    private double sum;

    /** @param bounds ascending upper bounds in seconds */
    public DurationHistogram(List<Double> bounds) {
        this.bounds = List.copyOf(bounds);
        this.counts = new long[bounds.size()];
    }

    public synchronized void observe(Duration d) {
        double seconds = Math.max(0, d.toNanos()) / 1e9;
        for (int i = 0; i < counts.length; i++) {
            if (seconds <= bounds.get(i)) {
                counts[i]++;
            }
        }
        count++;
        sum += seconds;
    }

    public synchronized Snapshot snapshot() {
        List<Long> c = new ArrayList<>(counts.length);
        for (long x : counts) {
            c.add(x);
        }
        return new Snapshot(bounds, c, count, sum);
    }
}
