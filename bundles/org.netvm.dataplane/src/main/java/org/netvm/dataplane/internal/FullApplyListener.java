package org.netvm.dataplane.internal;

/**
 * Told on the reconciler thread each time a backend has applied the whole plan over a state the dataplane
 * did not know (its first apply after taking charge, a successful take-over, a re-apply after drift or a
 * failed switch). Must return at once: anything slow belongs on another thread ({@link FirewallScripts}).
 */
@FunctionalInterface
interface FullApplyListener {
    FullApplyListener NONE = backend -> {
    };

    void fullApplyDone(String backend);
}
