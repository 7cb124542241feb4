package org.netvm.vif.internal;

import java.lang.System.Logger.Level;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Predicate;

import org.netvm.dataplane.Contribution;
import org.netvm.kernel.Batch;
import org.netvm.kernel.BatchException;
import org.netvm.kernel.Kernel;
import org.netvm.kernel.KernelException;
import org.netvm.kernel.Op;
import org.netvm.vif.VifState.Actual;

/**
 * Applies the plans of one pass, for all vifs together, phase by phase (see {@link VifReconciler}):
 * one kernel batch per phase, the conntrack purge alongside, and the anti-spoof elements confirmed
 * by the dataplane before any link comes up. A failure is charged to its vif only. Keeps the book of
 * what is applied: each vif's programmed spec, and each vif's contribution the dataplane confirmed.
 */
final class VifExecutor {
    private static final System.Logger LOG = System.getLogger(VifReconciler.class.getName());

    /** The owner id that tells the dataplane that the vifs' elements of the first pass are recorded. */
    static final String READY_OWNER = "vif";

    /** What a vif is after the pass. {@code attached}: programmed anew; {@code detached}: torn down from programmed. */
    record Settled(Actual actual, boolean attached, boolean detached) {
    }

    private final Kernel kernel;
    private final AntiSpoof antiSpoof;
    private final Conntrack conntrack;
    private final long dataplaneTimeoutMillis;
    private final Runnable batchApplied;

    // ---- reconciler thread
    private final Map<String, Applied> applied = new HashMap<>();
    /** The guest addresses of {@link #applied}: who holds each (one vif, but kept right if ever more). */
    private final Map<InetAddress, Set<String>> holders = new HashMap<>();
    private final Map<String, Contribution> contributed = new HashMap<>();
    private boolean announced;

    /** @param batchApplied called for each kernel batch (a metric) */
    VifExecutor(Kernel kernel, AntiSpoof antiSpoof, Conntrack conntrack, long dataplaneTimeoutMillis,
            Runnable batchApplied) {
        this.kernel = kernel;
        this.antiSpoof = antiSpoof;
        this.conntrack = conntrack;
        this.dataplaneTimeoutMillis = dataplaneTimeoutMillis;
        this.batchApplied = batchApplied;
    }

    Map<String, Applied> applied() {
        return applied;
    }

    /** The vifs whose applied spec holds each guest address (read-only; the address guard's index). */
    Map<InetAddress, Set<String>> holders() {
        return java.util.Collections.unmodifiableMap(holders);
    }

    Map<String, Contribution> contributed() {
        return contributed;
    }

    /**
     * Applies the plans; {@code full}: the first full pass also tells the dataplane the vifs are
     * recorded. {@code mark} is told when each phase is done (the per-step breakdown).
     */
    void execute(List<VifPlan> plans, boolean full, Consumer<Steps.Step> mark) {
        // 0. withdraw the anti-spoof elements of vifs going away
        withdraw(plans);
        // 4a. the anti-spoof elements of vifs whose link is down go to the dataplane at once, so that it
        //     applies them while the kernel batches below run (at start: its first apply, alongside the
        //     creation of every vif's kernel objects); nothing passes a link that is down, and it comes
        //     up only once they are confirmed (step 5)
        //     (a pass for a few vifs puts them with the others in 4b: its dataplane work is a fraction of a
        //     millisecond, and started here it only takes the CPU from the batches below on a 2-CPU machine)
        List<Put> early = plans.size() <= LinkInput.PER_DEVICE_LIMIT ? List.of()
                : startPuts(plans, p -> !p.link.up(), full, plans.stream().noneMatch(p -> wantsPut(p) && p.link.up()));
        // 1. stale deletes and sysctls
        applyBatch(plans, p -> {
            List<Op> ops = new ArrayList<>(p.deletes);
            ops.addAll(p.sysctls);
            return ops;
        }, true);
        mark.accept(Steps.Step.SYSCTLS);
        // 2. conntrack: started now, runs (a process) alongside 3 and 4, finished before any link comes up
        List<InetAddress> purge = new ArrayList<>();
        plans.stream().filter(p -> !p.failed || p.teardown).forEach(p -> purge.addAll(new LinkedHashSet<>(p.purge)));
        CompletableFuture<Void> purged = purge.isEmpty() ? CompletableFuture.completedFuture(null)
                : conntrack.start(purge);
        // 3. neighbours
        applyBatch(plans, p -> p.neighbours, false);
        mark.accept(Steps.Step.NEIGHBOURS);
        // 4b. the elements of vifs whose link is up (a changed address: after its stale objects went),
        //     then every vif's elements confirmed before any link comes up
        List<Put> late = startPuts(plans, p -> p.link.up() || early.isEmpty(), full, true);
        awaitPuts(early);
        awaitPuts(late);
        mark.accept(Steps.Step.ANTI_SPOOF);
        purged(plans, purged);
        mark.accept(Steps.Step.CONNTRACK);
        // 5. link up, routes, addresses
        applyBatch(plans, p -> p.upOps, false);
        mark.accept(Steps.Step.LINK_UP);
    }

