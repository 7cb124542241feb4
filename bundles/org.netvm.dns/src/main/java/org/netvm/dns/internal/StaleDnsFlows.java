package org.netvm.dns.internal;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.function.Supplier;

import org.netvm.dataplane.IpAddress;
import org.netvm.kernel.ConntrackEntry;
import org.netvm.kernel.ConntrackTable;
import org.netvm.kernel.KernelException;
import org.osgi.service.log.Logger;

/**
 * After a mapping is in the kernel: deletes the conntrack entries of guests' DNS flows that still go
 * where an earlier mapping sent them. A DNAT rule is consulted only for a flow's first packet, so
 * without this a guest reusing its source port (UDP) or keeping a TCP connection would keep talking to
 * the old upstream (possibly dead) until the entry expires. Stale: UDP or TCP to port 53 of a virtual
 * address whose reply source is not that address's current upstream (an earlier upstream, or the virtual
 * address itself: a flow that began before any DNAT rule was in place); every such entry of an address
 * that is dropped now. The next packet starts a new entry that the current rules translate.
 */
final class StaleDnsFlows {
    private final Supplier<ConntrackTable> table;
    private final Logger log;

    /** @param table the kernel seam's conntrack table, asked for at each cut */
    StaleDnsFlows(Supplier<ConntrackTable> table, Logger log) {
        this.table = table;
        this.log = log;
    }

    /** Deletes the entries {@code mapping} makes stale; returns how many (0 when the table fails, logged). */
    int cut(DnsMapping mapping) {
        List<InetAddress> virtuals = mapping.entries().stream().map(e -> inet(e.virtual())).toList();
        try {
            int n = table.get().delete(virtuals, e -> stale(mapping, e));
            if (n > 0) {
                log.info("DNS: {} tracked flow(s) to an earlier upstream deleted; their next packet goes to {}", n,
                        mapping);
            }
            return n;
        } catch (KernelException | RuntimeException e) {
            log.warn("DNS: tracked flows to earlier upstreams not deleted (they go there until they expire): {}",
                    e.toString());
            return 0;
        }
    }

    /** Whether {@code e} is a DNS flow to a virtual address that no longer goes where its entry says. */
    static boolean stale(DnsMapping mapping, ConntrackEntry e) {
        if ((e.protocol() != 6 && e.protocol() != 17) || e.original().destinationPort() != DnsRules.PORT) {
            return false;
        }
        for (DnsMapping.Entry m : mapping.entries()) {
            if (inet(m.virtual()).equals(e.original().destination())) {
                return m.upstream() == null || !inet(m.upstream()).equals(e.reply().source());
            }
        }
        return false;
    }

    static InetAddress inet(IpAddress a) {
        try {
            return InetAddress.getByAddress(a.bytes());
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e); // 4 or 16 bytes: cannot happen
        }
    }
}
