package org.netvm.firewall.internal;

import java.util.List;
import org.netvm.dataplane.IpAddress;

/** The seam to the connection tracking table. */
interface Conntrack {
    /** The tracked flows whose original source is {@code source}. */
    List<Flow> flowsFrom(IpAddress source);

    /** Deletes the entries of {@code flow} (original source, original destination, protocol, port). */
    void delete(Flow flow);
}
