package org.netvm.vif;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

import org.osgi.annotation.versioning.ProviderType;

/** The vifs the netvm knows, desired versus actual (for {@code netvm status}). */
@ProviderType
public interface VifRegistry {

    /** All known vifs, sorted by domid, then devid. */
    List<VifState> vifs();

    /** One vif by interface name. */
    Optional<VifState> vif(String name);

    /** Counters of the reconciler. */
    Counters counters();

    /**
     * Seconds from the first event about a vif (xenstore, link, hotplug) to the end of the pass that
     * programmed it, over all vifs since start (for metrics). Empty if the implementation does not
     * measure it.
     *
     * @since 1.1
     */
    default Histogram programmingSeconds() {
        return new Histogram(List.of(), List.of(), 0, 0);
    }

    /**
     * A snapshot of a histogram in the Prometheus style: {@code cumulativeCounts.get(i)} observations
     * were at most {@code bounds.get(i)}; {@code count} includes those above the last bound.
     *
     * @param bounds           upper bounds, ascending
     * @param cumulativeCounts observations at most each bound
     * @param count            all observations
     * @param sum              the sum of all observations
     * @since 1.1
     */
    record Histogram(List<Double> bounds, List<Long> cumulativeCounts, long count, double sum) {
        public Histogram {
            bounds = List.copyOf(bounds);
            cumulativeCounts = List.copyOf(cumulativeCounts);
            if (bounds.size() != cumulativeCounts.size()) {
                throw new IllegalArgumentException("one count per bound");
            }
        }
    }

    /**
     * @param synced      the initial xenstore scan and link list are complete (before that nothing is written)
     * @param passes      reconcile passes run
     * @param batches     kernel batches applied
     * @param repairs     drift repairs (operations re-applied by resyncs), all vifs
     * @param lastResync  end of the last full resync, {@code null} before the first
     */
    record Counters(boolean synced, long passes, long batches, long repairs, Instant lastResync) {
    }
}
