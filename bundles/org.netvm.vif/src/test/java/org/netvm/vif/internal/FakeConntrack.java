package org.netvm.vif.internal;

import java.net.InetAddress;
import java.util.Collection;
import java.util.List;

import org.netvm.kernel.IpPrefix;

/** Records purges in the trace; fails them while {@link #failWith} is set. */
final class FakeConntrack implements Conntrack {
    private final List<String> trace;
    volatile String failWith;

    FakeConntrack(List<String> trace) {
        this.trace = trace;
    }

    @Override
    public void purge(Collection<InetAddress> addresses) throws PurgeException {
        trace.add("conntrack purge " + String.join(" ", addresses.stream().map(IpPrefix::text).toList()));
        if (failWith != null) {
            throw new PurgeException(addresses, failWith);
        }
    }
}
