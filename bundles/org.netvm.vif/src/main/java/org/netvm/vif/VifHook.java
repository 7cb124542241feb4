package org.netvm.vif;

import java.util.Objects;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * Called after a vif came online (everything programmed) or went offline (everything removed): the
 * equivalent of Qubes' {@code /etc/qubes/network-hooks.d}. Register as a service (whiteboard).
 *
 * <p>Each call runs on its own thread with a time limit; a hook that throws or hangs is logged and
 * never delays programming or other vifs. Calls for different vifs may run concurrently.
 */
@ConsumerType
@FunctionalInterface
public interface VifHook {

    /** What happened. */
    enum Action {
        ONLINE, OFFLINE
    }

    /**
     * @param action  online or offline
     * @param vif     interface name, {@code vifD.N}
     * @param domid   the guest's domain id
     * @param type    the vif type, {@code vif} (routed) for all vifs of this bundle
     * @param ipv4    the guest's IPv4 address
     * @param ipv6    the guest's IPv6 address, {@code null} without one
     * @param gateway the netvm's address on the vif, {@code null} without one
     */
    record Event(Action action, String vif, int domid, String type, String ipv4, String ipv6, String gateway) {
        public Event {
            Objects.requireNonNull(action, "action");
            Objects.requireNonNull(vif, "vif");
            Objects.requireNonNull(type, "type");
        }
    }

    void vifChanged(Event event) throws Exception;
}
