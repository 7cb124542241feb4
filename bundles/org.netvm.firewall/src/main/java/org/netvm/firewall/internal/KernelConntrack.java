package org.netvm.firewall.internal;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.netvm.dataplane.IpAddress;
import org.netvm.kernel.ConntrackEntry;
import org.netvm.kernel.ConntrackTable;
import org.netvm.kernel.Kernel;
import org.netvm.kernel.KernelException;
import org.osgi.service.log.Logger;

/**
 * {@link Conntrack} through the kernel seam's ctnetlink table (no process): one listing per address family
 * of the sources, the entries whose original source is a source turned into {@link Flow}s, the chosen
 * ones deleted by their original tuple and id. A cut that fails is logged; the flows then run until they
 * expire, as before the change.
 */
final class KernelConntrack implements Conntrack {
    private final Supplier<ConntrackTable> table;
    private final Logger log;

    /** @param table the kernel seam's table, asked for at each cut ({@link Kernel#conntrack()}) */
    KernelConntrack(Supplier<ConntrackTable> table, Logger log) {
        this.table = table;
        this.log = log;
    }

    @Override
    public int delete(List<IpAddress> sources, Predicate<Flow> which) {
        List<InetAddress> addresses = sources.stream().map(KernelConntrack::inet).toList();
        Set<InetAddress> from = Set.copyOf(addresses);
        Predicate<ConntrackEntry> chosen = e -> {
            if (!from.contains(e.original().source())) {
                return false; // a connection to the guest, or NAT'd to it: not the guest's own flow
            }
            Flow f = Flow.of(e);
            return f != null && which.test(f);
        };
        try {
            int n = table.get().delete(addresses, chosen);
            if (n > 0) {
                log.info("conntrack: cut {} tracked flow(s) of {} that the new firewall rules refuse", n, sources);
            }
            return n;
        } catch (KernelException | RuntimeException e) {
            log.warn("conntrack: flows of {} that the new firewall rules refuse are not cut: {}", sources,
                    e.toString());
            return 0;
        }
    }

    static InetAddress inet(IpAddress a) {
        try {
            return InetAddress.getByAddress(a.bytes());
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e); // 4 or 16 bytes: cannot happen
        }
    }
}
