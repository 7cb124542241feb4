package org.netvm.dataplane.internal;

/**
 * IP forwarding of the agent's namespace, as far as a cleanup is concerned: {@code netvm backend
 * cleanup} removes every rule, and routes to the guests stay, so forwarding is switched off first
 * (fail closed) and restored once a backend is in charge again. The seam tests fake.
 */
interface Forwarding {

    /** What was on before {@link #off}. */
    record Saved(boolean ipv4, boolean ipv6) {
        boolean any() {
            return ipv4 || ipv6;
        }
    }

    /** Switches IPv4 and IPv6 forwarding off; returns what was on. */
    Saved off() throws Exception;

    /** Switches on again what {@code saved} says was on. */
    void restore(Saved saved) throws Exception;

    /** No kernel bound (tools, tests): nothing to switch. */
    Forwarding NONE = new Forwarding() {
        @Override
        public Saved off() {
            return new Saved(false, false);
        }

        @Override
        public void restore(Saved saved) {
        }
    };
}
