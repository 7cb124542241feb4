package org.netvm.vif.internal;

import java.lang.System.Logger.Level;
import java.net.InetAddress;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

import org.netvm.dataplane.Contribution;
import org.netvm.kernel.Address;
import org.netvm.kernel.Batch;
import org.netvm.kernel.BatchException;
import org.netvm.kernel.IpPrefix;
import org.netvm.kernel.Kernel;
import org.netvm.kernel.KernelException;
import org.netvm.kernel.Link;
import org.netvm.kernel.LinkEvent;
import org.netvm.kernel.LinkListener;
import org.netvm.kernel.Neighbour;
import org.netvm.kernel.Op;
import org.netvm.kernel.Route;
import org.netvm.kernel.Scope;
import org.netvm.kernel.Subscription;
import org.netvm.kernel.Sysctl;
import org.netvm.util.DurationHistogram;
import org.netvm.util.LogLimiter;
import org.netvm.vif.VifHook;
import org.netvm.vif.VifRegistry;
import org.netvm.vif.VifState;
import org.netvm.vif.VifState.Actual;
import org.netvm.vif.VifState.Desired;
import org.netvm.xenstore.Watch;
import org.netvm.xenstore.WatchListener;
import org.netvm.xenstore.XenStore;
import org.netvm.xenstore.XenStoreException;

/**
 * Desired state and the one thread that programs it.
 *
 * <p>Event sources (xenstore watches, link events, the hotplug command) only <em>record</em>: which
 * vifs are dirty, and the hotplug intent (online/offline) of a vif. The reconciler thread coalesces
 * what accumulated, reads the inputs those records point at (xenstore values, the kernel's links),
 * validates them into a {@link VifSpec} per vif, reads back what the kernel has on vif devices
 * (routes of protocol netvm, permanent neighbours, global host addresses) and applies only the
 * difference, for all dirty vifs together, in the order of vif-route-qubes:
 * <ol>
 * <li>dataplane: withdraw contributions of vifs going away;</li>
 * <li>batch 1: deletes of stale objects, {@code proxy_arp} / {@code proxy_ndp};</li>
 * <li>conntrack purge of new and departed guest addresses;</li>
 * <li>batch 2: permanent neighbours;</li>
 * <li>dataplane: anti-spoof elements of each vif, waiting until the backend applied them;</li>
 * <li>batch 3: link group 2 + up (only for vifs whose elements are in place), host routes, gateway address.</li>
 * </ol>
 * Nothing is written before the first complete xenstore scan and link list. A full pass (at start,
 * every resync interval, after lost events) covers every vif and sweeps netvm's own stale objects on
 * vif devices; operations it has to re-apply to a programmed vif are counted as repairs.
 */
final class VifReconciler implements VifRegistry, VifCommand.Recorder {
    private static final System.Logger LOG = System.getLogger(VifReconciler.class.getName());

    static final String GATEWAY_KEY = "qubes-netvm-gateway";
    static final String GATEWAY6_KEY = "qubes-netvm-gateway6";
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

    private record Waiter(String vif, Intent intent, CompletableFuture<Outcome> result) {
    }

    /** What the reconciler programmed for a vif, and on which device instance. */
    private record Applied(VifSpec spec, int ifindex) {
    }

    private final Kernel kernel;
    private final XenStore xs;
    private final AntiSpoof antiSpoof;
    private final Conntrack conntrack;
    private final HookRunner hooks;
    private final Settings settings;
    private final Clock clock;

    // ---- recorded by event sources, guarded by lock
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition wakeUp = lock.newCondition();
    private boolean signalled;
    private boolean fullRequested;
    private long periodicPasses;
    /** Every this many periodic passes, xenstore is re-read whole (once a minute with the 5 s default). */
    static final int XS_RESCAN_PASSES = 12;
    private boolean gatewayDirty;
    private final Set<String> dirtyNames = new HashSet<>();
    private final Set<String> dirtyDomids = new HashSet<>();
    private final Map<String, Intent> intents = new HashMap<>();
    /** When the first unprogrammed event about a vif arrived (System.nanoTime), for the programming time. */
    private final Map<String, Long> firstEvent = new HashMap<>();
    private final List<Waiter> newWaiters = new ArrayList<>();
    private volatile boolean running;
    private Thread thread;

    // ---- owned by the reconciler thread
    private final Map<String, XsEntry> xsEntries = new HashMap<>();
    private String gatewayRaw;
    private String gateway6Raw;
    private Map<String, Link> links = Map.of();
    private final Map<String, Applied> applied = new HashMap<>();
    private final Map<String, Contribution> contributed = new HashMap<>();
    private final List<Waiter> waiters = new ArrayList<>();
    private boolean synced;
    private boolean swept;
    private Subscription linkSubscription;
    private final List<Watch> watches = new ArrayList<>();

    // ---- published
    private final Map<String, VifState> status = new ConcurrentHashMap<>();
    private final Map<String, Long> repairsByVif = new ConcurrentHashMap<>();
    private final AtomicLong passes = new AtomicLong();
    private final AtomicLong batches = new AtomicLong();
    private final AtomicLong repairs = new AtomicLong();
    private volatile boolean publishedSynced;
    private volatile Instant lastResync;
    /** From 5 ms (one pass) to 30 s (a guest whose device comes late). */
    /** The owner id that tells the dataplane that the vifs' elements of the first pass are recorded. */
    static final String READY_OWNER = "vif";
    private boolean announced;

