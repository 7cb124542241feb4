package org.netvm.vif.internal;

import java.lang.System.Logger.Level;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;

import org.netvm.kernel.Kernel;
import org.netvm.kernel.KernelException;
import org.netvm.kernel.LinkEvent;
import org.netvm.util.Reconciler;
import org.netvm.vif.VifRegistry;
import org.netvm.vif.VifState;
import org.netvm.vif.VifState.Actual;
import org.netvm.xenstore.XenStore;
import org.netvm.xenstore.XenStoreException;

/**
 * Desired state and the one thread that programs it; wires the steps of a pass, one file each:
 * <ul>
 * <li>inputs only <em>record</em> ({@link VifEvents}): xenstore watches ({@link XenstoreInput}), link
 * events ({@link LinkInput}), the hotplug command ({@link #hotplug}: a vif's intent, online/offline);</li>
 * <li>the pass (on the {@link Reconciler} thread) takes what accumulated, re-reads the inputs those
 * records point at, reads back what the kernel has on the vif devices ({@link KernelObjects}: routes
 * of protocol netvm, permanent neighbours, global host addresses);</li>
 * <li>the pure {@link VifPlanner} validates the inputs into a {@link VifSpec} per vif and plans only the
 * difference ({@link VifPlan});</li>
 * <li>the {@link VifExecutor} applies the plans of all dirty vifs together, in the order of vif-route-qubes:
 * <ol>
 * <li>dataplane: withdraw contributions of vifs going away; in a pass for many vifs (a start), put the
 * anti-spoof elements of vifs whose link is down (the dataplane applies them while the batches run);</li>
 * <li>batch 1: deletes of stale objects, {@code proxy_arp} / {@code proxy_ndp};</li>
 * <li>conntrack purge of new and departed guest addresses;</li>
 * <li>batch 2: permanent neighbours;</li>
 * <li>dataplane: anti-spoof elements of the other vifs (in a pass for a few, all of them: started earlier
 * their fraction of a millisecond only took the CPU from the batches); every put waited for until the backend
 * applied it;</li>
 * <li>batch 3: link group 2 + up (only for vifs whose elements are in place), host routes, gateway address;</li>
 * </ol></li>
 * <li>{@link VifStatus} publishes the outcome (states, hooks, metrics); hotplug calls are answered.</li>
 * </ul>
 * Nothing is written before the first complete xenstore scan and link list. A full pass (at start,
 * every resync interval, after lost events) covers every vif and sweeps netvm's own stale objects on
 * vif devices; operations it has to re-apply to a programmed vif are counted as repairs.
 *
 * <p>Over 400 lines (~560): the pass, the periodic check's reads off this thread, the hotplug pass inside a
 * check and the answering of hotplug calls (for vifs programmed meanwhile or already) share the pass's
 * state (waiters, the check's served vifs, the pass's step marks); split them only together.
 */
final class VifReconciler implements VifRegistry, VifCommand.Recorder {
    private static final System.Logger LOG = System.getLogger(VifReconciler.class.getName());

    static final String GATEWAY_KEY = XenstoreInput.GATEWAY_KEY;
    static final String GATEWAY6_KEY = XenstoreInput.GATEWAY6_KEY;
    /** The owner id that tells the dataplane that the vifs' elements of the first pass are recorded. */
    static final String READY_OWNER = VifExecutor.READY_OWNER;
    /** Every this many periodic passes, xenstore is re-read whole (once a minute with the 5 s default). */
    static final int XS_RESCAN_PASSES = 12;
    /**
     * A periodic check plans and applies this many vifs at a time; between two slices a hotplug call
     * that arrived is served first (a pass of its own), so it never waits behind the whole check.
     */
    static final int CHECK_SLICE = 32;
    /** Retry delay of a pass that could not read its inputs. */
    private static final long RETRY_MILLIS = 1000;

    /** The tunables (see the component's configuration). */
    record Settings(String base, long resyncMillis, long coalesceMillis, long dataplaneTimeoutMillis) {
        Settings {
            Objects.requireNonNull(base, "base");
        }
    }

    /** What the hotplug script last said about a vif. */
    enum Intent {
        ONLINE, OFFLINE
    }

    private final Kernel kernel;
    private final Reconciler loop;
    private final VifEvents events;
    private final XenstoreInput xenstore;
    private final LinkInput links;
    private final VifPlanner planner;
    private final VifExecutor executor;
    private final VifStatus status;
    private final Clock clock;
    private final CheckReads checkReads;

