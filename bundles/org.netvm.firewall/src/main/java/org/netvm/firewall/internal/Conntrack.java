package org.netvm.firewall.internal;

import java.util.List;
import org.netvm.dataplane.ChainRef;
import org.netvm.dataplane.IpAddress;
import org.netvm.dataplane.Rule;

/** The seam to the connection tracking table. */
interface Conntrack {
    /** The tracked flows whose original source is {@code source}. */
    List<Flow> flowsFrom(IpAddress source);

    /** Deletes the entries of {@code flow} (original source, original destination, protocol, port). */
    void delete(Flow flow);

    /**
     * On a thread of its own: deletes the tracked flows from {@code sources} that the guest's new chain
     * {@code chain} (its {@code rules}) would refuse; allowed flows continue.
     */
    default void cutIfRefused(ChainRef chain, List<Rule> rules, List<IpAddress> sources) {
        Thread.ofVirtual().name("netvm-firewall-conntrack").start(() -> {
            for (IpAddress s : sources) {
                for (Flow f : flowsFrom(s)) {
                    if (!f.allowedBy(chain, rules)) {
                        delete(f);
                    }
                }
            }
        });
    }
}
