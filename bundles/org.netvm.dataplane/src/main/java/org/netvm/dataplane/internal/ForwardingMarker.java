package org.netvm.dataplane.internal;

/**
 * Remembers, outside the agent's process, that netvm switched IP forwarding on in this boot and this
 * network namespace. A restarted agent that finds forwarding on and this marker knows the previous
 * run's rules are in force (backends never sweep on stop), so it leaves forwarding on instead of
 * cutting every guest until its first apply. Without the marker, forwarding found on was switched on
 * by someone else and is switched off until the policy is applied (fail closed).
 */
interface ForwardingMarker {

    /** Whether this boot and network namespace carry the marker. */
    boolean present();

    /** Sets the marker (forwarding was switched on after the policy was applied). */
    void set();

    /** Removes the marker (forwarding switched off by netvm). */
    void clear();

    /** No marker (tests): never present, nothing written. */
    ForwardingMarker NONE = new ForwardingMarker() {
        @Override
        public boolean present() {
            return false;
        }

        @Override
        public void set() {
        }

        @Override
        public void clear() {
        }
    };
}
