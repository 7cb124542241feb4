package org.netvm.dataplane.internal;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import org.netvm.dataplane.Contribution;
import org.netvm.dataplane.Dataplane;
import org.netvm.dataplane.PacketFilterBackend;
import org.netvm.dataplane.Plan;
import org.netvm.dataplane.internal.Waiters.SwapWaiter;
import org.netvm.dataplane.internal.Waiters.Waiter;
import org.netvm.kernel.Kernel;
import org.netvm.util.Reconciler;
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
import org.osgi.service.metatype.annotations.Designate;

/**
 * Keeps the active {@link PacketFilterBackend} equal to the merge of all contributions.
 *
 * <p>Threading: every callback ({@link #put}, {@link #remove}, whiteboard and backend bind/unbind,
 * {@link #modified}, the operator requests) only records desired state under the reconciler's lock and asks for
 * a pass. All backend calls happen in passes on one reconciler thread ({@link Reconciler}, the one every
 * netvm reconciler uses); a pass starts {@code debounceMillis} after the first request (0 by default: at
 * once, a vif waits for its anti-spoof elements), and takes everything recorded by then, so a burst of
 * changes during a pass becomes one merge and one apply. Every {@code resyncSeconds} a pass also reads the kernel back
 * and re-applies on drift. The reconciler's lock is never held during a backend call.
 *
 * <p>Start-up: nothing is written until at least one contribution exists, every required owner
 * ({@code requiredOwners}, by default the base policy) contributes and the configured backend is
 * registered; while a required owner is missing (also later), nothing is written and the kernel keeps
 * its last state: a plan without the base policy would replace the previous run's filtering with none
 * (no anti-spoofing, no forward filter), an open window on every restart; the first apply is a full
 * atomic replace of the backend's own objects, so whatever a previous run left in them is swept by it.
 *
 * <p>Merging and its conflict rules are the model's ({@link Plan#mergeLeavingOut}); switching backends,
 * sweeping and fail-closed are {@link BackendSwap}'s; IP forwarding is {@link IpForwarding}'s; what the
 * dataplane reports is {@link StatusBoard}'s; its configuration is {@link DataplaneConfig}. This class
 * is the DS component: the callbacks of the {@code Dataplane} and {@code BackendControl} services, the
 * whiteboard of backends and listeners, each recording under the one lock; it is a little under 500 lines
 * because those entry points belong together (one place to see what can change the desired state), with
 * the snapshot that hands a pass only the owners changed since the last one (a guest's change costs the
 * pass what changed, not all guests).
 */
@Component(service = {Dataplane.class, BackendControl.class}, configurationPid = DataplaneReconciler.PID)
@Designate(ocd = DataplaneConfig.class)
public final class DataplaneReconciler implements Dataplane, BackendControl {

    public static final String PID = "org.netvm.dataplane";


    private final Reconciler loop;
    private final Executor notifier;
    private final Runnable closeNotifier;
    private final Logger log;
    private final StatusBoard board = new StatusBoard();
    final IpForwarding forwarding;
    private final Reconciliation reconciliation;
    private final FirewallScripts scripts; // null in tests built without them
    private final Runnable closeScripts;

    // ---- desired state and requests: written by callbacks, guarded by the reconciler's lock (loop)
    private final Map<String, Contribution> puts = new HashMap<>();
    private final Map<Long, Contribution> services = new TreeMap<>();
    private final Map<Long, BackendEntry> backends = new HashMap<>();
    private final List<Waiter> waiters = new ArrayList<>();
    private final List<SwapWaiter> swapWaiters = new ArrayList<>();
    private final List<CompletableFuture<List<String>>> cleanups = new ArrayList<>();
    private final List<IpForwarding.Request> forwardingRequests = new ArrayList<>();
    private final List<CompletableFuture<DryRun>> dryRuns = new ArrayList<>();
    private volatile Settings settings; // also read by the reconciler's timing
    private long generation;
    private boolean everDesired;
    private long configEpoch;
    private long retrySeq;
    private boolean passRequested;
    /** The owners whose contribution may have changed since the last snapshot handed the contributions over. */
    private Set<String> dirty = new HashSet<>(); // replaced, not cleared: clearing a table 1 000 guests grew costs
    private boolean sendAll; // the next snapshot hands all contributions over (after a failed pass)
    private boolean stopped;

