package org.netvm.vif.internal;

import java.net.InetAddress;
import java.util.Collection;
import java.util.List;

import org.netvm.kernel.ConntrackTable;
import org.netvm.kernel.IpPrefix;
import org.netvm.kernel.Kernel;
import org.netvm.kernel.KernelException;

/**
 * {@link Conntrack} through the kernel seam's ctnetlink table of the namespace the seam is bound to
 * (no process): one listing per address family, then a delete of every entry in which an address is
 * source or destination of either direction. A purge that cannot be made fails naming every
 * address: a new domain reusing an address must not inherit state (issue 11 #5).
 */
final class KernelConntrack implements Conntrack {
    private final Kernel kernel;

    KernelConntrack(Kernel kernel) {
        this.kernel = kernel;
    }

    @Override
    public void purge(Collection<InetAddress> addresses) throws PurgeException {
        if (addresses.isEmpty()) {
            return;
        }
        List<InetAddress> copy = List.copyOf(addresses);
        try {
            ConntrackTable table = kernel.conntrack();
            table.delete(copy);
        } catch (KernelException | UnsupportedOperationException e) {
            throw new PurgeException(copy, "conntrack purge of " + String.join(" ", copy.stream().map(IpPrefix::text)
                    .toList()) + " failed: " + VifStatus.logText(String.valueOf(e.getMessage())));
        }
    }
}
