package org.netvm.vif.internal;

import java.net.InetAddress;
import java.util.Collection;
import java.util.List;

import org.netvm.kernel.IpPrefix;

/** Records purges in the trace. */
final class FakeConntrack implements Conntrack {
    private final List<String> trace;

    FakeConntrack(List<String> trace) {
        this.trace = trace;
    }

    @Override
    public void purge(Collection<InetAddress> addresses) {
        trace.add("conntrack purge " + String.join(" ", addresses.stream().map(IpPrefix::text).toList()));
    }
}
