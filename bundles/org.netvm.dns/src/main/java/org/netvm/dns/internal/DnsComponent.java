package org.netvm.dns.internal;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

import org.netvm.dataplane.Contribution;
import org.netvm.dataplane.Dataplane;
import org.netvm.dataplane.IpAddress;
import org.netvm.dns.NameserverSource;
import org.netvm.dns.UpstreamListener;
import org.netvm.kernel.Kernel;
import org.netvm.util.Tasks;
import org.netvm.util.ExecutorTasks;
import org.netvm.xenstore.Watch;
import org.netvm.xenstore.WatchListener;
import org.netvm.xenstore.XenStore;
import org.netvm.xenstore.XenStoreException;
import org.osgi.framework.Constants;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.log.Logger;
import org.osgi.service.log.LoggerFactory;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * DNS DNAT, the equivalent of Qubes' {@code qubes-setup-dnat-to-ns}: keeps the dataplane contribution
 * {@value DnsRules#OWNER} ({@link DnsRules}) equal to the {@link DnsMapping} of the virtual DNS addresses
 * ({@link VirtualDns}, from xenstore) onto the upstreams of the chosen {@link NameserverSource}.
 *
 * <p>Every trigger (a source's change signal, a source coming or going, a xenstore watch event, a
 * configuration change) only asks for a reconcile; one thread reconciles: it re-reads what is dirty,
 * computes the mapping and puts a new contribution only when the mapping differs from the last one put.
 * The dataplane keeps a put contribution desired and retries it itself, so a failed put is only logged.
 * Once a put is in the kernel, guests' tracked DNS flows that an earlier mapping translated elsewhere are
 * deleted ({@link StaleDnsFlows}), so their next packet follows the new mapping.
 * On deactivation the contribution is replaced by drop rules (fail closed: queries to the virtual
 * addresses never leave through the uplink unmodified).
 */
@Component(service = {}, immediate = true, configurationPid = DnsComponent.PID)
@Designate(ocd = DnsComponent.Config.class)
public final class DnsComponent {
    static final String PID = "org.netvm.dns";

    @ObjectClassDefinition(id = PID, name = "netvm DNS DNAT",
            description = "Maps the virtual DNS addresses of guests onto the upstream nameservers")
    public @interface Config {
        @AttributeDefinition(description = "DNS1 when xenstore key qubes-netvm-primary-dns is missing")
        String defaultPrimary() default "10.139.1.1";

        @AttributeDefinition(description = "DNS2 when xenstore key qubes-netvm-secondary-dns is missing")
        String defaultSecondary() default "10.139.1.2";

        @AttributeDefinition(description = "Delay before a failed xenstore read or watch is retried, in milliseconds")
        long retryMillis() default 2000;
    }

    private record Bound(int ranking, long id, NameserverSource.Subscription subscription) {
    }

    private static final Comparator<Map.Entry<NameserverSource, Bound>> CHOICE = Comparator
            .comparingInt((Map.Entry<NameserverSource, Bound> e) -> e.getValue().ranking())
            .thenComparing(e -> -e.getValue().id());

    private final Dataplane dataplane;
    private final XenStore xenstore;
    private final Logger log;
    private final Tasks tasks;
    private final StaleDnsFlows staleFlows;
    private final Map<NameserverSource, Bound> sources = new ConcurrentHashMap<>();
    private final AtomicBoolean pending = new AtomicBoolean();
    private final Set<UpstreamListener> listeners = ConcurrentHashMap.newKeySet();

    // below: reconciler thread only
    private IpAddress defaultPrimary;
    private IpAddress defaultSecondary;
    private long retryMillis;
    private final List<Watch> watches = new ArrayList<>();
    private volatile boolean virtualDirty = true;
    private VirtualDns virtual;
    private DnsMapping lastPut;
    private boolean retryPending;
    private boolean closed;

    @Activate
    public DnsComponent(@Reference Dataplane dataplane, @Reference XenStore xenstore, @Reference Kernel kernel,
            @Reference(service = LoggerFactory.class) Logger log, Config config) {
        this(dataplane, xenstore, log, new ExecutorTasks("netvm-dns"), new StaleDnsFlows(kernel::conntrack, log),
                config);
    }

    DnsComponent(Dataplane dataplane, XenStore xenstore, Logger log, Tasks tasks, StaleDnsFlows staleFlows,
            Config config) {
        this.dataplane = dataplane;
        this.xenstore = xenstore;
        this.log = log;
        this.tasks = tasks;
        this.staleFlows = staleFlows;
        configure(config);
        virtual = VirtualDns.defaults(defaultPrimary, defaultSecondary);
        tasks.execute(this::watchXenstore);
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            updated = "updatedSource")
    void addSource(NameserverSource source, Map<String, Object> properties) {
        Object r = properties.get(Constants.SERVICE_RANKING);
        Object id = properties.get(Constants.SERVICE_ID);
        NameserverSource.Subscription sub;
        try {
            sub = source.subscribe(this::requestReconcile);
        } catch (RuntimeException e) {
            log.error("nameserver source {} refused a subscription: {}", properties.get(NameserverSource.NAME), e);
            sub = () -> { };
        }
        sources.put(source, new Bound(r instanceof Integer i ? i : 0, id instanceof Long l ? l : Long.MAX_VALUE, sub));
        requestReconcile();
    }

    /** A source changed its service properties (e.g. its ranking, to take over or hand back). */
    void updatedSource(NameserverSource source, Map<String, Object> properties) {
        Object r = properties.get(Constants.SERVICE_RANKING);
        sources.computeIfPresent(source, (s, b) -> new Bound(r instanceof Integer i ? i : 0, b.id(), b.subscription()));
        requestReconcile();
    }

    void removeSource(NameserverSource source) {
        Bound b = sources.remove(source);
        if (b != null) {
            try {
                b.subscription().close();
            } catch (RuntimeException e) {
                // its problem
            }
        }
        requestReconcile();
    }

    /** A listener is told the current upstreams at once (if known), then every change. */
    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void addListener(UpstreamListener listener) {
        listeners.add(listener);
        tasks.execute(() -> {
            if (lastPut != null && listeners.contains(listener)) {
                tell(listener, upstreamsOf(lastPut));
            }
        });
    }

    void removeListener(UpstreamListener listener) {
        listeners.remove(listener);
    }

    @Modified
    void modified(Config config) {
        tasks.execute(() -> {
            configure(config);
            virtualDirty = true;
            reconcile();
        });
    }

    @Deactivate
    void deactivate() {
        tasks.execute(this::shutdown);
        tasks.close();
    }

    private void configure(Config config) {
        defaultPrimary = IpAddress.of(config.defaultPrimary());
        defaultSecondary = IpAddress.of(config.defaultSecondary());
        if (defaultPrimary.version() != 4 || defaultSecondary.version() != 4) {
            throw new IllegalArgumentException("default virtual DNS addresses must be IPv4");
        }
        retryMillis = Math.max(50, config.retryMillis());
    }

    /** Asks for one reconcile soon; requests while one is pending coalesce. Any thread. */
    private void requestReconcile() {
        if (pending.compareAndSet(false, true)) {
            tasks.execute(this::reconcile);
        }
    }

    private void watchXenstore() {
        if (closed) {
            return;
        }
        WatchListener listener = path -> {
            virtualDirty = true;
            requestReconcile();
        };
        try {
            watches.add(xenstore.watch(VirtualDns.PRIMARY_KEY, listener));
            watches.add(xenstore.watch(VirtualDns.SECONDARY_KEY, listener));
        } catch (XenStoreException | RuntimeException e) {
            log.error("cannot watch the virtual DNS keys, retrying in {} ms: {}", retryMillis, e.toString());
            closeWatches();
            tasks.schedule(this::watchXenstore, retryMillis);
        }
        requestReconcile();
    }

    private void reconcile() {
        pending.set(false);
        if (closed) {
            return;
        }
        if (virtualDirty) {
            virtualDirty = false;
            try {
                VirtualDns v = VirtualDns.of(xenstore.readIfExists(VirtualDns.PRIMARY_KEY),
                        xenstore.readIfExists(VirtualDns.SECONDARY_KEY), defaultPrimary, defaultSecondary);
                if (!v.valid() && (virtual == null || !v.equals(virtual))) {
                    log.error("{}: DNS queries dropped until it is fixed", v.problem());
                }
                virtual = v;
            } catch (XenStoreException | RuntimeException e) {
                virtualDirty = true;
                log.warn("cannot read the virtual DNS keys (keeping {} and {}), retrying in {} ms: {}",
                        virtual.primary(), virtual.secondary(), retryMillis, e.toString());
                retryLater();
            }
        }
        DnsMapping mapping = DnsMapping.of(virtual, Upstreams.usable(upstreams()));
        if (mapping.equals(lastPut)) {
            return;
        }
        put(mapping);
    }

    private List<InetAddress> upstreams() {
        Optional<Map.Entry<NameserverSource, Bound>> top = sources.entrySet().stream().max(CHOICE);
        if (top.isEmpty()) {
            return List.of();
        }
        try {
            List<InetAddress> list = top.get().getKey().nameservers();
            return list == null ? List.of() : list;
        } catch (RuntimeException e) {
            log.error("nameserver source failed, DNS queries dropped: {}", e.toString());
            return List.of();
        }
    }

    private void put(DnsMapping mapping) {
        List<InetAddress> before = lastPut == null ? null : upstreamsOf(lastPut);
        lastPut = mapping;
        List<InetAddress> now = upstreamsOf(mapping);
        if (!now.equals(before)) {
            listeners.forEach(l -> tell(l, now));
        }
        Contribution c = DnsRules.contribution(mapping);
        if (mapping.dropsAll()) {
            log.warn("DNS: no usable upstream nameserver (or bad virtual DNS); dropping {}", mapping);
        } else {
            log.info("DNS: {}", mapping);
        }
        CompletionStage<Void> stage;
        try {
            stage = dataplane.put(c);
        } catch (RuntimeException e) {
            stage = CompletableFuture.failedFuture(e);
        }
        stage.whenComplete((ok, error) -> {
            if (error != null) {
                log.error("DNS mapping {} not applied yet (the dataplane retries it): {}", mapping, error.toString());
            } else {
                tasks.execute(() -> cutStaleFlows(mapping));
            }
        });
    }

    /** The mapping is in the kernel: flows still translated by an earlier one are deleted (unless a newer one was put since). */
    private void cutStaleFlows(DnsMapping mapping) {
        if (mapping == lastPut && !closed) {
            staleFlows.cut(mapping);
        }
    }

    /** Where DNS1/DNS2 go, in order, without repeats and drops. */
    private static List<InetAddress> upstreamsOf(DnsMapping mapping) {
        return mapping.entries().stream().map(DnsMapping.Entry::upstream).filter(u -> u != null).distinct()
                .map(DnsComponent::inet).toList();
    }

    private static InetAddress inet(IpAddress a) {
        try {
            return InetAddress.getByAddress(a.bytes());
        } catch (java.net.UnknownHostException e) {
            throw new IllegalStateException(e); // 4 or 16 bytes: cannot happen
        }
    }

    private void tell(UpstreamListener listener, List<InetAddress> upstreams) {
        try {
            listener.upstreams(upstreams);
        } catch (RuntimeException e) {
            log.error("upstream listener {} failed: {}", listener, e.toString());
        }
    }

    private void retryLater() {
        if (!retryPending) {
            retryPending = true;
            tasks.schedule(() -> {
                retryPending = false;
                requestReconcile();
            }, retryMillis);
        }
    }

    private void closeWatches() {
        for (Watch w : watches) {
            try {
                w.close();
            } catch (RuntimeException e) {
                // gone anyway
            }
        }
        watches.clear();
    }

    private void shutdown() {
        closeWatches();
        DnsMapping drop = DnsMapping.of(new VirtualDns(virtual.primary(), virtual.secondary(), false, "stopped"),
                List.of());
        if (lastPut != null && !drop.equals(lastPut)) {
            put(drop);
        }
        closed = true;
    }
}
