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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.netvm.dataplane.Contribution;
import org.netvm.dataplane.Dataplane;
import org.netvm.dataplane.IpAddress;
import org.netvm.dataplane.Match;
import org.netvm.dataplane.Plan;
import org.netvm.dataplane.Rule;
import org.netvm.dataplane.Verdict;
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
 * rejects) and is logged. Names resolve on their own virtual thread with a timeout, never on the
 * reconciler. After the guest's contribution is in the kernel: {@code qubes-firewall-handled/<domid>} + 1,
 * {@code qubes-firewall-dns/<domid>/NNNN}, and the guest's tracked flows its new chain refuses are cut.
 * Every {@value #PASS_MILLIS} ms a pass re-plans guests whose rules expire or whose DNS servers changed.
 */
@Component(service = {}, immediate = true, configurationPid = FirewallComponent.PID)
@Designate(ocd = FirewallComponent.Config.class)
public final class FirewallComponent {
    static final String PID = "org.netvm.firewall";
    static final String RULES = "qubes-firewall";
    static final String SERVICE = "qubes-service/qubes-firewall";
    static final String VIFS = "backend/vif";
    static final long PASS_MILLIS = 5000;

    @ObjectClassDefinition(id = PID, name = "netvm per-guest firewall")
    public @interface Config {
        @AttributeDefinition(description = "Enforce qubes-firewall rules even without qubes-service/qubes-firewall=1")
        boolean enabled() default false;

        @AttributeDefinition(description = "How long a dsthost name may take to resolve, in milliseconds")
        long resolveTimeoutMillis() default 3000;

        @AttributeDefinition(description = "Path of the conntrack tool; empty to look in /usr/sbin, /sbin, /usr/bin")
        String conntrackPath() default "";
    }

    /** The seam for name resolution (blocking; called off the reconciler thread). */
    interface Resolver {
        List<IpAddress> resolve(String name) throws Exception;
    }

    /** What is known of one guest (reconciler thread only). */
    private static final class Guest {
        List<IpAddress> addresses = List.of();
        GuestRules rules;
        String problem = "no rule set";
        Map<String, List<IpAddress>> resolved = Map.of();
        boolean handledDue;
        Contribution put;
        List<IpAddress> dnsUsed = List.of();
    }

    private final Dataplane dataplane;
    private final XenStore xs;
    private final Logger log;
    private final Tasks tasks;
    private final Resolver resolver;
    private final Conntrack conntrack;
    private final Clock clock;
    private final boolean configured;
    private final long resolveTimeout;
    private final AtomicBoolean pending = new AtomicBoolean();
    private final Set<Integer> rulesDirty = new HashSet<>();
    private final Set<Integer> vifsDirty = new HashSet<>();
    private final Map<Integer, Guest> guests = new HashMap<>();
    private final List<Watch> watches = new ArrayList<>();
    private boolean rescan = true;
    private boolean enabled;
    private boolean closed;

    @Activate
    public FirewallComponent(@Reference Dataplane dataplane, @Reference XenStore xs,
            @Reference(service = LoggerFactory.class) Logger log, Config config) {
        this(dataplane, xs, log, new ExecutorTasks("netvm-firewall"), FirewallComponent::lookup,
                new ConntrackTool(List.of(), config.conntrackPath(), 10_000), Clock.systemUTC(), config);
    }

    FirewallComponent(Dataplane dataplane, XenStore xs, Logger log, Tasks tasks, Resolver resolver,
            Conntrack conntrack, Clock clock, Config config) {
        this.dataplane = dataplane;
        this.xs = xs;
        this.log = log;
        this.tasks = tasks;
        this.resolver = resolver;
        this.conntrack = conntrack;
        this.clock = clock;
        this.configured = config.enabled();
        this.resolveTimeout = Math.max(100, config.resolveTimeoutMillis());
        tasks.execute(this::watch);
        tasks.schedule(this::pass, PASS_MILLIS);
    }

    private static List<IpAddress> lookup(String name) throws Exception {
        List<IpAddress> out = new ArrayList<>();
        for (InetAddress a : InetAddress.getAllByName(name)) {
            out.add(IpAddress.of(a.getHostAddress().replaceAll("%.*$", "")));
        }
        return out;
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
            watches.add(xs.watch(SERVICE, new WatchListener() {
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
                tasks.execute(() -> record(root, path == null ? null : relative(path, root)));
                request();
            }

            @Override
            public void resync() {
                tasks.execute(() -> rescan = true);
                request();
            }
        };
    }

    /** The components of {@code path} below {@code root} (relative or absolute), or an empty array. */
    static String[] relative(String path, String root) {
        int i = path.indexOf(root + "/");
        if (i < 0 || i > 0 && path.charAt(i - 1) != '/') {
            return new String[0];
        }
        return path.substring(i + root.length() + 1).split("/");
    }

    /** Marks the guest an event under {@code root} is about; a rule set only on its "done" signal. */
    private void record(String root, String[] parts) {
        if (parts == null) {
            rescan = true;
            return;
        }
        if (parts.length == 0 || !parts[0].matches("0|[1-9][0-9]{0,4}")) {
            return;
        }
        int domid = Integer.parseInt(parts[0]);
        if (!root.equals(RULES)) {
            vifsDirty.add(domid);
        } else if (parts.length == 1) {
            rulesDirty.add(domid); // qubes-firewall/<domid> itself: the toolstack's "done" signal
        }
    }

    private void request() {
        if (pending.compareAndSet(false, true)) {
            tasks.execute(this::reconcile);
        }
    }

    /** Re-plans guests whose plan changed by time (expiry) or DNS servers; re-resolves names then. */
    private void pass() {
        if (closed) {
            return;
        }
        if (enabled) {
            List<IpAddress> dns = dnsServers();
            for (Map.Entry<Integer, Guest> e : guests.entrySet()) {
                Guest g = e.getValue();
                if (g.resolved == null || g.put == null) {
                    continue;
                }
                if (!dns.equals(g.dnsUsed) && g.rules != null && !g.rules.hostnames().isEmpty()) {
                    resolve(e.getKey(), g.rules);
                } else if (!plan(e.getKey(), g, dns).equals(g.put)) {
                    vifsDirty.add(e.getKey());
                }
            }
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
            boolean want = configured || "1".equals(xs.readIfExists(SERVICE).orElse(""));
            if (want != enabled) {
                enabled = want;
                log.info("per-guest firewall {}", want ? "enabled" : "disabled");
                rescan = true;
            }
            if (!enabled) {
                for (Integer domid : guests.keySet()) {
                    dataplane.remove(FirewallPlanner.owner(domid));
                }
                guests.clear();
                dataplane.remove("firewall");
                return;
            }
            if (rescan) {
                rescan = false;
                dataplane.put(FirewallPlanner.closed());
                for (String d : list(RULES)) {
                    record(RULES, new String[] {d});
                }
                for (String d : list(VIFS)) {
                    record(VIFS, new String[] {d});
                }
                guests.keySet().forEach(vifsDirty::add);
            }
            for (Integer domid : new TreeSet<>(rulesDirty)) {
                readRules(domid, guests.computeIfAbsent(domid, k -> new Guest()));
            }
            rulesDirty.clear();
            for (Integer domid : new TreeSet<>(vifsDirty)) {
                apply(domid);
            }
            vifsDirty.clear();
        } catch (XenStoreException | RuntimeException e) {
            log.warn("firewall reconcile failed, retrying: {}", e.toString());
            rescan = true;
            tasks.schedule(this::request, 2000);
        }
    }

    private List<String> list(String path) throws XenStoreException {
        try {
            return xs.directory(path);
        } catch (XenStoreException e) {
            if (e.error() == org.netvm.xenstore.XenStoreError.ENOENT) {
                return List.of();
            }
            throw e;
        }
    }

    private void readRules(int domid, Guest g) throws XenStoreException {
        String base = RULES + "/" + domid;
        Map<String, String> entries = new HashMap<>();
        List<String> names = list(base);
        g.handledDue = xs.readIfExists(base).isPresent();
        try {
            if (names.size() > RuleParser.MAX_RULES + 1) {
                throw new RuleError("too many rules: " + (names.size() - 1) + " > " + RuleParser.MAX_RULES);
            }
            for (String n : names) {
                entries.put(n, xs.readIfExists(base + "/" + n).orElse(""));
            }
            g.rules = entries.isEmpty() ? null : RuleParser.parse(entries);
            g.problem = entries.isEmpty() ? "no rule set" : null;
        } catch (RuleError e) {
            g.rules = null;
            g.problem = e.getMessage();
            log.error("firewall of domain {}: {}; blocking its traffic", domid, e.getMessage());
        }
        vifsDirty.add(domid);
        if (g.rules != null && !g.rules.hostnames().isEmpty()) {
            resolve(domid, g.rules);
        }
    }

    /** Resolves the names off this thread; the guest stays as it was (or blocked) until they are back. */
    private void resolve(int domid, GuestRules rules) {
        Guest g = guests.get(domid);
        g.resolved = null;
        CompletableFuture.supplyAsync(() -> {
            Map<String, List<IpAddress>> out = new HashMap<>();
            for (String name : rules.hostnames()) {
                try {
                    out.put(name, resolver.resolve(name));
                } catch (Exception e) {
                    throw new IllegalStateException("dsthost " + RuleParser.quote(name) + " does not resolve: " + e);
                }
            }
            return out;
        }, r -> Thread.ofVirtual().name("netvm-firewall-resolve").start(r))
                .orTimeout(resolveTimeout, TimeUnit.MILLISECONDS)
                .whenComplete((map, error) -> tasks.execute(() -> {
                    Guest now = guests.get(domid);
                    if (now == null || now.rules != rules) {
                        return; // superseded
                    }
                    if (error != null) {
                        now.rules = null;
                        now.problem = error instanceof java.util.concurrent.TimeoutException
                                ? "dsthost resolution timed out" : String.valueOf(error.getMessage());
                        log.error("firewall of domain {}: {}; blocking its traffic", domid, now.problem);
                        now.resolved = Map.of();
                    } else {
                        now.resolved = map;
                    }
                    vifsDirty.add(domid);
                    request();
                }));
    }

    private void apply(int domid) throws XenStoreException {
        Guest g = guests.get(domid);
        if (g == null) {
            g = new Guest();
            guests.put(domid, g);
        }
        if (g.resolved == null) {
            return; // names still resolving
        }
        g.addresses = addresses(domid);
        if (g.addresses.isEmpty() && g.rules == null && g.problem != null && g.problem.equals("no rule set")
                && !g.handledDue) {
            if (g.put != null) {
                dataplane.remove(FirewallPlanner.owner(domid));
            }
            guests.remove(domid);
            return;
        }
        List<IpAddress> dns = dnsServers();
        Contribution c = plan(domid, g, dns);
        g.dnsUsed = dns;
        boolean changed = !c.equals(g.put);
        boolean handled = g.handledDue;
        g.handledDue = false;
        g.put = c;
        if (!changed && !handled) {
            return;
        }
        Guest guest = g;
        dataplane.put(c).whenComplete((ok, error) -> tasks.execute(() -> {
            if (error != null) {
                log.error("firewall of domain {} not applied yet (the dataplane retries): {}", domid, error.toString());
            }
            if (handled) {
                writeHandled(domid, guest);
            }
            if (changed) {
                cutFlows(c, guest.addresses, domid);
            }
        }));
    }

    private Contribution plan(int domid, Guest g, List<IpAddress> dns) {
        return FirewallPlanner.plan(new FirewallPlanner.Input(domid, g.addresses, g.rules, dns,
                g.resolved == null ? Map.of() : g.resolved, clock.millis() / 1000));
    }

    private List<IpAddress> addresses(int domid) throws XenStoreException {
        List<IpAddress> out = new ArrayList<>();
        for (String dev : list(VIFS + "/" + domid)) {
            for (String a : xs.readIfExists(VIFS + "/" + domid + "/" + dev + "/ip").orElse("").trim().split("\\s+")) {
                try {
                    if (!a.isEmpty() && a.length() <= 45) {
                        out.add(IpAddress.of(a));
                    }
                } catch (IllegalArgumentException e) {
                    // the vif bundle refuses such a vif; nothing to match here
                }
            }
        }
        return out;
    }

    /** The DNS servers as the forward hook sees them: the targets of the plan's DNAT rules to port 53. */
    private List<IpAddress> dnsServers() {
        Plan plan = dataplane.plan();
        TreeSet<IpAddress> out = new TreeSet<>();
        for (Rule r : plan.rules().values().stream().flatMap(List::stream).toList()) {
            if (r.verdict() instanceof Verdict.Dnat d && r.matches().stream()
                    .anyMatch(m -> m instanceof Match.Port p && p.first() == 53)) {
                out.add(d.address());
            }
        }
        return List.copyOf(out);
    }

    private void writeHandled(int domid, Guest g) {
        try {
            String key = "qubes-firewall-handled/" + domid;
            String old = xs.readIfExists(key).orElse("0");
            long n = old.matches("[0-9]{1,18}") ? Long.parseLong(old) : 0;
            if (xs.readIfExists("qubes-firewall-dns/" + domid).isPresent()) {
                xs.rm("qubes-firewall-dns/" + domid);
            }
            if (g.rules != null) {
                int i = 0;
                for (FirewallRule r : g.rules.rules()) {
                    if (r.dsthost() != null) {
                        xs.write(String.format("qubes-firewall-dns/%d/%04d", domid, i), String.join(" ",
                                g.resolved.getOrDefault(r.dsthost(), List.of()).stream().map(IpAddress::text).toList()));
                    }
                    i++;
                }
            }
            xs.write(key, Long.toString(n + 1));
        } catch (XenStoreException | RuntimeException e) {
            log.warn("cannot write the handled counter of domain {}: {}", domid, e.toString());
        }
    }

    private void cutFlows(Contribution c, List<IpAddress> sources, int domid) {
        var chain = org.netvm.dataplane.ChainRef.of(org.netvm.policy.BasePolicy.FAMILY, FirewallPlanner.chain(domid));
        Thread.ofVirtual().name("netvm-firewall-conntrack").start(() -> {
            for (IpAddress s : sources) {
                for (Flow f : conntrack.flowsFrom(s)) {
                    if (!f.allowedBy(chain, c.rules())) {
                        conntrack.delete(f);
                    }
                }
            }
        });
    }
}
