package org.netvm.dataplane.internal;

/**
 * The two forwarding sysctls of the agent's network namespace: the seam {@link IpForwarding} writes
 * through and tests fake.
 */
interface ForwardingSysctls {

    /** What is on. */
    record State(boolean ipv4, boolean ipv6) {
        boolean any() {
            return ipv4 || ipv6;
        }
    }

    /** What is on now (IPv6 reads as off where IPv6 is disabled). */
    State read() throws Exception;

    /** Writes the given values in one batch; null leaves that one as it is. */
    void write(Boolean ipv4, Boolean ipv6) throws Exception;

    /** No kernel bound (tools, tests): nothing is on, nothing is written. */
    ForwardingSysctls NONE = new ForwardingSysctls() {
        @Override
        public State read() {
            return new State(false, false);
        }

        @Override
        public void write(Boolean ipv4, Boolean ipv6) {
        }
    };
}