    @Activate
    public DataplaneReconciler(DataplaneConfig config, @Reference(service = LoggerFactory.class) Logger logger) {
        // platform threads: completing the callers' stages (a vif waits on them) never waits for a
        // carrier that guests' xenstore connections (virtual threads) keep busy
        this(Settings.of(config), Clock.SYSTEM, callbackPool(), logger, new FileForwardingMarker(java.nio.file.Path.of(config.markerDir())),
                scripts(config, logger));
        start();
    }

    /**
     * For tests: not started ({@link #start}, or drive {@link #loop()} by hand); {@code notifier} completes
     * the callers' stages (a direct executor keeps tests simple).
     */
    DataplaneReconciler(Settings settings, Clock clock, Executor notifier, Logger log) {
        this(settings, clock, notifier, log, ForwardingMarker.NONE);
    }

    DataplaneReconciler(Settings settings, Clock clock, Executor notifier, Logger log, ForwardingMarker marker) {
        this(settings, clock, notifier, log, marker, null);
    }

    /** With the user's firewall scripts run after each full apply ({@code scripts} may be null: none). */
    DataplaneReconciler(Settings settings, Clock clock, Executor notifier, Logger log, ForwardingMarker marker,
            FirewallScripts scripts) {
        this.settings = Objects.requireNonNull(settings, "settings");
        Supplier<Reconciler.Timing> timing = () -> {
            Settings t = this.settings;
            long resync = t.resyncSeconds() * 1000L; // a failed pass is retried by the next resync
            return new Reconciler.Timing(resync, resync, t.debounceMillis(), false);
        };
        this.loop = new Reconciler("netvm-dataplane", "dataplane", timing, clock::nanoTime, this::pass);
        this.notifier = Objects.requireNonNull(notifier, "notifier");
        this.closeNotifier = notifier instanceof ExecutorService es ? es::shutdown : () -> {
        };
        this.log = Objects.requireNonNull(log, "log");
        this.forwarding = new IpForwarding(log, board, marker);
        this.scripts = scripts;
        this.closeScripts = scripts == null ? () -> {
        } : scripts::close;
        this.reconciliation = new Reconciliation(log, clock, board, forwarding,
                scripts == null ? FullApplyListener.NONE : scripts);
    }

    /**
     * As {@link Executors#newCachedThreadPool}, but an idle thread ends after 5 s instead of 60 s: a burst
     * of completions (1 000 guests at start) leaves no dozen idle threads and their stacks behind for a minute;
     * one thread stays, so that a single completion (a vif's anti-spoof confirmation) waits for no thread start.
     */
    static ExecutorService callbackPool() {
        return new ThreadPoolExecutor(1, Integer.MAX_VALUE, 5, TimeUnit.SECONDS, new SynchronousQueue<>(),
                Thread.ofPlatform().daemon().name("netvm-dataplane-callback-", 0).factory());
    }

    private static FirewallScripts scripts(DataplaneConfig config, Logger log) {
        return new FirewallScripts(FirewallScripts.Setup.of(config), org.netvm.util.SystemProcessRunner::new,
                Executors.newSingleThreadExecutor(Thread.ofVirtual().name("netvm-firewall-scripts").factory()), log);
    }

    /** Starts the reconciler thread. */
    DataplaneReconciler start() {
        loop.start();
        return this;
    }

    /** The reconciler, for tests that drive it with a fake clock. */
    Reconciler loop() {
        return loop;
    }

    @Modified
    void modified(DataplaneConfig config) {
        Settings s;
        try {
            s = Settings.of(config);
        } catch (IllegalArgumentException e) {
            log.error("{}", "configuration " + PID + " refused, the previous one stays: " + e.getMessage());
            return;
        }
        if (scripts != null) {
            try {
                scripts.configure(FirewallScripts.Setup.of(config));
            } catch (IllegalArgumentException e) {
                log.error("firewall script settings refused, the previous ones stay: " + e.getMessage());
            }
        }
        modified(s);
    }

    void modified(Settings s) {
        recordPass(() -> {
            settings = s;
            configEpoch++;
        });
    }

    @Deactivate
    void deactivate() {
        List<CompletableFuture<?>> pending = new ArrayList<>();
        loop.underLock(() -> {
            stopped = true;
            waiters.forEach(w -> pending.add(w.future()));
            swapWaiters.forEach(w -> pending.add(w.future()));
            pending.addAll(cleanups);
            forwardingRequests.forEach(r -> pending.add(r.future()));
            pending.addAll(dryRuns);
            waiters.clear();
            swapWaiters.clear();
            cleanups.clear();
            forwardingRequests.clear();
            dryRuns.clear();
        });
        loop.stop(); // a pass under way finishes; no sweep: the kernel keeps enforcing the last applied state
        IllegalStateException stoppedError = new IllegalStateException("the dataplane stopped");
        pending.forEach(f -> f.completeExceptionally(stoppedError));
        closeNotifier.run();
        closeScripts.run();
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
        return record(f, () -> {
            dirty.add(owner);
            if (c == null) {
                puts.remove(owner);
            } else {
                puts.put(owner, c);
                everDesired = true;
            }
            generation++;
            waiters.add(new Waiter(generation, owner, f));
        }).copy();
    }

