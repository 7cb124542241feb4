package org.netvm.status.internal;

import java.net.InetAddress;
import java.util.List;

import org.netvm.dns.UpstreamListener;
import org.osgi.service.component.annotations.Component;

/**
 * What the DNS bundle last said about where guests' queries go. Empty means every query to DNS1/DNS2 is
 * dropped (no usable upstream nameserver): a degraded netvm, reported as {@code dns-no-upstream}. Null
 * until the DNS bundle has spoken (the guest role has none).
 */
@Component(service = {UpstreamListener.class, DnsUpstreams.class})
public final class DnsUpstreams implements UpstreamListener {

    private volatile List<InetAddress> last;

    @Override
    public void upstreams(List<InetAddress> servers) {
        last = List.copyOf(servers);
    }

    /** The upstreams last told, or null if never. */
    List<InetAddress> last() {
        return last;
    }
}
