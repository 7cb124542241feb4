package org.netvm.dns;

import java.net.InetAddress;
import java.util.List;

import org.osgi.annotation.versioning.ConsumerType;
import org.osgi.annotation.versioning.ProviderType;

/**
 * A list of upstream nameservers, registered as a whiteboard service (see the package documentation
 * for how one source is chosen).
 *
 * <p>The chosen source is followed even when its list is empty or has no IPv4 address: then DNS
 * queries of guests are dropped, never passed on to another source's servers (a VPN source that
 * lost its servers must not leak queries to the uplink's).
 *
 * <p>Change signalling: the source calls {@link Listener#changed()} of every subscribed listener
 * whenever {@link #nameservers()} may return something different; netvm then re-reads
 * {@code nameservers()} on its own thread within about a millisecond and updates the DNAT rules only if
 * the resulting mapping differs. Spurious calls are harmless. Changing the source's
 * {@code service.ranking} (through its {@code ServiceRegistration}) takes effect at once too. A source that
 * throws from {@code nameservers()} counts as empty (queries dropped) and is logged. A simple implementation:
 *
 * <pre>{@code
 * @Component(property = Constants.SERVICE_RANKING + ":Integer=100")
 * public final class VpnNameservers implements NameserverSource {
 *     private final Set<Listener> listeners = ConcurrentHashMap.newKeySet();
 *     private volatile List<InetAddress> servers = List.of();
 *
 *     public List<InetAddress> nameservers() { return servers; }
 *
 *     public Subscription subscribe(Listener l) {
 *         listeners.add(l);
 *         return () -> listeners.remove(l);
 *     }
 *
 *     void tunnelUp(List<InetAddress> pushed) {      // called by the VPN code
 *         servers = List.copyOf(pushed);
 *         listeners.forEach(Listener::changed);
 *     }
 * }
 * }</pre>
 */
@ConsumerType
public interface NameserverSource {

    /** Optional service property: a short name of the source for logs ({@code system}, {@code vpn}). */
    String NAME = "netvm.dns.source";

    /** The {@code service.ranking} of netvm's built-in source; register with a higher one to replace it. */
    int BUILTIN_RANKING = -1000;

    /**
     * The upstream nameservers now, most preferred first. Must return quickly without blocking and must
     * not resolve names (build addresses with {@link InetAddress#getByAddress(byte[])}). Only IPv4
     * unicast addresses that are not loopback are used, the first two distinct ones; others are ignored.
     */
    List<InetAddress> nameservers();

    /**
     * Registers {@code listener} until the returned subscription is closed. The source calls it, on any
     * thread, after {@link #nameservers()} may have changed; the call returns at once. netvm subscribes
     * when the source's service appears, on the thread that registered it, so this must return at once
     * (no I/O); if it throws, the source is still used but its changes are not followed.
     */
    Subscription subscribe(Listener listener);

    /** Told that {@link NameserverSource#nameservers()} may have changed. Implemented by netvm. */
    @ProviderType
    @FunctionalInterface
    interface Listener {
        void changed();
    }

    /** Ends a {@link #subscribe subscription}; closing twice is harmless. */
    @ConsumerType
    @FunctionalInterface
    interface Subscription extends AutoCloseable {
        @Override
        void close();
    }
}
