package org.netvm.dataplane.internal;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.netvm.dataplane.Dataplane;
import org.netvm.util.DurationHistogram;
import org.netvm.util.Reconciler;

/**
 * What the dataplane reports ({@link Dataplane#status()}, {@link Dataplane#backendStatistics()}):
 * written by the reconciler thread, read by anyone. Thread safe (every method holds this object's lock).
 */
final class StatusBoard {

    /** Apply statistics of one backend name. */
    private static final class BackendCounters {
        long applies;
        long failures;
        /** From 1 ms (an nft transaction) to 10 s (a stuck tool). */
        final DurationHistogram seconds = new DurationHistogram(List.of(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                0.25, 0.5, 1.0, 2.5, 5.0, 10.0));
    }

    /** What a pass publishes at its end. */
    record Published(String activeName, boolean inSync, String requestFailure, int contributions, int rejected,
            int elements) {
        static final Published NONE = new Published(null, false, null, 0, 0, 0);
    }

    private Published published = Published.NONE;
    private Instant lastApply;
    private Duration lastApplyDuration = Duration.ZERO;
    private long applies;
    private long failures;
    private long driftRepairs;
    private String lastError;
    private final Map<String, BackendCounters> perBackend = new TreeMap<>();

    /**
     * An apply (or switch) on {@code backend} starts: the reconciler's progress says so until
     * {@link #recordApply} (so {@code netvm status} reports an apply that hangs as {@code apply-stalled}).
     */
    void applying(String backend) {
        Reconciler.activity("apply " + backend);
    }

    /** Counts one apply (or switch) on {@code backend}; {@code error} null means it succeeded. */
    synchronized void recordApply(String backend, Duration took, Instant now, String error) {
        Reconciler.activity(null);
        lastApplyDuration = took;
        BackendCounters c = perBackend.computeIfAbsent(backend, k -> new BackendCounters());
        c.seconds.observe(took);
        if (error == null) {
            applies++;
            c.applies++;
            lastApply = now;
            lastError = null;
        } else {
            failures++;
            c.failures++;
            lastError = error;
        }
    }

    /** Counts a failure that is not an apply (a sweep, a read-back, forwarding). */
    synchronized void recordFailure(String error) {
        failures++;
        lastError = error;
    }

    synchronized void driftRepaired() {
        driftRepairs++;
    }

    synchronized String lastError() {
        return lastError;
    }

    synchronized void publish(Published p) {
        published = p;
    }

    synchronized Published published() {
        return published;
    }

    synchronized Dataplane.Status status(String requestedBackend, List<String> availableBackends) {
        Published p = published;
        return new Dataplane.Status(p.activeName(), requestedBackend, p.requestFailure(), availableBackends,
                p.inSync(), lastApply, lastApplyDuration, applies, failures, driftRepairs, lastError,
                p.contributions(), p.rejected(), p.elements());
    }

    synchronized List<Dataplane.BackendStatistics> backendStatistics() {
        List<Dataplane.BackendStatistics> out = new ArrayList<>();
        perBackend.forEach((name, c) -> {
            DurationHistogram.Snapshot h = c.seconds.snapshot();
            out.add(new Dataplane.BackendStatistics(name, c.applies, c.failures,
                    new Dataplane.Histogram(h.bounds(), h.cumulativeCounts(), h.count(), h.sum())));
        });
        return out;
    }
}
