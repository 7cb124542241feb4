package org.netvm.dataplane.internal;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import org.netvm.dataplane.OwnedState;
import org.netvm.dataplane.Plan;

/**
 * What the operator commands need beyond {@link org.netvm.dataplane.Dataplane}; registered by the
 * reconciler under this internal type, so only this bundle sees it.
 */
public interface BackendControl {

    /**
     * Completes once the reconciler, configured for {@code name}, has that backend in charge and in
     * sync (with a line saying so), or exceptionally with the reason it has not (not available, apply
     * or verification failed: the previous backend stays in charge). Only a pass that saw a configuration
     * change or a {@link #retry()} made after this call answers, so call this first, then change the
     * configuration (or retry if it already names {@code name}).
     */
    CompletableFuture<String> awaitBackend(String name);

    /** Forgets an earlier failed take-over and a cleanup, so the configured backend is tried again. */
    void retry();

    /**
     * Sweeps every registered backend (removes everything netvm owns in the kernel) and stops applying
     * until {@link #retry()} or a configuration change. Completes with one line per backend.
     */
    CompletableFuture<List<String>> cleanup();

    /**
     * A dry run on the reconciler thread: what the active backend (else the configured one) would own for
     * the current plan, in its canonical text, and what the kernel holds now.
     */
    CompletableFuture<DryRun> dryRun();

    /**
     * The answer of {@link #dryRun()}.
     *
     * @param plan          the merged plan
     * @param contributions contributions in the plan
     * @param leftOut       why each left-out contribution conflicts, by owner
     * @param requested     the configured backend name
     * @param backend       the backend asked (the one in charge, else the configured one), or null if none
     * @param inCharge      whether {@code backend} is in charge
     * @param expected      what {@code backend} would own for the plan (null without a backend)
     * @param actual        what it owns now (null without a backend or if the read-back failed)
     * @param readBackError why the read-back failed, or null
     */
    record DryRun(Plan plan, int contributions, Map<String, String> leftOut, String requested, String backend,
            boolean inCharge, OwnedState expected, OwnedState actual, String readBackError) {
    }
}
