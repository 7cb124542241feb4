package org.netvm.vif;

import java.util.Objects;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * Called after a vif came online (everything programmed) or went offline (everything removed): the
 * equivalent of Qubes' network hooks. Register as a service (whiteboard); every registered hook is
 * called for every vif of this netvm. Executables in the directory {@code networkHooksDirectory}
 * (configuration PID {@code org.netvm.vif}, default {@code /etc/netvm/network-hooks.d}) are run by a
 * built-in hook with Qubes' arguments {@code online|offline VIF TYPE ADDRESS}, once per address.
 *
 * <p>Guarantees, so that a hook can never hurt a guest:
 * <ul>
 * <li>The vif is programmed (or removed) before the call and independently of it: a hook cannot veto,
 * delay or undo it. ONLINE means: routes, neighbour entry and anti-spoof elements are in place and the
 * hotplug script was (or is being) told {@code connected}.</li>
 * <li>Each call runs on its own (virtual) thread, never on netvm's threads. A call that throws is logged
 * (WARNING, with the hook's class name) and forgotten; a call that runs longer than
 * {@code hookTimeoutSeconds} (configuration PID {@code org.netvm.vif}, default 10) is logged and
 * interrupted. Neither delays other hooks or other vifs.</li>
 * <li>Calls of one hook for one vif arrive in event order, one at a time: the next starts when the previous
 * returned, threw or ran out of time. Calls for different vifs may run concurrently, so a hook keeping state
 * across vifs must be thread safe.</li>
 * <li>A hook registered after a vif came online is not called for it retroactively; query
 * {@link VifRegistry#vifs()} if it needs the current vifs. A hook unregistered while calls wait for it is
 * not called any more.</li>
 * </ul>
 * A hook should be quick and tolerate being interrupted; long work belongs on the hook's own executor.
 *
 * <pre>{@code
 * @Component
 * public final class LogVifs implements VifHook {
 *     public void vifChanged(Event e) {
 *         System.out.println(e.action() + " " + e.vif() + " domid " + e.domid() + " " + e.ipv4());
 *     }
 * }
 * }</pre>
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

    /**
     * Told that {@code event.vif()} came online or went offline. See the class documentation for threads,
     * ordering and time limits.
     *
     * @throws Exception anything; it is logged and has no other effect
     */
    void vifChanged(Event event) throws Exception;
}
