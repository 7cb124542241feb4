package org.netvm.dataplane;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletionStage;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The dataplane as feature bundles see it: each owner hands in its whole desired packet-filter state
 * as a {@link Contribution}; the dataplane merges all contributions into one {@link Plan} and keeps
 * the active {@link PacketFilterBackend} equal to it (batched applies, periodic drift repair, hot swap
 * of the backend).
 *
 * <p>Calls only record desired state and return at once; the returned stage completes when the
 * active backend has applied a plan containing the change. A caller that must not proceed before the
 * kernel enforces its state (e.g. anti-spoof elements before a link comes up) waits on it, with a
 * timeout: while no backend is active the stage stays pending (the state is applied as soon as one
 * is). Stages complete on a notification thread, never on the caller's or the reconciler's thread.
 *
 * <p>Whiteboard: a {@link Contribution} object registered as a service (objectClass
 * {@code org.netvm.dataplane.Contribution}) is merged like a {@link #put} of its owner and withdrawn
 * when the service is unregistered. An owner must contribute through one way only.
 */
@ProviderType
public interface Dataplane {

    /**
     * Replaces everything {@code contribution.owner()} contributed.
     *
     * @return completes normally once the active backend applied a plan containing the contribution;
     *         exceptionally with the {@link BackendException} if that apply failed (the contribution
     *         stays desired and is retried), or with {@link IllegalArgumentException} if it conflicts
     *         with other contributions (it stays desired, left out of the plan until the conflict is
     *         gone)
     */
    CompletionStage<Void> put(Contribution contribution);

    /**
     * Withdraws everything {@code owner} contributed through {@link #put}; completes like {@link #put}.
     * Unknown owners are fine (the stage completes at the next apply).
     */
    CompletionStage<Void> remove(String owner);

    /**
     * What the agent's network namespace should forward.
     *
     * @since 1.2
     */
    enum Forwarding {
        /** Nothing: guests are not routed. */
        OFF,
        /** IPv4 ({@code net.ipv4.ip_forward}). */
        IPV4,
        /** IPv4 and IPv6 ({@code net.ipv6.conf.all.forwarding}, which also stops router advertisements being taken). */
        IPV4_AND_IPV6
    }

    /**
     * Asks for IP forwarding. The dataplane is its one owner, because only it knows whether netvm's rules
     * are in force: forwarding found on at start is switched off unless a previous run's rules are still in
     * force; it is switched on only while the backend in charge holds the plan with every required owner
     * (fail closed), and off before {@code netvm backend cleanup} sweeps. Asking for {@link Forwarding#IPV4}
     * again after IPv6 was on switches IPv6 off; {@link Forwarding#OFF} switches IPv6 off only if it was
     * switched on this way. A stopping dataplane leaves forwarding as it is (a restart cuts no flow).
     *
     * @return completes once forwarding is as asked (for on: waits while the plan is not in force), or
     *         exceptionally if the kernel refused (nothing is retried: ask again)
     * @since 1.2
     */
    default CompletionStage<Void> forwarding(Forwarding wanted) {
        return java.util.concurrent.CompletableFuture.failedStage(
                new UnsupportedOperationException("this dataplane does not switch IP forwarding"));
    }

    /** The merged desired plan (without contributions left out for conflicts). */
    Plan plan();

    /** A snapshot of what the dataplane is doing. */
    Status status();

    /**
     * Applies per backend name since start, sorted by name (for metrics); empty if the implementation
     * does not keep them.
     *
     * @since 1.1
     */
    default List<BackendStatistics> backendStatistics() {
        return List.of();
    }

    /**
     * What one backend (by name) did since start. A switch to it counts as one apply.
     *
     * @param backend      the backend's name
     * @param applies      successful applies
     * @param failures     failed applies (including failed switches to it)
     * @param applySeconds how long its applies took, successful or not
     * @since 1.1
     */
    record BackendStatistics(String backend, long applies, long failures, Histogram applySeconds) {
        public BackendStatistics {
            Objects.requireNonNull(backend, "backend");
            Objects.requireNonNull(applySeconds, "applySeconds");
        }
    }

    /**
     * A snapshot of a histogram in the Prometheus style: {@code cumulativeCounts.get(i)} observations
     * were at most {@code bounds.get(i)}; {@code count} includes those above the last bound.
     *
     * @param bounds           upper bounds, ascending
     * @param cumulativeCounts observations at most each bound
     * @param count            all observations
     * @param sum              the sum of all observations
     * @since 1.1
     */
    record Histogram(List<Double> bounds, List<Long> cumulativeCounts, long count, double sum) {
        public Histogram {
            bounds = List.copyOf(bounds);
            cumulativeCounts = List.copyOf(cumulativeCounts);
            if (bounds.size() != cumulativeCounts.size()) {
                throw new IllegalArgumentException("one count per bound");
            }
        }
    }

    /**
     * What the dataplane is doing.
     *
     * @param activeBackend     the name of the backend in charge, or null if none is
     * @param requestedBackend  the configured backend name
     * @param requestFailure    null, or why the requested backend is not the active one (not available,
     *                          or it failed to take over: "requested but failed")
     * @param availableBackends names of all registered backends, sorted
     * @param inSync            whether the active backend holds the current plan and no drift is pending
     * @param lastApply         when the last successful apply ended, or null
     * @param lastApplyDuration how long the last apply (successful or not) took, or {@link Duration#ZERO}
     * @param applies           successful applies since start
     * @param failures          failed applies, verifications and sweeps since start
     * @param driftRepairs      re-applies because the kernel differed from the applied plan
     * @param lastError         the last error, or null (cleared by the next successful apply)
     * @param contributions     contributions (put and whiteboard) in the plan
     * @param rejected          contributions left out because they conflict
     * @param elements          set elements in the plan
     */
    record Status(String activeBackend, String requestedBackend, String requestFailure,
            List<String> availableBackends, boolean inSync, Instant lastApply, Duration lastApplyDuration,
            long applies, long failures, long driftRepairs, String lastError, int contributions, int rejected,
            int elements) {

        public Status {
            availableBackends = List.copyOf(availableBackends);
            if (lastApplyDuration == null) {
                lastApplyDuration = Duration.ZERO;
            }
        }
    }
}
