package org.netvm.dataplane.internal;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeSet;
import java.util.function.LongSupplier;

import org.netvm.dataplane.Contribution;
import org.netvm.dataplane.IncrementalMerge;
import org.netvm.util.LogLimiter;
import org.netvm.util.SortedMerge;
import org.osgi.service.log.Logger;

/**
 * One structured line per apply ({@code apply backend=... reason=... owners=... outcome=...}), naming the
 * owners whose contribution changed since the last successful apply; at most 5 lines per 10 s for the same
 * owners (the rest is summarised by {@link #drain}). Reconciler thread only.
 */
final class ApplyLog {
    private final Logger log;
    private final LogLimiter limiter;
    private SortedMap<String, Contribution> merged = Collections.emptySortedMap();
    private SortedMap<String, Contribution> applied = Collections.emptySortedMap(); // what the last successful apply held
    /** Every owner whose contribution may differ between applied and merged, sorted; null: unknown (compare all). */
    private TreeSet<String> candidates = new TreeSet<>();

    ApplyLog(Logger log, LongSupplier nanoTime) {
        this.log = log;
        this.limiter = new LogLimiter(5, 10_000_000_000L, nanoTime);
    }

    /**
     * The contributions of the current plan, by owner; {@code changed}: the owners whose contribution the
     * merge changed, if it knows them all (null: it does not, see {@link IncrementalMerge#changedOwners}).
     */
    void merged(SortedMap<String, Contribution> byOwner, Set<String> changed) {
        merged = byOwner;
        if (changed == null) {
            candidates = null;
        } else if (candidates != null) {
            candidates.addAll(changed);
        }
    }

    int contributions() {
        return merged.size();
    }

    /** The current plan is now in the kernel. */
    void appliedMerged() {
        applied = merged;
        candidates = new TreeSet<>();
    }

    /** Logs what the limiter held back. */
    void drain() {
        limiter.drain().forEach(log::warn);
    }

    /** The owners whose contribution differs from what the last successful apply held, quoted. */
    String changedOwners() {
        List<String> changed = new ArrayList<>();
        if (candidates != null) { // only they can differ: the others are compared by no one
            for (String owner : candidates) {
                if (!Objects.equals(applied.get(owner), merged.get(owner))) {
                    changed.add(owner);
                }
            }
            return quoted(changed);
        }
        // one walk over both (sorted by owner); an unchanged contribution is the very same object
        SortedMerge.walk(applied.entrySet(), merged.entrySet(), Map.Entry.comparingByKey(), (a, m) -> {
            if (a == null || m == null || !m.getValue().equals(a.getValue())) {
                changed.add(a == null ? m.getKey() : a.getKey());
            }
            return true;
        });
        return quoted(changed);
    }

    private static String quoted(List<String> changed) {
        if (changed.isEmpty()) {
            return "none";
        }
        List<String> list = changed;
        String head = String.join(",", list.subList(0, Math.min(3, list.size())));
        return ControlText.quote(list.size() > 3 ? head + ",+" + (list.size() - 3) : head);
    }

    /** Logs one apply; {@code error} null means it succeeded. */
    void apply(String backend, String reason, String owners, Duration took, String error) {
        String line = "apply backend=" + backend + " reason=" + reason + " owners=" + owners + " outcome="
                + (error == null ? "ok" : "failed") + " duration_ms=" + took.toMillis() + " contributions="
                + merged.size() + (error == null ? "" : " error=" + ControlText.quote(error, 500));
        for (String l : limiter.admit(owners, line)) {
            if (error == null || !l.equals(line)) {
                log.info("{}", l);
            } else {
                log.error("{}", l + " (the kernel keeps the previous state; retried at the next change or resync)");
            }
        }
    }
}