    // ---- reconciler thread
    private final List<VifEvents.Waiter> waiters = new ArrayList<>();
    /** The moments of the running pass (copied into the hotplug requests it answers). */
    private Steps passSteps;
    private long periodicPasses;
    /** Vifs converged by hotplug passes served in the middle of a periodic check (null outside one). */
    private Set<String> servedDuringCheck;
    private boolean synced;
    private boolean swept;
    /** The netvm's own uplink addresses and routers, from the last whole dump (every full pass). */
    private Map<java.net.InetAddress, String> uplink = Map.of();

    VifReconciler(Kernel kernel, XenStore xs, AntiSpoof antiSpoof, Conntrack conntrack, HookRunner hooks,
            Settings settings, Clock clock) {
        this(kernel, xs, antiSpoof, conntrack, hooks, settings, clock, CheckReads.inline(kernel));
    }

    /** @param checkReads where a periodic check's whole-namespace reads run (the agent: a thread of their own) */
    VifReconciler(Kernel kernel, XenStore xs, AntiSpoof antiSpoof, Conntrack conntrack, HookRunner hooks,
            Settings settings, Clock clock, CheckReads checkReads) {
        this.kernel = kernel;
        this.checkReads = checkReads;
        this.clock = clock;
        this.passSteps = new Steps(clock);
        this.loop = new Reconciler("netvm-vif-reconciler", "vif reconcile",
                new Reconciler.Timing(settings.resyncMillis(), RETRY_MILLIS, settings.coalesceMillis()), full -> {
                    subscribe();
                    return pass(full);
                });
        this.events = new VifEvents(loop);
        this.xenstore = new XenstoreInput(xs, settings.base(), events);
        this.links = new LinkInput(kernel, events);
        this.planner = new VifPlanner(settings.base());
        AtomicLong batches = new AtomicLong();
        this.executor = new VifExecutor(kernel, antiSpoof, conntrack, settings.dataplaneTimeoutMillis(),
                batches::incrementAndGet);
        Map<String, Applied> applied = executor.applied();
        this.status = new VifStatus(hooks, clock, batches,
                n -> xenstore.entries().containsKey(n) || links.links().containsKey(n), applied::containsKey,
                events::hasIntent);
    }

    // ---- life cycle

    /** Starts the reconciler thread; its passes subscribe to link events and xenstore watches. */
    void start() {
        loop.start();
    }

    /** Stops the thread and the subscriptions. Leaves everything programmed as it is. */
    void stop() {
        loop.stop();
        checkReads.close();
        links.close();
        xenstore.close();
        events.takeNewWaiters().forEach(w -> w.result().complete(Outcome.failed("netvm vif service stopped")));
        waiters.forEach(w -> w.result().complete(Outcome.failed("netvm vif service stopped")));
    }

    /** Registers link events and watches (again) if they are missing; events recorded before are not lost. */
    void subscribe() {
        links.subscribe();
        xenstore.subscribe();
    }

    // ---- recording (any thread)

    void xenstoreChanged(String path) {
        xenstore.changed(path);
    }

    void gatewayChanged() {
        events.gatewayChanged();
    }

    void requestFull() {
        events.requestFull();
    }

    void linkChanged(LinkEvent event) {
        links.changed(event);
    }

    /**
     * Records the hotplug script's intent for a vif; the future completes once a pass that saw it
     * programmed (online) or removed (offline) the vif, or failed it.
     */
    @Override
    public CompletableFuture<Outcome> hotplug(VifName vif, Intent intent, Steps steps) {
        VifEvents.Waiter w = events.hotplug(vif, intent, steps);
        if (intent == Intent.ONLINE) {
            // on the calling thread, after the call is recorded (so after the toolstack's writes that preceded
            // the call), while the reconciler works: the keys the call is answered against
            try {
                w.keys().complete(xenstore.read(vif));
            } catch (XenStoreException | RuntimeException e) {
                w.keys().completeExceptionally(e);
            }
        } else {
            w.keys().complete(Optional.empty());
        }
        return w.result();
    }