    /**
     * Waits for the conntrack purge; a vif being programmed whose addresses were not purged fails
     * before its link comes up (a new domain reusing an address must not inherit state, issue 11 #5).
     * A failure while tearing down is logged only.
     */
    private void purged(List<VifPlan> plans, CompletableFuture<Void> purged) {
        try {
            purged.join();
        } catch (CompletionException e) {
            Throwable cause = e.getCause() == null ? e : e.getCause();
            Set<InetAddress> failed = cause instanceof Conntrack.PurgeException pe ? pe.failed() : null;
            String why = cause instanceof Conntrack.PurgeException ? cause.getMessage() : String.valueOf(cause);
            LOG.log(Level.WARNING, "conntrack purge failed: " + why);
            for (VifPlan p : plans) {
                if (p.program && !p.failed && p.purge.stream().anyMatch(a -> failed == null || failed.contains(a))) {
                    p.fail(p.name() + ": " + why + " (link left down)");
                }
            }
        }
    }

    /**
     * Withdraws contributions and waits for those the dataplane had confirmed. A withdrawal of one
     * never confirmed (a vif the first pass finds without a valid entry, in case an earlier instance
     * left one) is not waited for: after a start the dataplane applies nothing before this pass's
     * {@link #READY_OWNER}, so waiting would stall the start by the dataplane timeout per such vif
     * (issue 15 #6).
     */
    private void withdraw(List<VifPlan> plans) {
        List<CompletableFuture<Void>> removals = new ArrayList<>();
        List<VifPlan> removing = new ArrayList<>();
        for (VifPlan p : plans) {
            if (!p.removeContribution) {
                continue;
            }
            CompletableFuture<Void> f = antiSpoof.remove(AntiSpoof.owner(p.name())).toCompletableFuture();
            if (contributed.containsKey(p.name())) {
                removals.add(f);
                removing.add(p);
            } else {
                f.whenComplete((v, e) -> {
                    if (e != null) {
                        LOG.log(Level.WARNING, "withdrawing stale anti-spoof elements of " + p.name() + " failed: " + e);
                    }
                });
            }
        }
        for (int i = 0; i < removals.size(); i++) {
            VifPlan p = removing.get(i);
            String err = await(removals.get(i));
            if (err == null) {
                contributed.remove(p.name());
            } else {
                p.teardownFailed = true;
                p.fail(p.name() + ": withdrawing anti-spoof elements failed: " + err);
            }
        }
    }

    /** A vif's elements handed to the dataplane, and the dataplane's answer to come. */
    private record Put(VifPlan plan, CompletableFuture<Void> confirmed) {
    }

    /** Whether the plan programs a vif whose elements differ from what the dataplane confirmed. */
    private static boolean wantsPut(VifPlan p) {
        return p.program && !p.failed && p.contribution != null;
    }

    /**
     * Hands the elements of the plans that want a put and match {@code which} to the dataplane; with
     * {@code announce}, every put of this pass is now made and the first full pass tells the dataplane so.
     */
    private List<Put> startPuts(List<VifPlan> plans, Predicate<VifPlan> which, boolean full, boolean announce) {
        List<Put> puts = plans.stream().filter(p -> wantsPut(p) && which.test(p))
                .map(p -> new Put(p, antiSpoof.put(p.contribution).toCompletableFuture())).toList();
        if (announce && full && !announced) {
            // After a start the dataplane writes nothing until this owner is present (its
            // requiredOwners): by now every vif's elements are recorded, so the first apply already
            // holds them and no working guest loses a packet to an anti-spoof set without it.
            antiSpoof.put(Contribution.empty(READY_OWNER));
            announced = true;
        }
        return puts;
    }

