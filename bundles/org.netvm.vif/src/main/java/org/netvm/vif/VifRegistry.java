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
     * @param synced      the initial xenstore scan and link list are complete (before that nothing is written)
     * @param passes      reconcile passes run
     * @param batches     kernel batches applied
     * @param repairs     drift repairs (operations re-applied by resyncs), all vifs
     * @param lastResync  end of the last full resync, {@code null} before the first
     */
    record Counters(boolean synced, long passes, long batches, long repairs, Instant lastResync) {
    }
}