    private final DurationHistogram programming = new DurationHistogram(List.of(0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
            0.5, 1.0, 2.5, 5.0, 10.0, 30.0));
    /** One line per vif and pass at most, and at most 5 per vif in 10 s (a flapping guest). */
    private final LogLimiter eventLog = new LogLimiter(5, 10_000_000_000L, System::nanoTime);
    private Set<String> passEvents = Set.of(); // reconciler thread: vifs the hotplug script asked about in this pass

    VifReconciler(Kernel kernel, XenStore xs, AntiSpoof antiSpoof, Conntrack conntrack, HookRunner hooks,
            Settings settings, Clock clock) {
        this.kernel = kernel;
        this.xs = xs;
        this.antiSpoof = antiSpoof;
        this.conntrack = conntrack;
        this.hooks = hooks;
        this.settings = settings;
        this.clock = clock;
    }

    // =====================================================================================
    // Life cycle
    // =====================================================================================

    /** Subscribes to link events and xenstore watches and starts the reconciler thread. */
    void start() {
        running = true;
        thread = Thread.ofPlatform().name("netvm-vif-reconciler").daemon().start(this::loop);
    }

    /** Stops the thread and the subscriptions. Leaves everything programmed as it is. */
    void stop() {
        running = false;
        signal(() -> { });
        if (thread != null) {
            try {
                thread.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        closeSubscriptions();
        lock.lock();
        try {
            newWaiters.forEach(w -> w.result().complete(Outcome.failed("netvm vif service stopped")));
            newWaiters.clear();
        } finally {
            lock.unlock();
        }
        waiters.forEach(w -> w.result().complete(Outcome.failed("netvm vif service stopped")));
    }

    private void closeSubscriptions() {
        if (linkSubscription != null) {
            linkSubscription.close();
            linkSubscription = null;
        }
        watches.forEach(Watch::close);
        watches.clear();
    }

    private void loop() {
        long nextFull = System.nanoTime();
        while (running) {
            boolean full;
            lock.lock();
            try {
                long wait;
                while (running && !signalled && (wait = nextFull - System.nanoTime()) > 0) {
                    wakeUp.awaitNanos(wait);
                }
                if (!running) {
                    return;
                }
                signalled = false;
                full = System.nanoTime() - nextFull >= 0;
            } catch (InterruptedException e) {
                return;
            } finally {
                lock.unlock();
            }
            if (settings.coalesceMillis() > 0) {
                try {
                    Thread.sleep(settings.coalesceMillis()); // let a burst of events accumulate
                } catch (InterruptedException e) {
                    return;
                }
            }
            boolean ok;
            try {
                subscribe();
                ok = pass(full);
            } catch (RuntimeException | Error e) {
                LOG.log(Level.ERROR, "vif reconcile pass failed", e);
                ok = false;
            }
            if (full || !ok) {
                nextFull = System.nanoTime()
                        + TimeUnit.MILLISECONDS.toNanos(ok ? settings.resyncMillis() : RETRY_MILLIS);
            }
        }
    }

    /** Registers link events and watches (again) if they are missing; events recorded before are not lost. */
    void subscribe() {
        if (linkSubscription == null) {
            try {
                linkSubscription = kernel.subscribeLinks(new LinkListener() {
                    @Override
                    public void linkChanged(LinkEvent event) {
                        VifReconciler.this.linkChanged(event);
                    }

                    @Override
                    public void eventsLost() {
                        requestFull();
                    }
                });
            } catch (KernelException e) {
                LOG.log(Level.WARNING, "cannot subscribe to link events (relying on resyncs): " + e.getMessage());
            }
        }
        if (watches.isEmpty()) {
            try {
                watches.add(xs.watch(settings.base(), new WatchListener() {
                    @Override
                    public void changed(String path) {
                        xenstoreChanged(path);
                    }

                    @Override
                    public void resync() {
                        requestFull();
                    }
                }));
                for (String key : List.of(GATEWAY_KEY, GATEWAY6_KEY)) {
                    watches.add(xs.watch(key, new WatchListener() {
                        @Override
                        public void changed(String path) {
                            gatewayChanged();
                        }

                        @Override
                        public void resync() {
                            requestFull();
                        }
                    }));
                }
            } catch (XenStoreException e) {
                LOG.log(Level.WARNING, "cannot watch " + settings.base() + " (retrying): " + e.getMessage());
                watches.forEach(Watch::close);
                watches.clear();
            }
        }
    }

    // =====================================================================================
    // Recording (any thread)
    // =====================================================================================

    private void signal(Runnable record) {
        lock.lock();
        try {
            record.run();
            signalled = true;
            wakeUp.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** A watch event below the base path: marks the vif (or the domain, or everything) dirty. */
    void xenstoreChanged(String path) {
        String base = settings.base();
        String rest = null;
        if (path != null) {
            int at = path.equals(base) || path.startsWith(base + "/") ? 0 : path.indexOf("/" + base + "/");
            if (at == 0) {
                rest = path.length() > base.length() ? path.substring(base.length() + 1) : "";
            } else if (at > 0) {
                rest = path.substring(at + base.length() + 2);
            }
        }
        String[] parts = rest == null || rest.isEmpty() ? new String[0] : rest.split("/", 3);
        final String[] p = parts;
        signal(() -> {
            if (p.length == 0 || !VifName.isId(p[0])) {
                fullRequested = true;
            } else if (p.length == 1) {
                dirtyDomids.add(p[0]);
            } else {
                Optional<VifName> vif = VifName.of(p[0], p[1]);
                if (vif.isPresent()) {
                    dirtyNames.add(vif.get().name());
                    firstEvent.putIfAbsent(vif.get().name(), System.nanoTime());
                } else {
                    dirtyDomids.add(p[0]);
                }
            }
        });
    }

    void gatewayChanged() {
        signal(() -> gatewayDirty = true);
    }

    void requestFull() {
        signal(() -> fullRequested = true);
    }

    void linkChanged(LinkEvent event) {
        String name = event.link().name();
        if (VifName.parse(name).isPresent()) {
            signal(() -> {
                dirtyNames.add(name);
                firstEvent.putIfAbsent(name, System.nanoTime());
            });
        }
    }

    /**
     * Records the hotplug script's intent for a vif; the future completes once a pass that saw it
     * programmed (online) or removed (offline) the vif, or failed it.
     */
    @Override
    public CompletableFuture<Outcome> hotplug(VifName vif, Intent intent) {
        Waiter w = new Waiter(vif.name(), intent, new CompletableFuture<>());
        signal(() -> {
            intents.put(vif.name(), intent);
            dirtyNames.add(vif.name());
            firstEvent.putIfAbsent(vif.name(), System.nanoTime());
            newWaiters.add(w);
        });
        return w.result();
    }

    private record Drained(boolean full, boolean gateway, Set<String> names, Set<String> domids,
            Map<String, Intent> intents) {
    }

    private Drained drain() {
        lock.lock();
        try {
            Drained d = new Drained(fullRequested, gatewayDirty, new HashSet<>(dirtyNames), new HashSet<>(dirtyDomids),
                    new HashMap<>(intents));
            fullRequested = false;
            gatewayDirty = false;
            dirtyNames.clear();
            dirtyDomids.clear();
            waiters.addAll(newWaiters);
            newWaiters.clear();
            return d;
        } finally {
            lock.unlock();
        }
    }

    // =====================================================================================
    // The pass (reconciler thread only; tests call it directly)
    // =====================================================================================

    /**
     * One reconcile pass over what was recorded (all vifs if {@code full}). Returns false if the
     * inputs could not be read (nothing was written then).
     */
    boolean pass(boolean full) {
        Drained d = drain();
        // xenstore is re-read whole when asked (start, a watch resync after a reconnect, lost link
        // events) and as a safety net every XS_RESCAN_PASSES periodic passes; in between the watches
        // keep xsEntries current, and the periodic pass checks the kernel only (a whole scan costs
        // ~1 s with 1 000 guests, during which hotplug calls would wait)
        boolean xsScan = d.full() || !synced || (full && ++periodicPasses % XS_RESCAN_PASSES == 0);
        full |= d.full() || !synced;
        passes.incrementAndGet();
        Set<String> work = new LinkedHashSet<>(d.names());
        waiters.forEach(w -> work.add(w.vif()));
        Set<String> hotplugged = new HashSet<>();
        waiters.forEach(w -> hotplugged.add(w.vif()));
        passEvents = hotplugged;
        eventLog.drain().forEach(line -> LOG.log(Level.WARNING, line));
        try {
            if (full) {
                work.addAll(xsEntries.keySet());
                if (xsScan) {
                    scanAll();
                    readGateway();
                } else {
                    if (d.gateway()) {
                        readGateway();
                    }
                    for (String domid : d.domids()) {
                        scanDomain(domid);
                    }
                    for (String name : d.names()) {
                        refresh(VifName.parse(name).orElseThrow());
                    }
                    for (Waiter w : waiters) {
                        if (!d.names().contains(w.vif())) {
                            refresh(VifName.parse(w.vif()).orElseThrow());
                        }
                    }
                }
                work.addAll(xsEntries.keySet());
            } else {
                if (d.gateway() && readGateway()) {
                    work.addAll(xsEntries.keySet());
                    work.addAll(applied.keySet());
                }
                for (String domid : d.domids()) {
                    work.addAll(scanDomain(domid));
                }
                for (String name : d.names()) {
                    refresh(VifName.parse(name).orElseThrow());
                }
                for (Waiter w : waiters) {
                    if (!d.names().contains(w.vif())) {
                        refresh(VifName.parse(w.vif()).orElseThrow());
                    }
                }
            }
            Map<String, Link> now = new HashMap<>();
            if (full || work.size() > PER_DEVICE_LIMIT) {
                for (Link l : kernel.links()) {
                    if (VifName.parse(l.name()).isPresent()) {
                        now.put(l.name(), l);
                    }
                }
            } else {
                // a few vifs changed: read only their links (a dump of every link costs ~1 ms per 100)
                now.putAll(links);
                for (String name : work) {
                    Optional<Link> l = kernel.link(name);
                    if (l.isPresent()) {
                        now.put(name, l.get());
                    } else {
                        now.remove(name);
                    }
                }
            }
            links = now;
        } catch (XenStoreException | KernelException e) {
            LOG.log(Level.WARNING, "cannot read the vif inputs (" + (synced ? "retrying" : "nothing written yet")
                    + "): " + e.getMessage());
            lock.lock();
            try {
                // keep what was drained for the retry
                dirtyNames.addAll(d.names());
                dirtyDomids.addAll(d.domids());
                gatewayDirty |= d.gateway();
                fullRequested |= full;
            } finally {
                lock.unlock();
            }
            return false;
        }
        if (!synced) {
            LOG.log(Level.INFO, "vif inputs complete: " + xsEntries.size() + " in xenstore, " + links.size()
                    + " vif devices; programming starts");
        }
        synced = true;
        publishedSynced = true;
        if (full) {
            work.addAll(links.keySet());
            work.addAll(applied.keySet());
            work.addAll(contributed.keySet());
            work.addAll(d.intents().keySet());
        }
        try {
            converge(work, d.intents(), full);
        } catch (KernelException e) {
            LOG.log(Level.WARNING, "cannot read back the kernel state (retrying): " + e.getMessage());
            lock.lock();
            try {
                dirtyNames.addAll(work);
                fullRequested |= full;
            } finally {
                lock.unlock();
            }
            completeWaiters();
            return false;
        }
        if (full) {
            swept = true;
            lastResync = clock.instant();
        }
        completeWaiters();
        forgetIntents();
        return true;
    }

    // ---- inputs

    private void scanAll() throws XenStoreException {
        Map<String, XsEntry> found = new HashMap<>();
        for (String domid : directory(settings.base())) {
            for (XsEntry e : readDomain(domid)) {
                found.put(e.vif().name(), e);
            }
        }
        xsEntries.clear();
        xsEntries.putAll(found);
    }

    /** Re-reads one domain's directory; returns the names touched (present before or now). */
    private Set<String> scanDomain(String domid) throws XenStoreException {
        Set<String> touched = new HashSet<>();
        for (Iterator<XsEntry> it = xsEntries.values().iterator(); it.hasNext(); ) {
            XsEntry e = it.next();
            if (Integer.toString(e.vif().domid()).equals(domid)) {
                touched.add(e.vif().name());
                it.remove();
            }
        }
        for (XsEntry e : readDomain(domid)) {
            xsEntries.put(e.vif().name(), e);
            touched.add(e.vif().name());
        }
        return touched;
    }

    private List<XsEntry> readDomain(String domid) throws XenStoreException {
        List<XsEntry> out = new ArrayList<>();
        if (!VifName.isId(domid)) {
            LOG.log(Level.WARNING, "ignoring " + settings.base() + "/" + VifSpec.quote(domid) + ": not a domid");
            return out;
        }
        for (String devid : directory(settings.base() + "/" + domid)) {
            Optional<VifName> vif = VifName.of(domid, devid);
            if (vif.isEmpty()) {
                LOG.log(Level.WARNING, "ignoring " + settings.base() + "/" + domid + "/" + VifSpec.quote(devid)
                        + ": not a device id");
                continue;
            }
            read(vif.get()).ifPresent(out::add);
        }
        return out;
    }

    private List<String> directory(String path) throws XenStoreException {
        try {
            return xs.directory(path);
        } catch (XenStoreException e) {
            if (e.error() == org.netvm.xenstore.XenStoreError.ENOENT) {
                return List.of();
            }
            throw e;
        }
    }

    private Optional<XsEntry> read(VifName vif) throws XenStoreException {
        String dir = vif.xenbusPath(settings.base());
        if (xs.readIfExists(dir).isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new XsEntry(vif, xs.readIfExists(dir + "/ip").orElse(null),
                xs.readIfExists(dir + "/mac").orElse(null)));
    }

    private void refresh(VifName vif) throws XenStoreException {
        Optional<XsEntry> e = read(vif);
        if (e.isPresent()) {
            xsEntries.put(vif.name(), e.get());
        } else {
            xsEntries.remove(vif.name());
        }
    }

    /** Reads the gateway keys; true if they changed. */
    private boolean readGateway() throws XenStoreException {
        String gw = xs.readIfExists(GATEWAY_KEY).orElse(null);
        String gw6 = xs.readIfExists(GATEWAY6_KEY).orElse(null);
        boolean changed = !Objects.equals(gw, gatewayRaw) || !Objects.equals(gw6, gateway6Raw);
        gatewayRaw = gw;
        gateway6Raw = gw6;
        return changed;
    }

    // ---- converge

    /** Per-vif plan of one pass. */
    private static final class Plan {
        final VifName vif;
        Desired desired = Desired.OFFLINE;
        VifSpec spec;
        Link link;
        Applied before;
        boolean program;
        boolean teardown;
        boolean removeContribution;
        Contribution contribution;
        String error;
        String pending;
        boolean failed;
        boolean teardownFailed;
        final List<Op> deletes = new ArrayList<>();
        final List<Op> sysctls = new ArrayList<>();
        final List<Op> neighbours = new ArrayList<>();
        final List<Op> upOps = new ArrayList<>();
        final List<InetAddress> purge = new ArrayList<>();

        Plan(VifName vif) {
            this.vif = vif;
        }

        String name() {
            return vif.name();
        }

        int opCount() {
            return deletes.size() + sysctls.size() + neighbours.size() + upOps.size();
        }

        void fail(String why) {
            if (!failed) {
                failed = true;
                error = why;
            }
        }
    }

    private void converge(Set<String> names, Map<String, Intent> intentsNow, boolean full) throws KernelException {
        if (names.isEmpty() && !full) {
            return;
        }
        Map<String, List<Route>> routes = new HashMap<>();
        Map<String, List<Neighbour>> neighbours = new HashMap<>();
        Map<String, List<Address>> addresses = new HashMap<>();
        boolean perDevice = !full && names.size() <= PER_DEVICE_LIMIT;
        // a few vifs: their own objects only (the namespace may hold thousands of others)
        for (Route r : perDevice ? perDevice(names, d -> kernel.routes(Route.PROTO_NETVM, d))
                : kernel.routes(Route.PROTO_NETVM)) {
            if (r.device() != null && r.table() == Route.TABLE_MAIN && VifName.parse(r.device()).isPresent()) {
                routes.computeIfAbsent(r.device(), k -> new ArrayList<>()).add(r);
            }
        }
        for (Neighbour n : perDevice ? perDevice(names, kernel::neighbours) : kernel.neighbours()) {
            if (n.permanent() && VifName.parse(n.device()).isPresent()) {
                neighbours.computeIfAbsent(n.device(), k -> new ArrayList<>()).add(n);
            }
        }
        for (Address a : perDevice ? perDevice(names, kernel::addresses) : kernel.addresses()) {
            if (a.scope() == Scope.UNIVERSE && a.prefix().isHost() && VifName.parse(a.device()).isPresent()) {
                addresses.computeIfAbsent(a.device(), k -> new ArrayList<>()).add(a);
            }
        }
        Set<String> all = new HashSet<>(names);
        if (full) {
            all.addAll(routes.keySet());
            all.addAll(neighbours.keySet());
            all.addAll(addresses.keySet());
        }
        List<Plan> plans = new ArrayList<>();
        all.stream().map(n -> VifName.parse(n).orElseThrow()).sorted().forEach(vif -> {
            Plan p = new Plan(vif);
            plan(p, intentsNow.get(vif.name()), routes.getOrDefault(vif.name(), List.of()),
                    neighbours.getOrDefault(vif.name(), List.of()), addresses.getOrDefault(vif.name(), List.of()));
            plans.add(p);
        });
        execute(plans, full);
    }

    /** Up to this many vifs in a pass, their kernel objects are read per device instead of dumped whole. */
    static final int PER_DEVICE_LIMIT = 32;

    private interface DeviceRead<T> {
        List<T> read(String device) throws KernelException;
    }

    private static <T> List<T> perDevice(Set<String> names, DeviceRead<T> read) throws KernelException {
        List<T> out = new ArrayList<>();
        for (String n : names) {
            if (VifName.parse(n).isPresent()) {
                out.addAll(read.read(n));
            }
        }
        return out;
    }

    /** Decides what one vif should be and which operations get it there from what the kernel has. */
    private void plan(Plan p, Intent intent, List<Route> routes, List<Neighbour> neighbours, List<Address> addresses) {
        String name = p.name();
        XsEntry entry = xsEntries.get(name);
        p.link = links.get(name);
        p.before = applied.get(name);
        boolean wanted = intent != Intent.OFFLINE && (entry != null || intent == Intent.ONLINE);
        p.desired = wanted ? Desired.ONLINE : Desired.OFFLINE;
        if (wanted) {
            if (entry == null) {
                p.fail(name + ": no xenstore entry " + p.vif.xenbusPath(settings.base()));
            } else {
                try {
                    p.spec = VifSpec.validate(p.vif, entry.ip(), entry.mac(), gatewayRaw, gateway6Raw);
                } catch (VifSpec.InvalidVifException e) {
                    p.fail(e.getMessage());
                }
            }
            if (p.spec != null && p.link == null) {
                p.pending = "waiting for device " + name;
            }
        }
        if (p.spec != null && p.link != null) {
            p.program = true;
            planProgram(p, routes, neighbours, addresses);
        } else {
            p.teardown = true;
            planTeardown(p, routes, neighbours, addresses);
        }
    }

    private void planProgram(Plan p, List<Route> routes, List<Neighbour> neighbours, List<Address> addresses) {
        VifSpec s = p.spec;
        String dev = s.name();
        List<InetAddress> guest = new ArrayList<>();
        guest.add(s.ipv4());
        if (s.ipv6() != null) {
            guest.add(s.ipv6());
        }
        // stale objects on the device (a changed address, leftovers of an earlier incarnation)
        List<Route> wantRoutes = guest.stream().map(a -> Route.host(a, dev).withMetric(s.metric())).toList();
        for (Route r : routes) {
            if (wantRoutes.stream().noneMatch(w -> sameRoute(w, r))) {
                p.deletes.add(new Op.RouteDelete(r));
            }
        }
        for (Neighbour n : neighbours) {
            if (!guest.contains(n.address())) {
                p.deletes.add(new Op.NeighbourDelete(n));
            }
        }
        List<Address> wantAddresses = new ArrayList<>();
        if (s.gateway() != null) {
            wantAddresses.add(Address.of(dev, IpPrefix.host(s.gateway())));
        }
        if (s.gateway6() != null) {
            wantAddresses.add(Address.of(dev, IpPrefix.host(s.gateway6())));
        }
        for (Address a : addresses) {
            if (wantAddresses.stream().noneMatch(w -> w.prefix().equals(a.prefix()))) {
                p.deletes.add(new Op.AddressDelete(a));
            }
        }
        // 1. proxy_arp (and proxy_ndp with IPv6)
        if (sysctl(Sysctl.proxyArp(dev)) != 1) {
            p.sysctls.add(new Op.SysctlSet(Sysctl.proxyArp(dev), 1));
        }
        if (s.ipv6() != null && sysctl(Sysctl.proxyNdp(dev)) != 1) {
            p.sysctls.add(new Op.SysctlSet(Sysctl.proxyNdp(dev), 1));
        }
        // 2. conntrack purge for a new attach (or a changed address); never for an adopted, working vif
        boolean newAttach = p.before == null || p.before.ifindex() != p.link.index()
                || !p.before.spec().ipv4().equals(s.ipv4()) || !Objects.equals(p.before.spec().ipv6(), s.ipv6());
        // 3. permanent neighbours
        for (InetAddress a : guest) {
            Neighbour want = Neighbour.permanent(a, s.mac(), dev);
            if (neighbours.stream().noneMatch(n -> n.address().equals(a) && s.mac().equals(n.lladdr()))) {
                p.neighbours.add(new Op.NeighbourReplace(want));
            }
        }
        boolean routesMissing = wantRoutes.stream().anyMatch(w -> routes.stream().noneMatch(r -> sameRoute(w, r)));
        if (newAttach && (p.before != null || !p.neighbours.isEmpty() || routesMissing)) {
            p.purge.addAll(guest);
            if (p.before != null) {
                p.purge.add(p.before.spec().ipv4());
                if (p.before.spec().ipv6() != null) {
                    p.purge.add(p.before.spec().ipv6());
                }
            }
        }
        // 4. anti-spoof elements (put when they differ from what the dataplane confirmed)
        Contribution c = AntiSpoof.contribution(s);
        if (!c.equals(contributed.get(dev))) {
            p.contribution = c;
        }
        // 5. group 2 + up
        if (p.link.group() != AntiSpoof.VIF_GROUP || !p.link.up()) {
            p.upOps.add(new Op.LinkSet(dev, AntiSpoof.VIF_GROUP, Op.Admin.UP));
        }
        // 6. host routes, metric 32752 - domid
        for (Route w : wantRoutes) {
            if (routes.stream().noneMatch(r -> sameRoute(w, r))) {
                p.upOps.add(new Op.RouteReplace(w));
            }
        }
        // 7. the netvm's address(es) on the vif
        for (Address w : wantAddresses) {
            if (addresses.stream().noneMatch(a -> a.prefix().equals(w.prefix()))) {
                p.upOps.add(new Op.AddressReplace(w));
            }
        }
    }

    private void planTeardown(Plan p, List<Route> routes, List<Neighbour> neighbours, List<Address> addresses) {
        routes.forEach(r -> p.deletes.add(new Op.RouteDelete(r)));
        neighbours.forEach(n -> p.deletes.add(new Op.NeighbourDelete(n)));
        addresses.forEach(a -> p.deletes.add(new Op.AddressDelete(a)));
        p.removeContribution = contributed.containsKey(p.name()) || !swept;
        if (p.before != null) {
            p.purge.add(p.before.spec().ipv4());
            if (p.before.spec().ipv6() != null) {
                p.purge.add(p.before.spec().ipv6());
            }
        }
    }

    /** Same destination, device, metric, table and no gateway (scope is not compared: IPv6 has none). */
    private static boolean sameRoute(Route want, Route got) {
        return want.destination().equals(got.destination()) && Objects.equals(want.device(), got.device())
                && want.metric() == got.metric() && got.gateway() == null && want.table() == got.table();
    }

    private int sysctl(Sysctl key) {
        try {
            return kernel.sysctl(key);
        } catch (KernelException e) {
            return -1; // the write will report the real error
        }
    }

    private void execute(List<Plan> plans, boolean full) {
        // 0. withdraw the anti-spoof elements of vifs going away
        List<CompletableFuture<Void>> removals = new ArrayList<>();
        List<Plan> removing = new ArrayList<>();
        for (Plan p : plans) {
            if (p.removeContribution) {
                removals.add(antiSpoof.remove(AntiSpoof.owner(p.name())).toCompletableFuture());
                removing.add(p);
            }
        }
        for (int i = 0; i < removals.size(); i++) {
            Plan p = removing.get(i);
            String err = await(removals.get(i));
            if (err == null) {
                contributed.remove(p.name());
            } else {
                p.teardownFailed = true;
                p.fail(p.name() + ": withdrawing anti-spoof elements failed: " + err);
            }
        }
        // 1. stale deletes and sysctls
        applyBatch(plans, p -> {
            List<Op> ops = new ArrayList<>(p.deletes);
            ops.addAll(p.sysctls);
            return ops;
        }, true);
        // 2. conntrack: started now, runs (a process) alongside 3 and 4, finished before any link comes up
        List<InetAddress> purge = new ArrayList<>();
        plans.stream().filter(p -> !p.failed || p.teardown).forEach(p -> purge.addAll(new LinkedHashSet<>(p.purge)));
        CompletableFuture<Void> purged = purge.isEmpty() ? CompletableFuture.completedFuture(null)
                : conntrack.start(purge);
        // 3. neighbours
        applyBatch(plans, p -> p.neighbours, false);
        // 4. anti-spoof elements, confirmed before any link comes up
        List<Plan> putting = plans.stream().filter(p -> p.program && !p.failed && p.contribution != null).toList();
        List<CompletableFuture<Void>> puts = putting.stream()
                .map(p -> antiSpoof.put(p.contribution).toCompletableFuture()).toList();
        if (full && !announced) {
            // After a start the dataplane writes nothing until this owner is present (its
            // requiredOwners): by now every vif's elements are recorded, so the first apply already
            // holds them and no working guest loses a packet to an anti-spoof set without it.
            antiSpoof.put(Contribution.empty(READY_OWNER));
            announced = true;
        }
        for (int i = 0; i < puts.size(); i++) {
            Plan p = putting.get(i);
            String err = await(puts.get(i));
            if (err == null) {
                contributed.put(p.name(), p.contribution);
            } else {
                p.fail(p.name() + ": anti-spoof elements not applied, link left as it was: " + err);
            }
        }
        try {
            purged.join();
        } catch (java.util.concurrent.CompletionException e) {
            LOG.log(Level.WARNING, "conntrack purge failed: " + e.getCause());
        }
        // 5. link up, routes, addresses
        applyBatch(plans, p -> p.upOps, false);
        // 6. bookkeeping
        for (Plan p : plans) {
            record(p, full);
        }
    }

    /** Waits for a dataplane future with the configured limit; returns null on success, else the error. */
    private String await(CompletableFuture<Void> f) {
        try {
            f.get(settings.dataplaneTimeoutMillis(), TimeUnit.MILLISECONDS);
            return null;
        } catch (TimeoutException e) {
            return "the dataplane did not confirm within " + settings.dataplaneTimeoutMillis() + " ms";
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
    private void applyBatch(List<Plan> plans, java.util.function.Function<Plan, List<Op>> pick, boolean tolerateMissing) {
        Batch batch = new Batch();
        List<Plan> owners = new ArrayList<>();
        for (Plan p : plans) {
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
        batches.incrementAndGet();
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
                Plan p = owners.get(f.index());
                p.teardownFailed |= p.teardown;
                p.fail(p.name() + ": " + f);
            }
        } catch (KernelException e) {
            Set<Plan> hit = new LinkedHashSet<>(owners);
            hit.forEach(p -> {
                p.teardownFailed |= p.teardown;
                p.fail(p.name() + ": " + e.getMessage());
            });
        }
    }

    /** Updates applied state, status and hooks after the pass. */
    private void record(Plan p, boolean full) {
        String name = p.name();
        Actual actual;
        if (p.program && !p.failed) {
            actual = Actual.PROGRAMMED;
            Applied now = new Applied(p.spec, p.link.index());
            boolean sameAsBefore = now.equals(p.before);
            if (sameAsBefore && p.opCount() > 0) {
                repairs.addAndGet(p.opCount());
                repairsByVif.merge(name, (long) p.opCount(), Long::sum);
                logEvent(Level.INFO, name, "repaired " + p.opCount() + " drifted object(s) of " + name);
            }
            applied.put(name, now);
            Long t0 = takeFirstEvent(name);
            if (!sameAsBefore && t0 != null) {
                programming.observe(java.time.Duration.ofNanos(System.nanoTime() - t0));
            }
            if (!sameAsBefore) {
                hooks.fire(new VifHook.Event(VifHook.Action.ONLINE, name, p.vif.domid(), "vif",
                        VifSpec.text(p.spec.ipv4()), VifSpec.text(p.spec.ipv6()), VifSpec.text(p.spec.gateway())));
            }
        } else if (p.teardown) {
            if (p.before != null && !p.teardownFailed) {
                applied.remove(name);
                VifSpec old = p.before.spec();
                hooks.fire(new VifHook.Event(VifHook.Action.OFFLINE, name, p.vif.domid(), "vif",
                        VifSpec.text(old.ipv4()), VifSpec.text(old.ipv6()), VifSpec.text(old.gateway())));
            }
            if (p.failed) {
                actual = Actual.FAILED;
            } else if (p.pending != null) {
                actual = Actual.PENDING;
            } else {
                actual = Actual.ABSENT;
                takeFirstEvent(name);
            }
        } else {
            actual = Actual.FAILED;
        }
        if (!p.failed && full && p.teardown && p.opCount() > 0 && p.before == null) {
            repairs.addAndGet(p.opCount());
            logEvent(Level.INFO, name, "swept " + p.opCount() + " stale object(s) of " + name);
        }
        VifState old = status.get(name);
        String error = p.failed ? p.error : p.pending;
        boolean changed = old == null ? actual != Actual.ABSENT
                : old.actual() != actual || old.desired() != p.desired || !Objects.equals(old.error(), error);
        if (changed || p.opCount() > 0 || passEvents.contains(name)) {
            VifSpec s = p.spec;
            logEvent(p.failed ? Level.WARNING : Level.INFO, name, "vif event vif=" + name + " domid=" + p.vif.domid()
                    + " desired=" + p.desired.name().toLowerCase(java.util.Locale.ROOT)
                    + " actual=" + actual.name().toLowerCase(java.util.Locale.ROOT)
                    + (s == null ? "" : " ipv4=" + VifSpec.text(s.ipv4()) + (s.ipv6() == null ? "" : " ipv6="
                            + VifSpec.text(s.ipv6())) + " metric=" + s.metric())
                    + " ops=" + p.opCount() + (error == null ? "" : " error=" + logText(error)));
        }
        publish(p, actual);
    }

    private Long takeFirstEvent(String name) {
        lock.lock();
        try {
            return firstEvent.remove(name);
        } finally {
            lock.unlock();
        }
    }

    private void logEvent(Level level, String vif, String line) {
        for (String l : eventLog.admit(vif, line)) {
            LOG.log(l.equals(line) ? level : Level.WARNING, l);
        }
    }

    /**
     * Keeps a message on one log line: printable ASCII kept (values from xenstore inside it are quoted
     * already), everything else escaped, at most 300 chars.
     */
    static String logText(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (int i = 0; i < s.length() && i < 300; i++) {
            char c = s.charAt(i);
            b.append(c >= 0x20 && c < 0x7f ? String.valueOf(c)
                    : String.format("\\x%02x", (int) c & 0xff));
        }
        return b.append(s.length() > 300 ? "...\"" : "\"").toString();
    }

    private void publish(Plan p, Actual actual) {
        String name = p.name();
        boolean known = xsEntries.containsKey(name) || links.containsKey(name) || applied.containsKey(name)
                || p.failed || p.desired == Desired.ONLINE;
        boolean hasIntent;
        lock.lock();
        try {
            hasIntent = intents.containsKey(name);
        } finally {
            lock.unlock();
        }
        if (!known && !hasIntent) {
            status.remove(name);
            repairsByVif.remove(name);
            return;
        }
        VifState old = status.get(name);
        Instant since = old != null && old.actual() == actual ? old.since() : clock.instant();
        VifSpec s = p.spec;
        String error = p.failed ? p.error : p.pending;
        status.put(name, new VifState(name, p.vif.domid(), p.vif.devid(), p.desired, actual,
                s == null ? null : VifSpec.text(s.ipv4()), s == null ? null : VifSpec.text(s.ipv6()),
                s == null ? null : s.mac().text(), s == null ? null : VifSpec.text(s.gateway()), error, since,
                repairsByVif.getOrDefault(name, 0L)));
    }

    private void completeWaiters() {
        for (Iterator<Waiter> it = waiters.iterator(); it.hasNext(); ) {
            Waiter w = it.next();
            if (w.result().isDone()) {
                it.remove();
                continue;
            }
            VifState s = status.get(w.vif());
            Outcome o = null;
            if (s != null && s.actual() == Actual.FAILED) {
                o = Outcome.failed(s.error());
            } else if (w.intent() == Intent.ONLINE && s != null && s.actual() == Actual.PROGRAMMED) {
                o = Outcome.OK;
            } else if (w.intent() == Intent.OFFLINE && (s == null || s.actual() == Actual.ABSENT)) {
                o = Outcome.OK;
            }
            if (o != null) {
                w.result().complete(o);
                it.remove();
            }
        }
    }

    /** Drops hotplug intents of vifs that are gone everywhere and nobody waits for. */
    private void forgetIntents() {
        Set<String> waited = new HashSet<>();
        waiters.forEach(w -> waited.add(w.vif()));
        lock.lock();
        try {
            newWaiters.forEach(w -> waited.add(w.vif()));
            intents.keySet().removeIf(n -> !waited.contains(n) && !xsEntries.containsKey(n) && !links.containsKey(n)
                    && !applied.containsKey(n) && !dirtyNames.contains(n));
            firstEvent.keySet().removeIf(n -> !waited.contains(n) && !xsEntries.containsKey(n) && !links.containsKey(n)
                    && !applied.containsKey(n) && !dirtyNames.contains(n));
        } finally {
            lock.unlock();
        }
        for (String n : new ArrayList<>(status.keySet())) {
            VifState s = status.get(n);
            if (s != null && s.actual() == Actual.ABSENT && !xsEntries.containsKey(n) && !links.containsKey(n)) {
                boolean intent;
                lock.lock();
                try {
                    intent = intents.containsKey(n);
                } finally {
                    lock.unlock();
                }
                if (!intent) {
                    status.remove(n);
                    repairsByVif.remove(n);
                }
            }
        }
    }

    // =====================================================================================
    // VifRegistry
    // =====================================================================================

    @Override
    public List<VifState> vifs() {
        List<VifState> out = new ArrayList<>(status.values());
        out.sort(Comparator.comparingInt(VifState::domid).thenComparingInt(VifState::devid));
        return out;
    }

    @Override
    public Optional<VifState> vif(String name) {
        return Optional.ofNullable(name == null ? null : status.get(name));
    }

    @Override
    public Counters counters() {
        return new Counters(publishedSynced, passes.get(), batches.get(), repairs.get(), lastResync);
    }

    @Override
    public Histogram programmingSeconds() {
        DurationHistogram.Snapshot h = programming.snapshot();
        return new Histogram(h.bounds(), h.cumulativeCounts(), h.count(), h.sum());
    }

    static Collection<String> names(Collection<VifState> states) {
        return states.stream().map(VifState::name).toList();
    }
}