    /**
     * Waits for the dataplane's answers; a refused contribution fails its vif. A vif that failed after
     * its elements went in (early, its link down: it stays down) has them withdrawn again, as a failed
     * vif has none; if that fails they stay booked, so that a later pass withdraws them.
     */
    private void awaitPuts(List<Put> puts) {
        for (Put put : puts) {
            VifPlan p = put.plan();
            String err = await(put.confirmed());
            if (err != null) {
                if (!p.failed) {
                    p.fail(p.name() + ": anti-spoof elements not applied, link left as it was: " + err);
                }
            } else if (!p.failed) {
                contributed.put(p.name(), p.contribution);
            } else if (await(antiSpoof.remove(AntiSpoof.owner(p.name())).toCompletableFuture()) == null) {
                contributed.remove(p.name());
            } else {
                contributed.put(p.name(), p.contribution);
            }
        }
    }

    /** Waits for a dataplane future with the configured limit; returns null on success, else the error. */
    private String await(CompletableFuture<Void> f) {
        try {
            f.get(dataplaneTimeoutMillis, TimeUnit.MILLISECONDS);
            return null;
        } catch (TimeoutException e) {
            return "the dataplane did not confirm within " + dataplaneTimeoutMillis + " ms";
        } catch (ExecutionException e) {
            return String.valueOf(e.getCause() == null ? e : e.getCause().getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }

    /**
     * Applies the chosen operations of all (not yet failed) vifs as one batch and charges each
     * failure to its vif. With {@code tolerateMissing}, failed deletes of objects already gone are fine.
     */
    private void applyBatch(List<VifPlan> plans, Function<VifPlan, List<Op>> pick, boolean tolerateMissing) {
        Batch batch = new Batch();
        List<VifPlan> owners = new ArrayList<>();
        for (VifPlan p : plans) {
            if (p.failed && !p.teardown) {
                continue;
            }
            for (Op op : pick.apply(p)) {
                batch.add(op);
                owners.add(p);
            }
        }
        if (batch.isEmpty()) {
            return;
        }
        batchApplied.run();
        LOG.log(Level.DEBUG, () -> "applying\n" + batch.render());
        try {
            kernel.apply(batch);
        } catch (BatchException e) {
            for (BatchException.Failure f : e.failures()) {
                boolean delete = f.op() instanceof Op.RouteDelete || f.op() instanceof Op.NeighbourDelete
                        || f.op() instanceof Op.AddressDelete;
                if (tolerateMissing && delete && f.isMissing()) {
                    continue;
                }
                VifPlan p = owners.get(f.index());
                p.teardownFailed |= p.teardown;
                p.fail(p.name() + ": " + f);
            }
        } catch (KernelException e) {
            Set<VifPlan> hit = new LinkedHashSet<>(owners);
            hit.forEach(p -> {
                p.teardownFailed |= p.teardown;
                p.fail(p.name() + ": " + e.getMessage());
            });
        }
    }

    /** Sets (null: removes) a vif's applied spec, and its addresses in {@link #holders}. */
    private void book(String name, Applied now) {
        Applied old = now == null ? applied.remove(name) : applied.put(name, now);
        if (old != null) {
            for (InetAddress a : AddressGuard.addresses(old.spec())) {
                Set<String> s = holders.get(a);
                s.remove(name);
                if (s.isEmpty()) {
                    holders.remove(a);
                }
            }
        }
        if (now != null) {
            AddressGuard.addresses(now.spec()).forEach(a -> holders.computeIfAbsent(a, k -> new java.util.TreeSet<>()).add(name));
        }
    }

    /** Books what the pass did to one vif and says what the vif is now. */
    Settled settle(VifPlan p) {
        String name = p.name();
        if (p.program && !p.failed) {
            Applied now = new Applied(p.spec, p.link.index());
            boolean attached = !now.equals(p.before);
            book(name, now);
            return new Settled(Actual.PROGRAMMED, attached, false);
        }
        if (!p.teardown) {
            return new Settled(Actual.FAILED, false, false);
        }
        boolean detached = p.before != null && !p.teardownFailed;
        if (detached) {
            book(name, null);
        }
        Actual actual = p.failed ? Actual.FAILED : p.pending != null ? Actual.PENDING : Actual.ABSENT;
        return new Settled(actual, false, detached);
    }
}
