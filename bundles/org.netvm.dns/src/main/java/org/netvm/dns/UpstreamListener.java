package org.netvm.dns;

import java.net.InetAddress;
import java.util.List;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * Told where guests' DNS queries go now: the upstream nameservers the virtual DNS addresses (DNS1/DNS2)
 * are mapped onto (DNAT), as chosen from the {@link NameserverSource} whiteboard. Register an
 * implementation as a whiteboard service; the per-guest firewall uses it for {@code specialtarget=dns}
 * and to re-resolve names when the nameservers change.
 *
 * @since 1.1
 */
@ConsumerType
@FunctionalInterface
public interface UpstreamListener {

    /**
     * The upstreams now, DNS1's first, without repeats; empty while queries are dropped (no usable
     * upstream). Called on netvm's DNS thread once soon after the listener is registered and then after
     * every change of the list; must return at once (hand the work to a thread of your own).
     */
    void upstreams(List<InetAddress> servers);
}