    /**
     * The keys an online call read right after it arrived, as far as they can tell: empty when the read
     * failed or is not back within a second (the caller reads again then).
     */
    private static Optional<Optional<XsEntry>> keysOf(VifEvents.Waiter w) {
        try {
            return Optional.of(w.keys().get(1, java.util.concurrent.TimeUnit.SECONDS));
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }

    /** The vif's keys read now; a failed read reads as a directory that cannot be confirmed (null entry). */
    private Optional<XsEntry> readQuietly(VifName vif) {
        try {
            return xenstore.read(vif);
        } catch (XenStoreException e) {
            return Optional.of(new XsEntry(vif, null, null));
        }
    }

    /** {@link #hotplug(VifName, Intent, Steps)} without a caller's breakdown. */
    CompletableFuture<Outcome> hotplug(VifName vif, Intent intent) {
        return hotplug(vif, intent, new Steps(clock));
    }

    // ---- the pass (reconciler thread only; tests call it directly)

    /**
     * One reconcile pass over what was recorded (all vifs if {@code full}). Returns false if the
     * inputs could not be read (nothing was written then).
     */
    boolean pass(boolean full) {
        VifEvents.Drained d = events.drain(waiters);
        passTaken();
        // xenstore is re-read whole when asked (start, a watch resync after a reconnect, lost link
        // events) and as a safety net every XS_RESCAN_PASSES periodic passes; in between the watches
        // keep the cache current, and the periodic pass checks the kernel only (a whole scan costs
        // ~1 s with 1 000 guests, during which hotplug calls would wait)
        boolean xsScan = d.full() || !synced || (full && ++periodicPasses % XS_RESCAN_PASSES == 0);
        full |= d.full() || !synced;
        List<String> waited = waiters.stream().map(VifEvents.Waiter::vif).toList();
        Set<String> work = new LinkedHashSet<>(d.names());
        work.addAll(waited);
        status.passStarted(new HashSet<>(waited));
        if (!full && !d.gateway() && d.domids().isEmpty() && answerProgrammed(work)) {
            return true; // every vif of the pass was a hotplug call for a vif programmed as it still is
        }
        // a periodic check of a running agent reads the whole namespace off this thread and serves hotplug
        // calls meanwhile; the first pass and a requested full pass read everything here
        boolean check = full && swept && synced && !d.full();
        servedDuringCheck = check ? new HashSet<>() : null;
        try {
            KernelObjects read = check ? checkInputs(d, xsScan, waited, work) : null;
            return (check ? read != null : readInputs(d, full, xsScan, waited, work)) && converged(d, full, work, read);
        } finally {
            servedDuringCheck = null;
        }
    }

    /** The rest of a pass once its inputs are read; {@code read}: a periodic check's kernel objects. */
    private boolean converged(VifEvents.Drained d, boolean full, Set<String> work, KernelObjects read) {
        if (!synced) {
            LOG.log(Level.INFO, "vif inputs complete: " + xenstore.entries().size() + " in xenstore (read in "
                    + passSteps.durations()[Steps.Step.XENSTORE.ordinal()] / 1_000_000 + " ms), "
                    + links.links().size() + " vif devices; programming starts");
        }
        synced = true;
        status.synced();
        if (full) {
            work.addAll(links.links().keySet());
            work.addAll(executor.applied().keySet());
            work.addAll(executor.contributed().keySet());
            work.addAll(d.intents().keySet());
        }
        try {
            converge(work, d.intents(), full, read);
        } catch (KernelException e) {
            LOG.log(Level.WARNING, "cannot read back the kernel state (retrying): " + e.getMessage());
            events.retry(work, full);
            completeWaiters();
            status.tell();
            return false;
        }
        completeWaiters(); // the answers first (also those of calls that arrived meanwhile); the log lines
        answerArrivedMeanwhile(work); // and hooks of the pass follow them
        status.tell();
        if (full) {
            swept = true;
            status.resynced();
        }
        logPass(work, full);
        forgetIntents(work, full);
        return true;
    }

    /**
     * Answers the online calls this pass took for vifs already programmed (by the pass that followed their
     * xenstore keys and device, usually moments before the call) without planning them again: xenstore
     * still holds the keys they were programmed with and the device is the instance programmed, up, in
     * the vif group. Those vifs leave {@code work}. Returns true if nothing else is left to do.
     */
    private boolean answerProgrammed(Set<String> work) {
        List<VifEvents.Waiter> online = waiters.stream()
                .filter(w -> w.intent() == Intent.ONLINE && !w.result().isDone()).toList();
        if (online.isEmpty() || events.everyVifPending()) {
            return false;
        }
        Set<String> answered = new HashSet<>();
        Map<String, VifEvents.Waiter> newest = new java.util.LinkedHashMap<>();
        online.forEach(w -> newest.put(w.vif(), w)); // in arrival order: the last call's read is the latest
        for (VifEvents.Waiter w : newest.values()) {
            if (stillProgrammed(w)) {
                answered.add(w.vif());
            }
        }
        passSteps.mark(Steps.Step.KERNEL_READ);
        for (VifEvents.Waiter w : online) {
            if (answered.contains(w.vif())) {
                w.steps().copyPass(passSteps);
                w.steps().answered(Steps.How.ANSWERED);
                w.steps().mark(Steps.Step.OUTCOME);
                w.result().complete(Outcome.OK);
            }
        }
        waiters.removeIf(w -> w.result().isDone());
        work.removeAll(answered);
        return work.isEmpty();
    }

    /**
     * Programmed, and xenstore (as the call read it on arrival, else read now) and the device (read now)
     * still as they were programmed.
     */
    private boolean stillProgrammed(VifEvents.Waiter w) {
        String name = w.vif();
        Applied a = executor.applied().get(name);
        VifState s = status.vif(name).orElse(null);
        if (a == null || s == null || s.actual() != Actual.PROGRAMMED || !a.spec().name().equals(name)) {
            return false;
        }
        VifName vif = VifName.parse(name).orElseThrow();
        try {
            XsEntry now = keysOf(w).orElseGet(() -> readQuietly(vif)).orElse(null);
            if (now == null || !now.equals(xenstore.entries().get(name))
                    || !VifSpec.validate(vif, now.ip(), now.mac(), xenstore.gateway(), xenstore.gateway6()).equals(a.spec())) {
                return false;
            }
            passSteps.mark(Steps.Step.XENSTORE);
            return kernel.link(name).map(l -> l.index() == a.ifindex() && l.up() && l.group() == AntiSpoof.VIF_GROUP)
                    .orElse(false);
        } catch (KernelException | VifSpec.InvalidVifException e) {
            return false; // the pass reads again
        }
    }

    /** Re-reads the recorded inputs; on failure keeps the records for the retry and returns false. */
    private boolean readInputs(VifEvents.Drained d, boolean full, boolean xsScan, List<String> waited,
            Set<String> work) {
        try {
            if (xenstore.update(d, full, xsScan, waited, work) && !full) {
                work.addAll(xenstore.entries().keySet());
                work.addAll(executor.applied().keySet());
            }
            passSteps.mark(Steps.Step.XENSTORE);
            links.read(work, full);
            return true;
        } catch (XenStoreException | KernelException e) {
            LOG.log(Level.WARNING, "cannot read the vif inputs (" + (synced ? "retrying" : "nothing written yet")
                    + "): " + e.getMessage());
            events.putBack(d, full);
            return false;
        }
    }

    /**
     * The inputs of a periodic check: the records it drained are read here (a few xenstore reads), the
     * whole namespace by {@link CheckReads}; hotplug calls that arrive meanwhile are served (a pass of
     * their own each, {@link #serveHotplug}). Returns the kernel objects read, or null if the inputs could
     * not be read (the records are kept for the retry).
     */
    private KernelObjects checkInputs(VifEvents.Drained d, boolean xsScan, List<String> waited, Set<String> work) {
        CompletableFuture<CheckReads.Snapshot> reads = checkReads.start(xenstore, xsScan);
        reads.whenComplete((r, e) -> events.wake());
        try {
            xenstore.update(d, false, false, waited, work);
            passSteps.mark(Steps.Step.XENSTORE);
            Reconciler.activity("periodic check: reading the namespace");
            while (!reads.isDone()) {
                if (events.hotplugPending()) {
                    serveHotplug();
                } else if (!events.awaitArrival(1000)) {
                    throw new KernelException("interrupted while the periodic check read", null);
                }
            }
            Reconciler.activity(null);
            CheckReads.Snapshot snapshot = reads.join();
            if (snapshot.xenstore() != null) {
                xenstore.adoptScan(snapshot.xenstore(), servedDuringCheck);
            }
            links.adopt(snapshot.links(), servedDuringCheck);
            work.addAll(xenstore.entries().keySet());
            return snapshot.observed();
        } catch (java.util.concurrent.CompletionException e) {
            LOG.log(Level.WARNING, "cannot read the vif inputs (retrying): " + e.getCause().getMessage());
        } catch (XenStoreException | KernelException e) {
            LOG.log(Level.WARNING, "cannot read the vif inputs (retrying): " + e.getMessage());
        }
        events.putBack(d, true);
        return null;
    }

    /**
     * Observed state → plans (pure) → execution → status, for {@code names} (and every vif device if full);
     * {@code read}: a periodic check's kernel objects, else they are read here.
     */
    private void converge(Set<String> names, Map<String, Intent> intents, boolean full, KernelObjects read)
            throws KernelException {
        if (names.isEmpty() && !full) {
            return;
        }
        KernelObjects observed = read != null ? read : KernelObjects.read(kernel, names, full, links::fresh);
        passSteps.mark(Steps.Step.KERNEL_READ);
        Set<String> all = new HashSet<>(names);
        if (full) {
            all.addAll(observed.devices());
        }
        List<VifPlan> plans = all.stream().map(n -> VifName.parse(n).orElseThrow()).sorted()
                .map(vif -> planner.desire(vif, intents.get(vif.name()), xenstore.entries().get(vif.name()),
                        xenstore.gateway(), xenstore.gateway6(), links.links().get(vif.name()),
                        executor.applied().get(vif.name())))
                .toList();
        if (observed.netvm() != null) {
            uplink = observed.netvm();
        }
        AddressGuard.refuse(plans, executor.holders(), AddressGuard.reserved(xenstore.reservedRaw(), uplink), observed);
        // a periodic check of a running agent goes in slices and lets hotplug calls through in between
        // (the vifs they served are left out: their objects were read before); the first pass, a requested
        // full pass and event passes apply everything at once
        if (read == null) {
            apply(plans, observed, full);
            return;
        }
        for (int i = 0; i < plans.size(); i += CHECK_SLICE) {
            if (events.hotplugPending()) {
                serveHotplug();
            }
            List<VifPlan> slice = plans.subList(i, Math.min(plans.size(), i + CHECK_SLICE)).stream()
                    .filter(p -> !servedDuringCheck.contains(p.name())).toList();
            apply(slice, observed, true);
        }
    }

    /** Sysctls, operations, execution and status of these plans. */
    private void apply(List<VifPlan> plans, KernelObjects observed, boolean full) {
        plans.forEach(p -> observed.readSysctls(kernel, VifPlanner.sysctlsToRead(p)));
        plans.forEach(p -> planner.ops(p, observed, executor.contributed().get(p.name()), swept));
        passSteps.mark(Steps.Step.PLANNED);
        plans.stream().filter(p -> p.program && !p.failed).forEach(p -> links.programming(p.name(), p.link.index()));
        executor.execute(plans, full, passSteps::mark);
        for (VifPlan p : plans) {
            VifExecutor.Settled s = executor.settle(p);
            if (s.actual() != Actual.PROGRAMMED) {
                links.notProgrammed(p.name());
            }
            Long firstEvent = s.actual() == Actual.PROGRAMMED || s.actual() == Actual.ABSENT
                    ? events.takeFirstEvent(p.name()) : null;
            status.record(p, s, firstEvent, full);
        }
    }

    /**
     * In the middle of a periodic check: one pass over what was recorded since it began (the hotplug
     * call and anything else), reading those vifs' kernel objects afresh; the check then leaves them out.
     */
    private void serveHotplug() {
        VifEvents.Drained d = events.drain(waiters);
        passTaken();
        Set<String> work = new LinkedHashSet<>(d.names());
        waiters.stream().filter(w -> !w.result().isDone()).forEach(w -> work.add(w.vif()));
        status.passStarted(new HashSet<>(work));
        if (d.full() || d.gateway()) { // every vif: left to the pass after the check
            events.putBack(d, d.full());
            return;
        }
        if (d.domids().isEmpty() && answerProgrammed(work)) {
            return;
        }
        if (!readInputs(d, false, false, List.copyOf(work), work)) {
            return; // put back for the retry
        }
        try {
            KernelObjects observed = KernelObjects.read(kernel, work, false, links::fresh);
            passSteps.mark(Steps.Step.KERNEL_READ);
            List<VifPlan> plans = work.stream().map(n -> VifName.parse(n).orElseThrow()).sorted()
                    .map(vif -> planner.desire(vif, d.intents().get(vif.name()), xenstore.entries().get(vif.name()),
                            xenstore.gateway(), xenstore.gateway6(), links.links().get(vif.name()),
                            executor.applied().get(vif.name())))
                    .toList();
            AddressGuard.refuse(plans, executor.holders(), AddressGuard.reserved(xenstore.reservedRaw(), uplink),
                    observed);
            apply(plans, observed, false);
            servedDuringCheck.addAll(work);
            logPass(work, false);
            answerArrivedMeanwhile(work);
        } catch (KernelException e) {
            LOG.log(Level.WARNING, "cannot read back the kernel state (retrying): " + e.getMessage());
            events.retry(work, false);
        }
        completeWaiters();
        status.tell();
    }

    private void logPass(Set<String> work, boolean full) {
        Steps s = passSteps;
        LOG.log(Level.DEBUG, () -> StepLog.line("vif pass" + (full ? " (full)" : "") + " of " + work.size()
                + " vif(s) " + (work.size() > 4 ? "" : String.join(",", work)), s));
    }

    /** A pass (or a hotplug pass inside a check) took what was recorded: its own marks start. */
    private void passTaken() {
        passSteps = new Steps(clock);
        passSteps.mark(Steps.Step.PASS);
    }

    /**
     * Answers the online calls that arrived while this pass ran, for vifs it has just programmed (their
     * keys and device were read at its start): if xenstore still holds the keys it programmed and the
     * device is the instance it programmed, the vif is what the call waits for, and another pass that
     * would only read it back is not waited for (the calls stay recorded: the next pass sees their intent).
     */
    private void answerArrivedMeanwhile(Set<String> work) {
        if (events.everyVifPending()) {
            return; // a gateway change or a full re-read is recorded: the next pass answers
        }
        for (VifEvents.Waiter w : events.newOnlineWaiters(work)) {
            Applied a = executor.applied().get(w.vif());
            VifState s = status.vif(w.vif()).orElse(null);
            if (a == null || s == null || s.actual() != Actual.PROGRAMMED) {
                continue;
            }
            VifName vif = VifName.parse(w.vif()).orElseThrow();
            try {
                Optional<XsEntry> keys = keysOf(w).orElseGet(() -> readQuietly(vif));
                if (!keys.equals(Optional.ofNullable(xenstore.entries().get(w.vif())))
                        || kernel.link(w.vif()).map(l -> l.index() != a.ifindex() || !l.up()).orElse(true)) {
                    continue; // changed since the pass read it: the next pass answers
                }
            } catch (KernelException e) {
                continue; // the next pass reads again and answers
            }
            if (events.takeNewWaiter(w)) {
                w.steps().copyPass(passSteps);
                w.steps().answered(Steps.How.JOINED);
                w.steps().mark(Steps.Step.OUTCOME);
                w.result().complete(Outcome.OK);
            }
        }
    }

    private void completeWaiters() {
        for (Iterator<VifEvents.Waiter> it = waiters.iterator(); it.hasNext(); ) {
            VifEvents.Waiter w = it.next();
            if (w.result().isDone()) {
                it.remove();
                continue;
            }
            Outcome o = status.outcome(w);
            if (o != null) {
                w.steps().copyPass(passSteps);
                w.steps().answered(passSteps.reached(Steps.Step.PLANNED) ? Steps.How.PLANNED : Steps.How.ANSWERED);
                w.steps().mark(Steps.Step.OUTCOME);
                w.result().complete(o);
                it.remove();
            }
        }
    }

    /**
     * Drops hotplug intents and states of vifs that are gone everywhere and nobody waits for: of every
     * vif after a full pass, else of the pass's own vifs (what makes a vif forgettable, its inputs, its
     * intent, its programming, changes only in a pass that has it in its work), so a pass for one vif
     * costs nothing in proportion to the others.
     */
    private void forgetIntents(Set<String> work, boolean full) {
        Set<String> waited = new HashSet<>();
        waiters.forEach(w -> waited.add(w.vif()));
        Set<String> scope = full ? null : work;
        events.forget(waited, n -> xenstore.entries().containsKey(n) || links.links().containsKey(n)
                || executor.applied().containsKey(n), scope);
        status.forgetAbsent(scope);
    }

    // ---- VifRegistry

    @Override
    public List<VifState> vifs() {
        return status.vifs();
    }

    @Override
    public Optional<VifState> vif(String name) {
        return status.vif(name);
    }

    @Override
    public Counters counters() {
        return status.counters();
    }

    @Override
    public Histogram programmingSeconds() {
        return status.programmingSeconds();
    }

    static Collection<String> names(Collection<VifState> states) {
        return states.stream().map(VifState::name).toList();
    }
}
