package org.netvm.firewall.internal;

import java.util.List;
import java.util.function.Predicate;
import org.netvm.dataplane.ChainRef;
import org.netvm.dataplane.IpAddress;
import org.netvm.dataplane.Contribution;

/** The seam to the connection tracking table. */
interface Conntrack {
    /**
     * Deletes the tracked flows whose original source is one of {@code sources} and that {@code which}
     * selects (it must be quick: it may run on the kernel seam's thread).
     *
     * @return how many were deleted
     */
    int delete(List<IpAddress> sources, Predicate<Flow> which);

    /**
     * On a thread of its own: deletes the tracked flows from {@code sources} that the guest's new chain
     * {@code chain} (in its contribution {@code guest}, its DNS lookups in {@code dns}: the DNS servers' sets,
     * {@link FirewallPlanner#dns}) would refuse; allowed flows continue.
     */
    default void cutIfRefused(ChainRef chain, Contribution guest, Contribution dns, List<IpAddress> sources) {
        if (sources.isEmpty()) {
            return;
        }
        Thread.ofVirtual().name("netvm-firewall-conntrack")
                .start(() -> delete(sources, f -> !f.allowedBy(chain, guest, dns)));
    }
}
