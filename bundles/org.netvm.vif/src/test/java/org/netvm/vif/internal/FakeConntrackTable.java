package org.netvm.vif.internal;

import java.net.InetAddress;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;

import org.netvm.kernel.ConntrackEntry;
import org.netvm.kernel.ConntrackTable;
import org.netvm.kernel.KernelException;

/** An empty conntrack table that records the addresses of each delete; fails them while {@link #failWith} is set. */
final class FakeConntrackTable implements ConntrackTable {
    final List<List<InetAddress>> deletes = new CopyOnWriteArrayList<>();
    volatile String failWith;

    @Override
    public List<ConntrackEntry> entries(Collection<InetAddress> addresses) {
        return List.of();
    }

    @Override
    public int delete(Collection<InetAddress> addresses, Predicate<ConntrackEntry> which) throws KernelException {
        deletes.add(List.copyOf(addresses));
        if (failWith != null) {
            throw new KernelException(failWith, 0, "", null);
        }
        return 0;
    }
}