    @Override
    public CompletionStage<Void> forwarding(Forwarding wanted) {
        Objects.requireNonNull(wanted, "wanted");
        CompletableFuture<Void> f = new CompletableFuture<>();
        return record(f, () -> forwardingRequests.add(new IpForwarding.Request(wanted, f))).copy();
    }

    @Reference(service = Contribution.class, cardinality = ReferenceCardinality.MULTIPLE,
            policy = ReferencePolicy.DYNAMIC)
    void bindContribution(Contribution c, Map<String, Object> props) {
        recordPass(() -> {
            Contribution old = services.put(serviceId(props), c);
            if (old != null) {
                dirty.add(old.owner());
            }
            dirty.add(c.owner());
            everDesired = true;
            generation++;
        });
    }

    void unbindContribution(Contribution c, Map<String, Object> props) {
        loop.record(() -> {
            Contribution old = services.remove(serviceId(props));
            if (old != null) {
                dirty.add(old.owner());
            }
            if (old != null && !stopped) {
                generation++;
                passRequested = true;
            }
        });
    }

    /** The kernel, for IP forwarding (optional: tools and tests run without). */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindKernel(Kernel kernel) {
        forwarding.sysctls(new KernelForwarding(kernel));
        recordPass(() -> { }); // the start-up check of forwarding
    }

    void unbindKernel(Kernel kernel) {
        forwarding.sysctls(ForwardingSysctls.NONE);
    }

