package org.netvm.dataplane.internal;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.regex.Pattern;

import org.netvm.dataplane.BackendException;
import org.netvm.dataplane.Contribution;
import org.netvm.dataplane.Dataplane;
import org.netvm.dataplane.OwnedState;
import org.netvm.dataplane.PacketFilterBackend;
import org.netvm.dataplane.Plan;
import org.netvm.kernel.Kernel;
import org.netvm.util.DurationHistogram;
import org.netvm.util.LogLimiter;
import org.osgi.framework.Constants;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.log.Logger;
import org.osgi.service.log.LoggerFactory;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * Keeps the active {@link PacketFilterBackend} equal to the merge of all contributions.
 *
 * <p>Threading: every callback ({@link #put}, {@link #remove}, whiteboard and backend bind/unbind,
 * {@link #modified}, the operator requests) only records desired state under {@code lock} and asks for
 * a pass. All backend calls happen in passes on one reconciler thread ({@link Scheduler}); a pass
 * starts {@code debounceMillis} after the first request, so a burst of changes becomes one merge and
 * one apply. Every {@code resyncSeconds} a pass also reads the kernel back and re-applies on drift.
 * The lock is never held during a backend call.
 *
 * <p>Start-up: nothing is written until at least one contribution exists, every required owner
 * ({@code requiredOwners}, by default the base policy) contributes and the configured backend is
 * registered; while a required owner is missing (also later), nothing is written and the kernel keeps
 * its last state: a plan without the base policy would replace the previous run's filtering with none
 * (no anti-spoofing, no forward filter), an open window on every restart; the first apply is a full atomic replace of the backend's own objects, so whatever a
 * previous run left in them is swept by it. Other registered backends (with a different name) are
 * swept once the active one is in sync, which removes what an earlier run with another backend left.
 *
 * <p>Switching backends: the new one applies the whole plan and must read back what it should;
 * only then the old one sweeps. If the new one fails, its objects are swept and the old one stays in
 * charge. Two backends with the same name are taken to own the same kernel objects: a switch between
 * them never sweeps. A backend that goes away is never swept (the kernel keeps enforcing its last
 * state) and nothing is in charge until it or the configured one is back.
 */
@Component(service = {Dataplane.class, BackendControl.class}, configurationPid = DataplaneReconciler.PID)
@Designate(ocd = DataplaneReconciler.Config.class)
public final class DataplaneReconciler implements Dataplane, BackendControl {

    public static final String PID = "org.netvm.dataplane";

    @ObjectClassDefinition(name = "netvm dataplane",
            description = "Merges packet-filter contributions and keeps the chosen backend in sync")
    public @interface Config {
        @AttributeDefinition(description = "Name of the backend in charge (its netvm.backend service property)")
        String backend() default "nftables";

        @AttributeDefinition(description = "Seconds between drift checks (1..5)", min = "1", max = "5")
        int resyncSeconds() default 5;

        @AttributeDefinition(description = "Milliseconds a change waits for more before one apply (0..1000)",
                min = "0", max = "1000")
        int debounceMillis() default 2;

        @AttributeDefinition(description = "Owners whose contribution must be in the plan before anything is "
                + "written; while one is missing the kernel keeps its last state (fail closed)")
        String[] requiredOwners() default {"policy", "vif"};
    }

    /** The configuration, validated and clamped. */
    record Settings(String backend, int resyncSeconds, int debounceMillis, Set<String> requiredOwners) {
        private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");

        Settings {
            if (backend == null || !NAME.matcher(backend).matches()) {
                throw new IllegalArgumentException("backend name must match " + NAME + ": " + backend);
            }
            resyncSeconds = Math.clamp(resyncSeconds, 1, 5);
            debounceMillis = Math.clamp(debounceMillis, 0, 1000);
            requiredOwners = requiredOwners == null ? Set.of() : Set.copyOf(requiredOwners);
        }

        /** No required owner (tests and tools that contribute without a base policy). */
        Settings(String backend, int resyncSeconds, int debounceMillis) {
            this(backend, resyncSeconds, debounceMillis, Set.of());
        }

        static Settings of(Config c) {
            Set<String> required = new TreeSet<>();
            for (String o : c.requiredOwners() == null ? new String[0] : c.requiredOwners()) {
                if (o != null && !o.isBlank()) {
                    required.add(o.strip());
                }
            }
            return new Settings(c.backend(), c.resyncSeconds(), c.debounceMillis(), required);
        }
    }

    /** A registered backend; equal entries are the same service. */
    record BackendEntry(long serviceId, int ranking, String name, PacketFilterBackend backend) {
        static final Comparator<BackendEntry> ORDER = Comparator.comparingInt((BackendEntry b) -> -b.ranking)
                .thenComparingLong(BackendEntry::serviceId);
    }

    private record Waiter(long generation, String owner, CompletableFuture<Void> future) {
    }

    /** Answered only by a pass that saw a configuration change or retry made after it was registered. */
    private record SwapWaiter(String name, CompletableFuture<String> future, long configEpoch, long retrySeq) {
    }

    /** Apply statistics of one backend name, guarded by lock. */
    private static final class BackendCounters {
        long applies;
        long failures;
        /** From 1 ms (an nft transaction) to 10 s (a stuck tool). */
        final DurationHistogram seconds = new DurationHistogram(List.of(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                0.25, 0.5, 1.0, 2.5, 5.0, 10.0));
    }

    /** What a pass works on, copied under the lock. */
    private record Snapshot(long generation, boolean everDesired, List<Contribution> contributions,
            List<BackendEntry> backends, Settings settings, long configEpoch, long retrySeq,
            List<CompletableFuture<List<String>>> cleanups, List<Waiter> waiters, List<SwapWaiter> swapWaiters) {
    }

    private final Scheduler scheduler;
    private final Executor notifier;
    private final Runnable closeNotifier;
    private final Log log;

    // ---- desired state and requests: written by callbacks, guarded by lock
    private final Object lock = new Object();
    private final Map<String, Contribution> puts = new HashMap<>();
    private final Map<Long, Contribution> services = new TreeMap<>();
    private final Map<Long, BackendEntry> backends = new HashMap<>();
    private final List<Waiter> waiters = new ArrayList<>();
    private final List<SwapWaiter> swapWaiters = new ArrayList<>();
    private final List<CompletableFuture<List<String>>> cleanups = new ArrayList<>();
    private Settings settings;
    private long generation;
    private boolean everDesired;
    private long configEpoch;
    private long retrySeq;
    private boolean scheduled;
    private boolean stopped;
    // status, written by the reconciler under lock
    private String activeName;
    private boolean inSync;
    private String requestFailure;
    private Instant lastApply;
    private Duration lastApplyDuration = Duration.ZERO;
    private long applies;
    private long failures;
    private long driftRepairs;
    private String lastError;
    private int contributionCount;
    private int rejectedCount;
    private int elementCount;
    private final Map<String, BackendCounters> perBackend = new TreeMap<>();

    // ---- reconciler-thread state
    private volatile Plan merged = Plan.EMPTY;
    private long mergedGeneration = -1;
    private Set<String> accepted = Set.of();
    private Map<String, String> rejected = Map.of();
    private BackendEntry active;
    private Plan applied;            // what active holds, as far as we know; null: unknown
    private OwnedState appliedExpected;
    private BackendEntry failedCandidate;
    private String swapFailure;
    private boolean paused;
    private long seenEpoch;
    private long seenRetrySeq;
    private final Set<Long> idleSwept = new HashSet<>();
    private Map<String, Contribution> mergedByOwner = Map.of();
    private Map<String, Contribution> appliedByOwner = Map.of(); // what the last successful apply held
    volatile Forwarding forwarding = Forwarding.NONE; // set by bindKernel (tests set a fake)
    private Forwarding.Saved savedForwarding; // switched off by a cleanup, restored by the next apply
    private boolean ready;           // something desired and every required owner in the plan
    private Set<String> loggedMissing = Set.of();
    private final LogLimiter applyLog;

    @Activate
    public DataplaneReconciler(Config config, @Reference(service = LoggerFactory.class) Logger logger) {
        this(Settings.of(config), new ExecutorScheduler(), Executors.newVirtualThreadPerTaskExecutor(),
                Log.of(logger));
    }

    /** For tests: {@code notifier} completes the callers' stages (a direct executor keeps tests simple). */
    DataplaneReconciler(Settings settings, Scheduler scheduler, Executor notifier, Log log) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
        this.notifier = Objects.requireNonNull(notifier, "notifier");
        this.closeNotifier = notifier instanceof ExecutorService es ? es::shutdown : () -> {
        };
        this.log = Objects.requireNonNull(log, "log");
        this.applyLog = new LogLimiter(5, 10_000_000_000L, scheduler::nanoTime);
        scheduler.schedule(this::resyncTick, settings.resyncSeconds() * 1000L);
    }

    @Modified
    void modified(Config config) {
        Settings s;
        try {
            s = Settings.of(config);
        } catch (IllegalArgumentException e) {
            log.error("configuration " + PID + " refused, the previous one stays: " + e.getMessage());
            return;
        }
        modified(s);
    }

    void modified(Settings s) {
        synchronized (lock) {
            settings = s;
            configEpoch++;
            requestPass();
        }
    }

    @Deactivate
    void deactivate() {
        List<Waiter> w;
        List<SwapWaiter> sw;
        List<CompletableFuture<List<String>>> cl;
        synchronized (lock) {
            stopped = true;
            w = List.copyOf(waiters);
            sw = List.copyOf(swapWaiters);
            cl = List.copyOf(cleanups);
            waiters.clear();
            swapWaiters.clear();
            cleanups.clear();
        }
        scheduler.shutdown(); // no sweep: the kernel keeps enforcing the last applied state
        IllegalStateException stoppedError = new IllegalStateException("the dataplane stopped");
        w.forEach(x -> x.future.completeExceptionally(stoppedError));
        sw.forEach(x -> x.future.completeExceptionally(stoppedError));
        cl.forEach(x -> x.completeExceptionally(stoppedError));
        closeNotifier.run();
    }

    // ------------------------------------------------------------------ callbacks: record, request a pass

    @Override
    public CompletionStage<Void> put(Contribution contribution) {
        Objects.requireNonNull(contribution, "contribution");
        return change(contribution.owner(), contribution);
    }

    @Override
    public CompletionStage<Void> remove(String owner) {
        return change(Objects.requireNonNull(owner, "owner"), null);
    }

    private CompletionStage<Void> change(String owner, Contribution c) {
        CompletableFuture<Void> f = new CompletableFuture<>();
        synchronized (lock) {
            if (stopped) {
                return CompletableFuture.failedFuture(new IllegalStateException("the dataplane stopped"));
            }
            if (c == null) {
                puts.remove(owner);
            } else {
                puts.put(owner, c);
                everDesired = true;
            }
            generation++;
            waiters.add(new Waiter(generation, owner, f));
            requestPass();
        }
        return f.copy();
    }

    @Reference(service = Contribution.class, cardinality = ReferenceCardinality.MULTIPLE,
            policy = ReferencePolicy.DYNAMIC)
    void bindContribution(Contribution c, Map<String, Object> props) {
        synchronized (lock) {
            services.put(serviceId(props), c);
            everDesired = true;
            generation++;
            requestPass();
        }
    }

    void unbindContribution(Contribution c, Map<String, Object> props) {
        synchronized (lock) {
            if (services.remove(serviceId(props)) != null) {
                generation++;
                requestPass();
            }
        }
    }

    /** The kernel, for IP forwarding around a cleanup only (optional: tools and tests run without). */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindKernel(Kernel kernel) {
        forwarding = new KernelForwarding(kernel);
    }

    void unbindKernel(Kernel kernel) {
        forwarding = Forwarding.NONE;
    }

    @Reference(service = PacketFilterBackend.class, cardinality = ReferenceCardinality.MULTIPLE,
            policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    void bindBackend(PacketFilterBackend backend, Map<String, Object> props) {
        Object name = props.get(PacketFilterBackend.BACKEND);
        Object ranking = props.get(Constants.SERVICE_RANKING);
        BackendEntry e = new BackendEntry(serviceId(props), ranking instanceof Integer r ? r : 0,
                name instanceof String n && !n.isBlank() ? n : backend.name(), backend);
        synchronized (lock) {
            backends.put(e.serviceId(), e);
            requestPass();
        }
    }

    void unbindBackend(PacketFilterBackend backend, Map<String, Object> props) {
        synchronized (lock) {
            backends.remove(serviceId(props));
            requestPass();
        }
    }

    private static long serviceId(Map<String, Object> props) {
        return props.get(Constants.SERVICE_ID) instanceof Long id ? id : -1L;
    }

    @Override
    public CompletableFuture<String> awaitBackend(String name) {
        CompletableFuture<String> f = new CompletableFuture<>();
        synchronized (lock) {
            if (stopped) {
                return CompletableFuture.failedFuture(new IllegalStateException("the dataplane stopped"));
            }
            swapWaiters.add(new SwapWaiter(name, f, configEpoch, retrySeq));
            requestPass();
        }
        return f;
    }

    @Override
    public void retry() {
        synchronized (lock) {
            retrySeq++;
            requestPass();
        }
    }

    @Override
    public CompletableFuture<List<String>> cleanup() {
        CompletableFuture<List<String>> f = new CompletableFuture<>();
        synchronized (lock) {
            if (stopped) {
                return CompletableFuture.failedFuture(new IllegalStateException("the dataplane stopped"));
            }
            cleanups.add(f);
            requestPass();
        }
        return f;
    }

    @Override
    public CompletableFuture<String> dryRun() {
        CompletableFuture<String> f = new CompletableFuture<>();
        scheduler.schedule(() -> {
            try {
                f.complete(render());
            } catch (RuntimeException e) {
                f.completeExceptionally(e);
            }
        }, 0);
        return f;
    }

    @Override
    public Plan plan() {
        return merged;
    }

    @Override
    public Status status() {
        synchronized (lock) {
            List<String> names = backends.values().stream().map(BackendEntry::name).distinct().sorted().toList();
            return new Status(activeName, settings.backend(), requestFailure, names, inSync, lastApply,
                    lastApplyDuration, applies, failures, driftRepairs, lastError, contributionCount, rejectedCount,
                    elementCount);
        }
    }

    @Override
    public List<BackendStatistics> backendStatistics() {
        synchronized (lock) {
            List<BackendStatistics> out = new ArrayList<>();
            perBackend.forEach((name, c) -> {
                DurationHistogram.Snapshot h = c.seconds.snapshot();
                out.add(new BackendStatistics(name, c.applies, c.failures,
                        new Dataplane.Histogram(h.bounds(), h.cumulativeCounts(), h.count(), h.sum())));
            });
            return out;
        }
    }

    /** Called with lock held. */
    private void requestPass() {
        if (!scheduled && !stopped) {
            scheduled = true;
            scheduler.schedule(() -> pass(false), settings.debounceMillis());
        }
    }

    // ------------------------------------------------------------------ the reconciler thread

    private void resyncTick() {
        pass(true);
        synchronized (lock) {
            if (!stopped) {
                scheduler.schedule(this::resyncTick, settings.resyncSeconds() * 1000L);
            }
        }
    }

    private void pass(boolean resync) {
        Snapshot s;
        synchronized (lock) {
            if (!resync) {
                scheduled = false;
            }
            if (stopped) {
                return;
            }
            s = snapshot();
        }
        try {
            reconcile(s, resync);
        } catch (RuntimeException e) {
            log.error("dataplane pass failed: " + e);
            synchronized (lock) {
                failures++;
                lastError = "internal error: " + e;
            }
        }
    }

    /** Called with lock held. */
    private Snapshot snapshot() {
        List<Contribution> all = null;
        if (generation != mergedGeneration) {
            Map<String, Contribution> byOwner = new LinkedHashMap<>(puts);
            for (Contribution c : services.values()) {
                if (byOwner.putIfAbsent(c.owner(), c) != null) {
                    log.warn("whiteboard contribution of " + c.owner() + " ignored: that owner already contributes");
                }
            }
            all = List.copyOf(byOwner.values());
        }
        List<BackendEntry> bs = new ArrayList<>(backends.values());
        bs.sort(BackendEntry.ORDER);
        swapWaiters.removeIf(w -> w.future.isDone()); // given up by the caller
        List<CompletableFuture<List<String>>> cl = List.copyOf(cleanups);
        cleanups.clear();
        long gen = generation;
        List<Waiter> ws = waiters.stream().filter(w -> w.generation <= gen).toList();
        return new Snapshot(gen, everDesired, all, List.copyOf(bs), settings, configEpoch, retrySeq, cl, ws,
                List.copyOf(swapWaiters));
    }

    private void reconcile(Snapshot s, boolean resync) {
        List<Runnable> notifications = new ArrayList<>(); // run once the status is published
        applyLog.drain().forEach(log::warn);
        if (s.contributions != null) {
            merge(s.contributions);
            mergedGeneration = s.generation;
        }
        Plan plan = merged;
        if (s.configEpoch != seenEpoch || s.retrySeq != seenRetrySeq) {
            seenEpoch = s.configEpoch;
            seenRetrySeq = s.retrySeq;
            failedCandidate = null;
            swapFailure = null;
            if (paused) {
                paused = false;
                log.info("dataplane resumes after cleanup");
            }
        }
        if (!s.cleanups.isEmpty()) {
            List<String> lines = sweepAll(s.backends);
            s.cleanups.forEach(f -> notifications.add(() -> f.complete(lines)));
        }
        if (active != null && !s.backends.contains(active)) {
            log.warn("backend " + active.name() + " went away; nothing swept, the kernel keeps its last state;"
                    + " no backend in charge");
            active = null;
            applied = null;
            appliedExpected = null;
        }
        BackendEntry candidate = s.backends.stream().filter(b -> b.name().equals(s.settings.backend()))
                .findFirst().orElse(null);
        BackendException applyError = null;
        Set<String> missing = new TreeSet<>(s.settings.requiredOwners());
        missing.removeAll(accepted);
        ready = s.everDesired && missing.isEmpty();
        if (s.everDesired && !missing.equals(loggedMissing)) {
            if (missing.isEmpty()) {
                log.info("required contributions present (" + s.settings.requiredOwners() + "): applying");
            } else {
                log.warn("waiting for the contribution of " + missing + ": nothing is written meanwhile,"
                        + " the kernel keeps its last state");
            }
        }
        loggedMissing = s.everDesired ? missing : Set.of();
        if (!paused) {
            if (!ready) {
                if (candidate != null && !s.everDesired) {
                    active = candidate; // nothing desired yet: no kernel I/O, just who will be in charge
                }
                // a required owner is missing: no kernel I/O at all (fail closed)
            } else if (candidate != null && !candidate.equals(active) && !candidate.equals(failedCandidate)) {
                if (active == null) {
                    active = candidate;
                    applied = null;
                    appliedExpected = null;
                    log.info("backend " + candidate.name() + " takes charge");
                } else {
                    swap(active, candidate, plan);
                }
            }
            if (active != null && ready) {
                if (!plan.equals(applied)) {
                    applyError = apply(plan, "change");
                } else if (resync) {
                    applyError = checkDrift();
                }
                if (applyError == null && plan.equals(applied)) {
                    sweepIdle(s.backends);
                }
            }
        }
        boolean sync = !paused && active != null && ready && plan.equals(applied);
        String failure = requestFailure(s, candidate);
        List<Waiter> doneWaiters = completeWaiters(s, sync, applyError, notifications);
        List<SwapWaiter> doneSwaps = completeSwapWaiters(s, candidate, sync, failure, notifications);
        int elements = plan.elements().values().stream().mapToInt(SortedSet::size).sum();
        synchronized (lock) { // status first, so that whoever is notified sees it
            waiters.removeAll(doneWaiters);
            swapWaiters.removeAll(doneSwaps);
            activeName = active == null ? null : active.name();
            inSync = sync;
            requestFailure = failure;
            contributionCount = accepted.size();
            rejectedCount = rejected.size();
            elementCount = elements;
        }
        notifications.forEach(notifier::execute);
    }

    /** Merges all contributions; on a conflict, leaves out as few as it can (established ones stay). */
    private void merge(List<Contribution> all) {
        Set<String> owners = new TreeSet<>();
        all.forEach(c -> owners.add(c.owner()));
        try {
            merged = Plan.merge(all);
            accepted = owners;
            rejected = Map.of();
            mergedByOwner = byOwner(all);
            return;
        } catch (IllegalArgumentException conflict) {
            // fall through to the slow path
        }
        Set<String> before = accepted;
        List<Contribution> pending = new ArrayList<>(all);
        pending.sort(Comparator.comparing((Contribution c) -> !before.contains(c.owner()))
                .thenComparing(Contribution::owner));
        List<Contribution> in = new ArrayList<>();
        Plan plan = Plan.EMPTY;
        Map<String, String> out = new TreeMap<>();
        boolean progress = true;
        while (progress && !pending.isEmpty()) {
            progress = false;
            out.clear();
            for (var it = pending.iterator(); it.hasNext(); ) {
                Contribution c = it.next();
                in.add(c);
                try {
                    plan = Plan.merge(in);
                    it.remove();
                    progress = true;
                } catch (IllegalArgumentException e) {
                    in.removeLast();
                    out.put(c.owner(), e.getMessage());
                }
            }
        }
        Map<String, String> old = rejected;
        out.forEach((owner, why) -> {
            if (!why.equals(old.get(owner))) {
                log.warn("contribution of " + owner + " left out of the plan: " + why);
            }
        });
        merged = plan;
        Set<String> ok = new TreeSet<>();
        in.forEach(c -> ok.add(c.owner()));
        accepted = ok;
        rejected = Map.copyOf(out);
        mergedByOwner = byOwner(in);
    }

    private static Map<String, Contribution> byOwner(List<Contribution> cs) {
        Map<String, Contribution> m = new TreeMap<>();
        cs.forEach(c -> m.put(c.owner(), c));
        return m;
    }

    /** The owners whose contribution differs from what the last successful apply held, comma-separated. */
    private String changedOwners() {
        Set<String> changed = new TreeSet<>();
        mergedByOwner.forEach((o, c) -> {
            if (!c.equals(appliedByOwner.get(o))) {
                changed.add(o);
            }
        });
        appliedByOwner.keySet().stream().filter(o -> !mergedByOwner.containsKey(o)).forEach(changed::add);
        if (changed.isEmpty()) {
            return "none";
        }
        List<String> list = List.copyOf(changed);
        String head = String.join(",", list.subList(0, Math.min(3, list.size())));
        return ControlText.quote(list.size() > 3 ? head + ",+" + (list.size() - 3) : head);
    }

    /** One structured line per apply (at most 5 per 10 s for the same owners), with the outcome. */
    private void logApply(String backend, String reason, String owners, Duration took, String error) {
        String line = "apply backend=" + backend + " reason=" + reason + " owners=" + owners + " outcome="
                + (error == null ? "ok" : "failed") + " duration_ms=" + took.toMillis() + " contributions="
                + mergedByOwner.size() + (error == null ? "" : " error=" + ControlText.quote(error, 500));
        for (String l : applyLog.admit(owners, line)) {
            if (error == null || !l.equals(line)) {
                log.info(l);
            } else {
                log.error(l + " (the kernel keeps the previous state; retried at the next change or resync)");
            }
        }
    }

    /** The active backend applies {@code plan}; null on success, else the error (kernel unchanged). */
    private BackendException apply(Plan plan, String reason) {
        long t0 = scheduler.nanoTime();
        String owners = changedOwners();
        try {
            active.backend().apply(plan);
            applied = plan;
            restoreForwarding();
            appliedExpected = null;
            appliedByOwner = mergedByOwner;
            logApply(active.name(), reason, owners, recordApply(active.name(), t0, null), null);
            return null;
        } catch (BackendException | RuntimeException e) {
            BackendException be = asBackendException(e);
            String msg = "apply on " + active.name() + " failed: " + be.getMessage();
            logApply(active.name(), reason, owners, recordApply(active.name(), t0, msg), be.getMessage());
            return be;
        }
    }

    /** After a cleanup, once a backend holds the plan again: forwarding as it was before. */
    private void restoreForwarding() {
        if (savedForwarding == null) {
            return;
        }
        try {
            forwarding.restore(savedForwarding);
            savedForwarding = null;
            log.info("IP forwarding restored after the cleanup: " + active.name() + " is in charge");
        } catch (Exception e) {
            String msg = "could not restore IP forwarding after the cleanup: " + e.getMessage();
            log.error(msg + "; retried at the next apply");
            recordFailure(msg);
        }
    }

    private Duration recordApply(String backend, long t0, String error) {
        Duration took = Duration.ofNanos(scheduler.nanoTime() - t0);
        synchronized (lock) {
            lastApplyDuration = took;
            BackendCounters c = perBackend.computeIfAbsent(backend, k -> new BackendCounters());
            c.seconds.observe(took);
            if (error == null) {
                applies++;
                c.applies++;
                lastApply = scheduler.now();
                lastError = null;
            } else {
                failures++;
                c.failures++;
                lastError = error;
            }
        }
        return took;
    }

    private void recordFailure(String error) {
        synchronized (lock) {
            failures++;
            lastError = error;
        }
    }

    /** Reads the kernel back; re-applies on drift. Returns a re-apply's error, or null. */
    private BackendException checkDrift() {
        if (appliedExpected == null) {
            appliedExpected = active.backend().expected(applied);
        }
        OwnedState got;
        try {
            got = active.backend().readBack();
        } catch (BackendException | RuntimeException e) {
            String msg = "read back from " + active.name() + " failed: " + asBackendException(e).getMessage();
            log.warn(msg);
            recordFailure(msg);
            return null;
        }
        if (appliedExpected.equals(got)) {
            return null;
        }
        List<String> diff = appliedExpected.diff(got);
        log.warn("drift in " + active.name() + ": " + diff.size() + " difference(s): "
                + String.join("; ", diff.subList(0, Math.min(3, diff.size())))
                + (diff.size() > 3 ? "; ..." : "") + "; re-applying");
        synchronized (lock) {
            driftRepairs++;
        }
        Plan plan = applied;
        applied = null;
        return apply(plan, "drift");
    }

    /** New applies the whole plan and is verified; only then the old one sweeps. */
    private void swap(BackendEntry old, BackendEntry next, Plan plan) {
        boolean shared = old.name().equals(next.name());
        long t0 = scheduler.nanoTime();
        OwnedState want;
        try {
            next.backend().apply(plan);
            want = next.backend().expected(plan);
            OwnedState got = next.backend().readBack();
            if (!want.equals(got)) {
                List<String> diff = want.diff(got);
                throw new BackendException("it does not read back what it applied (" + diff.size()
                        + " difference(s))", String.join("; ", diff.subList(0, Math.min(3, diff.size()))));
            }
        } catch (BackendException | RuntimeException e) {
            String msg = "switch from " + old.name() + " to " + next.name() + " failed: "
                    + asBackendException(e).getMessage();
            log.error(msg + "; " + old.name() + " stays in charge");
            recordApply(next.name(), t0, msg);
            failedCandidate = next;
            swapFailure = msg;
            if (shared) {
                applied = null; // same objects: the old one re-applies the plan in this pass
            } else {
                idleSwept.add(next.serviceId());
                try {
                    next.backend().sweep();
                } catch (BackendException | RuntimeException se) {
                    String sm = "sweeping " + next.name() + " after the failed switch failed: "
                            + asBackendException(se).getMessage();
                    log.error(sm);
                    recordFailure(msg + "; " + sm);
                }
            }
            return;
        }
        recordApply(next.name(), t0, null);
        active = next;
        applied = plan;
        restoreForwarding();
        appliedExpected = want;
        appliedByOwner = mergedByOwner;
        if (shared) {
            log.info("switched to another " + next.name() + " backend in "
                    + Duration.ofNanos(scheduler.nanoTime() - t0).toMillis() + " ms (same objects: no sweep)");
            return;
        }
        idleSwept.add(old.serviceId());
        try {
            old.backend().sweep();
            log.info("switched from " + old.name() + " to " + next.name() + " in "
                    + Duration.ofNanos(scheduler.nanoTime() - t0).toMillis() + " ms; " + old.name() + " swept");
        } catch (BackendException | RuntimeException e) {
            String msg = "switched from " + old.name() + " to " + next.name() + ", but sweeping " + old.name()
                    + " failed: " + asBackendException(e).getMessage();
            log.error(msg);
            recordFailure(msg);
        }
    }

    /** Sweeps, once per registration, every backend not in charge and not sharing the active's objects. */
    private void sweepIdle(List<BackendEntry> all) {
        Set<Long> present = new HashSet<>();
        for (BackendEntry b : all) {
            present.add(b.serviceId());
            if (b.equals(active) || b.name().equals(active.name()) || !idleSwept.add(b.serviceId())) {
                continue;
            }
            try {
                b.backend().sweep();
                log.info("swept idle backend " + b.name() + " (" + active.name() + " is in charge)");
            } catch (BackendException | RuntimeException e) {
                String msg = "sweeping idle backend " + b.name() + " failed: " + asBackendException(e).getMessage();
                log.error(msg);
                recordFailure(msg);
            }
        }
        idleSwept.retainAll(present);
    }

    private List<String> sweepAll(List<BackendEntry> all) {
        List<String> lines = new ArrayList<>();
        // the routes to the guests stay: forwarding without any rule would let them out unfiltered
        try {
            Forwarding.Saved was = forwarding.off();
            if (was.any() && savedForwarding == null) {
                savedForwarding = was;
            }
            if (was.any()) {
                lines.add("IP forwarding: off until a backend is in charge again");
            }
        } catch (Exception e) {
            String msg = "could not switch IP forwarding off before the cleanup: " + e.getMessage();
            log.error(msg + "; nothing swept");
            recordFailure(msg);
            lines.add(msg);
            return lines;
        }
        for (BackendEntry b : all) {
            try {
                b.backend().sweep();
                lines.add(b.name() + ": swept");
            } catch (BackendException | RuntimeException e) {
                String msg = "sweeping " + b.name() + " failed: " + asBackendException(e).getMessage();
                recordFailure(msg);
                lines.add(b.name() + ": " + msg);
            }
        }
        log.warn("cleanup: swept " + all.size() + " backend(s); nothing is applied until the backend is chosen again");
        paused = true;
        active = null;
        applied = null;
        appliedExpected = null;
        idleSwept.clear();
        return lines;
    }

    private String requestFailure(Snapshot s, BackendEntry candidate) {
        String keeps = active != null && !active.equals(candidate) ? "; " + active.name() + " stays in charge" : "";
        if (paused) {
            return "cleaned up: nothing is applied until 'netvm backend use NAME'";
        }
        if (candidate == null) {
            return "requested backend " + s.settings.backend() + " is not registered" + keeps;
        }
        if (candidate.equals(failedCandidate)) {
            return "requested but failed: " + swapFailure + keeps;
        }
        return null;
    }

    private List<Waiter> completeWaiters(Snapshot s, boolean sync, BackendException applyError,
            List<Runnable> notifier) {
        List<Waiter> done = new ArrayList<>();
        for (Waiter w : s.waiters) {
            String why = rejected.get(w.owner);
            if (why != null && !accepted.contains(w.owner)) {
                IllegalArgumentException e = new IllegalArgumentException(
                        "contribution of " + w.owner + " left out of the plan: " + why);
                notifier.add(() -> w.future.completeExceptionally(e));
            } else if (sync) {
                notifier.add(() -> w.future.complete(null));
            } else if (applyError != null) {
                notifier.add(() -> w.future.completeExceptionally(applyError));
            } else {
                continue; // no backend in charge (or cleaned up): wait
            }
            done.add(w);
        }
        return done;
    }

    private List<SwapWaiter> completeSwapWaiters(Snapshot s, BackendEntry candidate, boolean sync, String failure,
            List<Runnable> notifier) {
        List<SwapWaiter> done = new ArrayList<>();
        for (SwapWaiter w : s.swapWaiters) {
            if (!w.name.equals(s.settings.backend()) || s.configEpoch <= w.configEpoch && s.retrySeq <= w.retrySeq) {
                continue; // the configuration change or retry it waits for has not arrived yet
            }
            if (candidate != null && candidate.equals(active) && (sync || !ready)) {
                String msg = sync ? w.name + " is in charge and in sync" : w.name + " is in charge (nothing to apply yet)";
                notifier.add(() -> w.future.complete(msg));
            } else if (failure != null) {
                notifier.add(() -> w.future.completeExceptionally(new IllegalStateException(failure)));
            } else if (candidate != null && candidate.equals(active) && lastErrorOrNull() != null) {
                String msg = w.name + " is in charge but not in sync: " + lastErrorOrNull();
                notifier.add(() -> w.future.completeExceptionally(new IllegalStateException(msg)));
            } else {
                continue;
            }
            done.add(w);
        }
        return done;
    }

    private String lastErrorOrNull() {
        synchronized (lock) {
            return lastError;
        }
    }

    private static BackendException asBackendException(Exception e) {
        return e instanceof BackendException be ? be : new BackendException("backend error: " + e, "", e);
    }

    // ------------------------------------------------------------------ dry run

    private String render() {
        Plan plan = merged;
        List<BackendEntry> bs;
        String requested;
        synchronized (lock) {
            bs = new ArrayList<>(backends.values());
            requested = settings.backend();
        }
        bs.sort(BackendEntry.ORDER);
        BackendEntry b = active != null ? active
                : bs.stream().filter(x -> x.name().equals(requested)).findFirst().orElse(null);
        StringBuilder out = new StringBuilder();
        int rules = plan.rules().values().stream().mapToInt(List::size).sum();
        int elements = plan.elements().values().stream().mapToInt(SortedSet::size).sum();
        out.append("# plan: ").append(accepted.size()).append(" contribution(s), ").append(rejected.size())
                .append(" left out, ").append(plan.chains().size()).append(" chain(s), ").append(rules)
                .append(" rule(s), ").append(plan.sets().size()).append(" set(s), ").append(elements)
                .append(" element(s)\n");
        rejected.forEach((owner, why) -> out.append("# left out: ").append(owner).append(": ").append(why).append('\n'));
        if (b == null) {
            out.append("# no backend named ").append(requested).append(" is registered; the plan as data:\n");
            plan.chains().forEach(c -> out.append(c).append('\n'));
            plan.rules().forEach((ref, list) -> list.forEach(r -> out.append(r).append('\n')));
            plan.sets().forEach(x -> out.append(x).append('\n'));
            plan.elements().forEach((ref, els) -> out.append(ref).append(' ').append(els).append('\n'));
            return out.toString();
        }
        OwnedState want = b.backend().expected(plan);
        out.append("# what ").append(b.name()).append(b.equals(active) ? " (in charge)" : " (not in charge)")
                .append(" owns for this plan, in its canonical form:\n");
        want.chains().forEach((key, header) -> {
            out.append("chain ").append(key).append(" { ").append(header).append(" }\n");
            want.rules().getOrDefault(key, List.of()).forEach(r -> out.append("    ").append(r).append('\n'));
        });
        want.rules().forEach((key, list) -> {
            if (!want.chains().containsKey(key)) {
                list.forEach(r -> out.append("rule ").append(key).append(": ").append(r).append('\n'));
            }
        });
        want.sets().forEach((key, header) -> {
            out.append("set ").append(key).append(" { ").append(header).append(" }\n");
            want.elements().getOrDefault(key, new TreeSet<>()).forEach(e -> out.append("    ").append(e).append('\n'));
        });
        try {
            List<String> diff = want.diff(b.backend().readBack());
            if (diff.isEmpty()) {
                out.append("# the kernel holds exactly this\n");
            } else {
                out.append("# the kernel differs (").append(diff.size()).append("; - missing, + unexpected):\n");
                diff.forEach(d -> out.append(d).append('\n'));
            }
        } catch (BackendException | RuntimeException e) {
            out.append("# read back failed: ").append(asBackendException(e).getMessage()).append('\n');
        }
        return out.toString();
    }
}
