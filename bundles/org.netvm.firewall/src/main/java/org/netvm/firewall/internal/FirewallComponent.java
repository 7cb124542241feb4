package org.netvm.firewall.internal;

import java.net.InetAddress;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicBoolean;
import org.netvm.dataplane.ChainRef;
import org.netvm.dataplane.Contribution;
import org.netvm.dataplane.Dataplane;
import org.netvm.dataplane.IpAddress;
import org.netvm.dns.UpstreamListener;
import org.netvm.firewall.FirewallStatus;
import org.netvm.kernel.Kernel;
import org.netvm.util.ExecutorTasks;
import org.netvm.util.Tasks;
import org.netvm.xenstore.Watch;
import org.netvm.xenstore.WatchListener;
import org.netvm.xenstore.XenStore;
import org.netvm.xenstore.XenStoreException;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.log.Logger;
import org.osgi.service.log.LoggerFactory;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * Qubes' qubes-firewall agent: {@code qubes-firewall/<domid>/{policy,NNNN}} in the netvm's home →
 * {@link FirewallPlanner} → one dataplane contribution per guest ({@code firewall/<domid>}), plus the
 * fail-closed catch-all ({@code firewall}) while enabled ({@code qubes-service/qubes-firewall} = 1 or
 * configuration {@code enabled}).
 *
 * <p>Watch callbacks only mark guests dirty; one thread ({@link Tasks}) reconciles. A guest's rules are
 * (re-)read at start, after a watch resync, and on the write of {@code qubes-firewall/<domid>} itself (the
 * toolstack's "done" signal; writes below it are ignored, so a half-written set is never applied). A set
 * that does not parse, or a {@code dsthost} that does not resolve, blocks that guest (its chain only
 * rejects) and is logged. Names resolve off the reconciler ({@link HostResolution}). After the guest's
 * contribution is in the kernel: the handled counter and resolved addresses ({@link FirewallStore}), and the
 * guest's tracked flows its new chain refuses are cut. Every {@value #PASS_MILLIS} ms a pass re-plans guests
 * with a rule that expired since. The DNS servers ({@code specialtarget=dns}) come from the DNS bundle
 * ({@link UpstreamListener}) and are the elements of sets of their own contribution ({@code firewall/dns},
 * {@link FirewallPlanner#dns}): a change puts that contribution only (no guest chain changes) and
 * re-resolves the guests' {@code dsthost} names.
 *
 * <p>Longer than the project's ~400 lines: it is the one place that orders a guest's steps (read, plan,
 * put, handled counter, cut); parsing, planning, storage, resolution and the cut are classes of their own.
 */
@Component(service = {FirewallStatus.class, UpstreamListener.class}, immediate = true, configurationPid = FirewallComponent.PID)
@Designate(ocd = FirewallComponent.Config.class)
public final class FirewallComponent implements FirewallStatus, UpstreamListener {
    static final String PID = "org.netvm.firewall";
    static final String RULES = FirewallStore.RULES;
    static final String VIFS = FirewallStore.VIFS;
    static final long PASS_MILLIS = 1000;

    @ObjectClassDefinition(id = PID, name = "netvm per-guest firewall")
    public @interface Config {
        @AttributeDefinition(description = "Enforce qubes-firewall rules even without qubes-service/qubes-firewall=1")
        boolean enabled() default false;

        @AttributeDefinition(description = "How long a dsthost name may take to resolve, in milliseconds")
        long resolveTimeoutMillis() default 3000;

        @AttributeDefinition(description = "Ignored: flows a new rule forbids are cut over ctnetlink, without the "
                + "conntrack tool (kept so that configurations which set it still load)")
        String conntrackPath() default "";
    }

    private final Dataplane dataplane;
    private final XenStore xs;
    private final FirewallStore store;
    private final Logger log;
    private final Tasks tasks;
    private final HostResolution resolution;
    private final Conntrack conntrack;
    private final Clock clock;
    private final boolean configured;
    private final AtomicBoolean pending = new AtomicBoolean();
    private volatile Snapshot snapshot = Snapshot.DISABLED;
    // below: reconciler thread only
    private final Set<Integer> rulesDirty = new HashSet<>();
    private final Set<Integer> vifsDirty = new HashSet<>();
    private final Map<Integer, GuestState> guests = new HashMap<>();
    private final List<Watch> watches = new ArrayList<>();
    private boolean rescan = true;
    private boolean enabled;
    /** Disabled and every contribution withdrawn: further events while disabled put or remove nothing. */
    private boolean withdrawnAll;
    private boolean closed;
    private List<IpAddress> dns = List.of();
    private Contribution dnsSets; // as put, null when not
    private Contribution dispatch;
    private Map<Integer, List<IpAddress>> dispatched = Map.of(); // the addresses {@link #dispatch} was planned for
    private final List<Integer> withdrawn = new ArrayList<>();

    @Activate
    public FirewallComponent(@Reference Dataplane dataplane, @Reference XenStore xs, @Reference Kernel kernel,
            @Reference(service = LoggerFactory.class) Logger log, Config config) {
        this(dataplane, xs, log, new ExecutorTasks("netvm-firewall"),
                HostResolution.uncached(new org.netvm.util.SystemProcessRunner(
                        java.time.Duration.ofMillis(Math.max(100, config.resolveTimeoutMillis())))),
                new KernelConntrack(kernel::conntrack, log), Clock.systemUTC(), config);
    }

    FirewallComponent(Dataplane dataplane, XenStore xs, Logger log, Tasks tasks, HostResolution.Resolver resolver,
            Conntrack conntrack, Clock clock, Config config) {
        this.dataplane = dataplane;
        this.xs = xs;
        this.store = new FirewallStore(xs);
        this.log = log;
        this.tasks = tasks;
        this.resolution = new HostResolution(resolver, Math.max(100, config.resolveTimeoutMillis()));
        this.conntrack = conntrack;
        this.clock = clock;
        this.configured = config.enabled();
        tasks.execute(this::watch);
        tasks.schedule(this::pass, PASS_MILLIS);
    }

    /** From the DNS bundle's thread: hand over, re-plan on this component's thread. */
    @Override
    public void upstreams(List<InetAddress> servers) {
        List<IpAddress> now = servers.stream().map(a -> IpAddress.of(a.getHostAddress().replaceAll("%.*$", "")))
                .toList();
        tasks.execute(() -> dnsChanged(now));
        request();
    }

    /**
     * New DNS servers: the next reconcile puts their sets ({@link #putDns}); guests with names re-resolve them
     * (as Qubes does), the others stay as they are.
     */
    private void dnsChanged(List<IpAddress> servers) {
        if (servers.equals(dns)) {
            return;
        }
        log.info("firewall: DNS servers now {}", servers);
        dns = servers;
        for (Map.Entry<Integer, GuestState> e : guests.entrySet()) {
            GuestState g = e.getValue();
            if (g.rules != null && !g.rules.hostnames().isEmpty()) {
                resolve(e.getKey(), g);
            }
        }
    }

    /** Puts the DNS servers' sets if they changed (before the guests whose rules look them up). */
    private void putDns() {
        Contribution c = FirewallPlanner.dns(dns);
        if (!c.equals(dnsSets)) {
            dnsSets = c;
            dataplane.put(c);
        }
    }

    @Override
    public Snapshot snapshot() {
        return snapshot;
    }

    /** Publishes what {@link #snapshot()} returns (reconciler thread). */
    private void publish() {
        snapshot = enabled ? GuestState.snapshot(guests) : Snapshot.DISABLED;
    }

    @Deactivate
    void deactivate() {
        tasks.execute(() -> {
            closed = true;
            watches.forEach(FirewallComponent::closeQuietly);
        });
        tasks.close();
        // contributions stay desired in the dataplane until it goes too: nothing opens on a restart
    }

    private static void closeQuietly(Watch w) {
        try {
            w.close();
        } catch (RuntimeException e) {
            // gone anyway
        }
    }

    private void watch() {
        try {
            watches.add(xs.watch(RULES, event(RULES)));
            watches.add(xs.watch(VIFS, event(VIFS)));
            watches.add(xs.watch(FirewallStore.SERVICE, new WatchListener() {
                @Override
                public void changed(String path) {
                    request();
                }
            }));
        } catch (XenStoreException | RuntimeException e) {
            log.error("cannot watch {}, retrying: {}", RULES, e.toString());
            watches.forEach(FirewallComponent::closeQuietly);
            watches.clear();
            tasks.schedule(this::watch, 2000);
        }
        request();
    }

    /** A listener that records which guest an event is about; null path or resync: everything. */
    private WatchListener event(String root) {
        return new WatchListener() {
            @Override
            public void changed(String path) {
                // recorded and requested on the reconciler thread, in that order: a request made here
                // could find a reconcile queued before the record and be dropped (a lost "done" signal)
                tasks.execute(() -> {
                    if (record(root, path == null ? null : FirewallStore.relative(path, root))) {
                        request();
                    }
                });
            }

            @Override
            public void resync() {
                tasks.execute(() -> {
                    rescan = true;
                    request();
                });
            }
        };
    }

    /**
     * Marks the guest an event under {@code root} is about; a rule set only on its "done" signal. Whether it
     * marked something (a write of one rule, before the "done" signal, needs no reconcile).
     */
    private boolean record(String root, String[] parts) {
        if (parts == null) {
            rescan = true;
            return true;
        }
        Integer domid = parts.length == 0 ? null : FirewallStore.domid(parts[0]);
        if (domid == null) {
            return false;
        }
        if (!root.equals(RULES)) {
            vifsDirty.add(domid);
        } else if (parts.length == 1) {
            rulesDirty.add(domid); // qubes-firewall/<domid> itself: the toolstack's "done" signal
        } else {
            return false;
        }
        return true;
    }

    private void request() {
        if (pending.compareAndSet(false, true)) {
            tasks.execute(this::reconcile);
        }
    }

    /** Re-plans guests with a rule that expired since they were planned. */
    private void pass() {
        if (closed) {
            return;
        }
        long now = clock.millis() / 1000;
        for (Map.Entry<Integer, GuestState> e : guests.entrySet()) {
            long at = e.getValue().expiresAt;
            if (at != 0 && now >= at) {
                vifsDirty.add(e.getKey());
            }
        }
        if (!vifsDirty.isEmpty()) {
            request();
        }
        tasks.schedule(this::pass, PASS_MILLIS);
    }

    private void reconcile() {
        pending.set(false);
        if (closed) {
            return;
        }
        try {
            boolean want = configured || store.serviceOn();
            if (want != enabled) {
                enabled = want;
                log.info("per-guest firewall {}", want ? "enabled" : "disabled");
                rescan = true;
            }
            if (!enabled) {
                // once withdrawn, events while disabled (each vif's keys in a netvm without the service)
                // cost no dataplane pass; a new instance withdraws once (a previous one's may be there)
                if (!withdrawnAll) {
                    disable();
                    withdrawnAll = true;
                }
                rulesDirty.clear();
                vifsDirty.clear(); // enabling rescans everything
                publish();
                return;
            }
            withdrawnAll = false;
            if (rescan) {
                rescan = false;
                dataplane.put(FirewallPlanner.closed());
                dispatch = null;
                dnsSets = null;
                rulesDirty.addAll(store.domains(RULES));
                vifsDirty.addAll(store.domains(VIFS));
                vifsDirty.addAll(guests.keySet());
            }
            for (Integer domid : new TreeSet<>(rulesDirty)) {
                readRules(domid, guests.computeIfAbsent(domid, k -> new GuestState()));
            }
            rulesDirty.clear();
            putDns();
            for (Integer domid : new TreeSet<>(vifsDirty)) {
                apply(domid);
            }
            vifsDirty.clear();
            dispatch();
        } catch (XenStoreException | RuntimeException e) {
            log.warn("firewall reconcile failed, retrying: {}", e.toString());
            rescan = true;
            tasks.schedule(this::request, 2000);
        }
        publish();
    }

    /**
     * Puts the dispatch to the guests' chains if it changed, then withdraws chains of guests that went:
     * the dispatch never jumps to a chain the dataplane does not have (new chains were put before).
     */
    private void dispatch() {
        Map<Integer, List<IpAddress>> addresses = new HashMap<>();
        guests.forEach((domid, g) -> {
            if (g.put != null) {
                addresses.put(domid, g.addresses);
            }
        });
        if (dispatch == null || !addresses.equals(dispatched)) { // planning is O(guests): only on a change
            dispatched = addresses;
            Contribution c = FirewallDispatch.plan(addresses);
            if (!c.equals(dispatch)) {
                dispatch = c;
                dataplane.put(c);
            }
        }
        withdrawn.forEach(domid -> dataplane.remove(FirewallPlanner.owner(domid)));
        withdrawn.clear();
    }

    /** Withdraws every contribution: traffic is as without the firewall. */
    private void disable() {
        dataplane.remove(FirewallDispatch.OWNER);
        dispatch = null;
        for (Integer domid : guests.keySet()) {
            dataplane.remove(FirewallPlanner.owner(domid));
        }
        guests.clear();
        dataplane.remove(FirewallPlanner.DNS_OWNER);
        dnsSets = null;
        dataplane.remove("firewall");
    }

    private void readRules(int domid, GuestState g) throws XenStoreException {
        FirewallStore.RuleSet set = store.readRules(domid);
        g.handledDue = set.signalled();
        g.rules = set.rules();
        g.problem = set.problem();
        if (set.problem() != null && !FirewallStore.RuleSet.NONE.equals(set.problem())) {
            log.error("firewall of domain {}: {}; blocking its traffic", domid, set.problem());
        }
        vifsDirty.add(domid);
        if (g.rules != null && !g.rules.hostnames().isEmpty()) {
            resolve(domid, g);
        }
    }

    /** Resolves the names off this thread; the guest stays as it was (or blocked) until they are back. */
    private void resolve(int domid, GuestState g) {
        GuestRules rules = g.rules;
        g.resolved = null;
        resolution.start(rules, (map, problem) -> tasks.execute(() -> {
            GuestState now = guests.get(domid);
            if (now == null || now.rules != rules) {
                return; // superseded
            }
            if (problem != null) {
                now.rules = null;
                now.problem = problem;
                log.error("firewall of domain {}: {}; blocking its traffic", domid, problem);
                now.resolved = Map.of();
            } else {
                now.resolved = map;
            }
            vifsDirty.add(domid);
            request();
        }));
    }

    private void apply(int domid) throws XenStoreException {
        GuestState g = guests.computeIfAbsent(domid, k -> new GuestState());
        if (g.resolved == null) {
            return; // names still resolving
        }
        g.addresses = store.addresses(domid);
        if (g.idle()) {
            if (g.put != null) {
                withdrawn.add(domid); // after the dispatch no longer jumps to its chain
            }
            guests.remove(domid);
            return;
        }
        long now = clock.millis() / 1000;
        Contribution c = FirewallPlanner.plan(new FirewallPlanner.Input(domid, g.rules, g.resolved, now,
                g.addresses));
        Contribution dnsNow = dnsSets;
        g.expiresAt = FirewallPlanner.nextExpiry(g.rules, now);
        boolean changed = !c.equals(g.put);
        boolean handled = g.handledDue;
        g.handledDue = false;
        g.put = c;
        if (!changed && !handled) {
            return;
        }
        dataplane.put(c).whenComplete((ok, error) -> tasks.execute(() -> {
            if (error != null) {
                log.error("firewall of domain {} not applied yet (the dataplane retries): {}", domid, error.toString());
            }
            if (handled) {
                writeHandled(domid, g);
            }
            if (changed) {
                conntrack.cutIfRefused(ChainRef.of(FirewallPlanner.FORWARD.family(), FirewallPlanner.chain(domid)),
                        c, dnsNow, g.addresses);
            }
        }));
    }

    private void writeHandled(int domid, GuestState g) {
        try {
            store.writeHandled(domid, g.rules, g.resolved == null ? Map.of() : g.resolved);
        } catch (XenStoreException | RuntimeException e) {
            log.warn("cannot write the handled counter of domain {}: {}", domid, e.toString());
        }
    }
}