    @Reference(service = PacketFilterBackend.class, cardinality = ReferenceCardinality.MULTIPLE,
            policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    void bindBackend(PacketFilterBackend backend, Map<String, Object> props) {
        Object name = props.get(PacketFilterBackend.BACKEND);
        Object ranking = props.get(Constants.SERVICE_RANKING);
        BackendEntry e = new BackendEntry(serviceId(props), ranking instanceof Integer r ? r : 0,
                name instanceof String n && !n.isBlank() ? n : backend.name(), backend);
        recordPass(() -> backends.put(e.serviceId(), e));
    }

    void unbindBackend(PacketFilterBackend backend, Map<String, Object> props) {
        recordPass(() -> backends.remove(serviceId(props)));
    }

    private static long serviceId(Map<String, Object> props) {
        return props.get(Constants.SERVICE_ID) instanceof Long id ? id : -1L;
    }

    @Override
    public CompletableFuture<String> awaitBackend(String name) {
        CompletableFuture<String> f = new CompletableFuture<>();
        return record(f, () -> swapWaiters.add(new SwapWaiter(name, f, configEpoch, retrySeq)));
    }

    /** Records a request under the lock and asks for a pass; fails {@code f} if the dataplane stopped. */
    private <T> CompletableFuture<T> record(CompletableFuture<T> f, Runnable request) {
        return recordPass(request) ? f : CompletableFuture.failedFuture(new IllegalStateException("the dataplane stopped"));
    }

    /** Runs {@code change} under the reconciler's lock and asks for a pass, unless stopped; whether it ran. */
    private boolean recordPass(Runnable change) {
        boolean[] accepted = new boolean[1];
        loop.record(() -> {
            if (!stopped) {
                change.run();
                passRequested = true;
                accepted[0] = true;
            }
        });
        return accepted[0];
    }

    @Override
    public void retry() {
        recordPass(() -> retrySeq++);
    }

    @Override
    public CompletableFuture<List<String>> cleanup() {
        CompletableFuture<List<String>> f = new CompletableFuture<>();
        return record(f, () -> cleanups.add(f));
    }

    @Override
    public CompletableFuture<DryRun> dryRun() {
        CompletableFuture<DryRun> f = new CompletableFuture<>();
        loop.record(() -> {
            if (stopped) {
                f.completeExceptionally(new IllegalStateException("the dataplane stopped"));
            } else {
                dryRuns.add(f); // answered by the next pass, which reconciles only if asked to
            }
        });
        return f;
    }

    @Override
    public Plan plan() {
        return reconciliation.plan();
    }

    @Override
    public Status status() {
        return loop.locked(() -> {
            List<String> names = backends.values().stream().map(BackendEntry::name).distinct().sorted().toList();
            return board.status(settings.backend(), names);
        });
    }

    @Override
    public List<BackendStatistics> backendStatistics() {
        return board.backendStatistics();
    }

    // ------------------------------------------------------------------ the reconciler thread

    /** One pass: the dry runs asked for, then (if something was recorded, or {@code resync}) one reconciliation. */
    private boolean pass(boolean resync) {
        List<CompletableFuture<DryRun>> asked = loop.locked(() -> {
            List<CompletableFuture<DryRun>> l = List.copyOf(dryRuns);
            dryRuns.clear();
            return l;
        });
        for (CompletableFuture<DryRun> f : asked) {
            try {
                f.complete(dryRun(reconciliation));
            } catch (RuntimeException e) {
                f.completeExceptionally(e);
            }
        }
        Reconciliation.Snapshot s = loop.locked(() -> {
            boolean wanted = passRequested || resync;
            passRequested = false;
            return wanted && !stopped ? snapshot() : null;
        });
        if (s == null) {
            return true;
        }
        Reconciliation.Outcome o;
        try {
            o = reconciliation.reconcile(s, resync);
        } catch (RuntimeException e) {
            loop.underLock(() -> sendAll = true); // whatever the merge took of the changes, all of them next time
            log.error("{}", "dataplane pass failed: " + e);
            board.recordFailure("internal error: " + e);
            return true; // retried by the next resync
        }
        loop.underLock(() -> {
            Set<Waiter> done = Collections.newSetFromMap(new IdentityHashMap<>()); // each waiter is one put's
            done.addAll(o.doneWaiters());
            waiters.removeIf(done::contains);
            swapWaiters.removeAll(o.doneSwaps());
        });
        o.notifications().forEach(notifier::execute);
        o.afterwards().run();
        return true;
    }

    private DryRun dryRun(Reconciliation r) {
        List<BackendEntry> bs = loop.locked(() -> new ArrayList<>(backends.values()));
        bs.sort(BackendEntry.ORDER);
        return r.dryRun(bs, settings.backend());
    }

    /** Called with the reconciler's lock held. */
    private Reconciliation.Snapshot snapshot() {
        List<Contribution> all = null;
        Map<String, Contribution> changes = null;
        if (!reconciliation.merged(generation)) {
            Set<String> taken = new HashSet<>();
            for (Contribution c : services.values()) { // a put wins, then the lowest service id
                if (puts.containsKey(c.owner()) || !taken.add(c.owner())) {
                    log.warn("{}", "whiteboard contribution of " + c.owner()
                            + " ignored: that owner already contributes");
                }
            }
            if (sendAll) {
                all = List.copyOf(contributions().values());
                sendAll = false;
            } else {
                changes = new HashMap<>();
                for (String owner : dirty) {
                    changes.put(owner, contribution(owner));
                }
            }
            dirty = new HashSet<>();
        }
        List<BackendEntry> bs = new ArrayList<>(backends.values());
        bs.sort(BackendEntry.ORDER);
        swapWaiters.removeIf(w -> w.future().isDone()); // given up by the caller
        List<CompletableFuture<List<String>>> cl = List.copyOf(cleanups);
        cleanups.clear();
        List<IpForwarding.Request> fw = List.copyOf(forwardingRequests);
        forwardingRequests.clear();
        long gen = generation;
        List<Waiter> ws = new ArrayList<>();
        for (Waiter w : waiters) { // a loop, not a stream: every pass, on the thread a vif waits for
            if (w.generation() <= gen) {
                ws.add(w);
            }
        }
        return new Reconciliation.Snapshot(gen, everDesired, all, changes, List.copyOf(bs), settings, configEpoch, retrySeq, cl, ws,
                List.copyOf(swapWaiters), fw);
    }

    /** Every owner's contribution: its put, else its whiteboard service of the lowest id (lock held). */
    private Map<String, Contribution> contributions() {
        Map<String, Contribution> byOwner = new LinkedHashMap<>(puts);
        services.values().forEach(c -> byOwner.putIfAbsent(c.owner(), c));
        return byOwner;
    }

    /** The contribution of {@code owner} as {@link #contributions} has it, or null (lock held). */
    private Contribution contribution(String owner) {
        Contribution c = puts.get(owner);
        if (c != null) {
            return c;
        }
        for (Contribution s : services.values()) {
            if (s.owner().equals(owner)) {
                return s;
            }
        }
        return null;
    }
}
