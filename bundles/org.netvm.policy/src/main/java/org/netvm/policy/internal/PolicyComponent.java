package org.netvm.policy.internal;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

import org.netvm.dataplane.Contribution;
import org.netvm.dataplane.Dataplane;
import org.netvm.dataplane.PacketFilterBackend;
import org.netvm.kernel.Batch;
import org.netvm.kernel.Kernel;
import org.netvm.kernel.KernelException;
import org.netvm.kernel.Sysctl;
import org.netvm.policy.BasePolicy;
import org.netvm.util.ExecutorTasks;
import org.netvm.util.Tasks;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.log.Logger;
import org.osgi.service.log.LoggerFactory;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * Puts the base policy ({@link PolicyRules}) into the dataplane and switches IP forwarding on only
 * after the dataplane reported it applied (fail closed: guests are never routed without the firewall).
 *
 * <p>All work runs on one thread: activation and configuration changes record the desired policy and
 * put it; the put's completion turns forwarding on (every time, so a forwarding switched off behind
 * netvm's back is repaired by the next put). A failed put (or sysctl write) is retried after
 * {@code retryMillis}; forwarding is not switched on while no policy was ever applied (if it was already
 * on at activation, it is switched off until then, unless the previous run of this agent left it on:
 * see {@link ForwardingMarker}). When the policy bundle is stopped, forwarding is switched off first,
 * then the policy withdrawn; when the whole framework stops (a restart), forwarding and the kernel's
 * rules are left as they are, so guests' flows go on while the agent is away.
 */
@Component(service = {}, immediate = true, configurationPid = PolicyComponent.PID)
@Designate(ocd = PolicyComponent.Config.class)
public final class PolicyComponent {
    static final String PID = "org.netvm.policy";

    @ObjectClassDefinition(id = PID, name = "netvm base policy",
            description = "Anti-spoofing, input, forward and masquerade rules of the netvm, and IP forwarding")
    public @interface Config {
        @AttributeDefinition(description = "Accept new ICMPv4 (ping) from non-vif (uplink) interfaces")
        boolean uplinkIcmp() default false;

        @AttributeDefinition(description = "Masquerade IPv6 leaving through non-vif interfaces too")
        boolean masquerade6() default true;

        @AttributeDefinition(description = "Also set net.ipv6.conf.all.forwarding=1 (stops the kernel from "
                + "taking router advertisements on the uplink)")
        boolean ipv6Forwarding() default false;

        @AttributeDefinition(description = "Delay before a failed put or sysctl write is retried, in milliseconds")
        long retryMillis() default 5000;

        @AttributeDefinition(description = "Directory (emptied at boot) for the marker that tells a restarted "
                + "agent it switched IP forwarding on itself, in this boot and network namespace")
        String markerDir() default "/run/netvm";
    }

    /** Backends as they come and go; read only to learn whether a previous run's firewall is in force. */
    @Reference(cardinality = org.osgi.service.component.annotations.ReferenceCardinality.MULTIPLE,
            policy = org.osgi.service.component.annotations.ReferencePolicy.DYNAMIC)
    volatile List<PacketFilterBackend> backends = new java.util.concurrent.CopyOnWriteArrayList<>();

    private final Dataplane dataplane;
    private final Kernel kernel;
    private final Logger log;
    private final Tasks tasks;
    private final ForwardingMarker marker;

    // state below is touched on the tasks thread only
    private Contribution desired;
    private boolean ipv6Forwarding;
    private long retryMillis;
    private long generation;
    private boolean ipv6Set;
    private boolean forwarding;
    private boolean retryPending;
    private boolean closed;
    private boolean markerSet;

    @Activate
    public PolicyComponent(@Reference Dataplane dataplane, @Reference Kernel kernel,
            @Reference(service = LoggerFactory.class) Logger log, Config config) {
        this(dataplane, kernel, log, new ExecutorTasks("netvm-policy"),
                new FileForwardingMarker(java.nio.file.Path.of(config.markerDir())), config);
    }

    PolicyComponent(Dataplane dataplane, Kernel kernel, Logger log, Tasks tasks, ForwardingMarker marker,
            Config config) {
        this.dataplane = dataplane;
        this.kernel = kernel;
        this.log = log;
        this.tasks = tasks;
        this.marker = marker;
        tasks.execute(() -> configure(config));
    }

    @Modified
    void modified(Config config) {
        tasks.execute(() -> configure(config));
    }

    @Deactivate
    void deactivate(BundleContext context) {
        stop(context.getBundle(Constants.SYSTEM_BUNDLE_ID).getState() == Bundle.STOPPING);
    }

    /** {@code frameworkStopping}: the whole runtime stops (a restart follows), not just this bundle. */
    void stop(boolean frameworkStopping) {
        tasks.execute(() -> shutdown(frameworkStopping));
        tasks.close();
    }

    /** Whether forwarding was switched on (read by tests after running the tasks). */
    boolean forwarding() {
        return forwarding;
    }

    private void configure(Config config) {
        if (closed) {
            return;
        }
        if (generation == 0) {
            forwardingOffUntilApplied();
        }
        desired = PolicyRules.contribution(new PolicyRules.Options(config.uplinkIcmp(), config.masquerade6()));
        ipv6Forwarding = config.ipv6Forwarding();
        retryMillis = Math.max(100, config.retryMillis());
        generation++;
        put();
    }

    /**
     * Forwarding switched on before netvm (e.g. by sysctl.d) would route guests without the firewall:
     * it is switched off until the policy is applied. Unless a backend still holds netvm's rules from
     * a previous run (the agent restarted; backends never sweep on stop): then the firewall is in
     * force, and switching forwarding off would only cut every guest's traffic until the first apply.
     */
    private void forwardingOffUntilApplied() {
        try {
            if (kernel.sysctl(Sysctl.ipv4Forward()) != 0) {
                for (PacketFilterBackend b : backends) {
                    try {
                        if (!b.readBack().isEmpty()) {
                            log.info("IP forwarding is on and backend {} still holds netvm's rules from a previous run:"
                                    + " kept on", b.name());
                            return;
                        }
                    } catch (org.netvm.dataplane.BackendException | RuntimeException e) {
                        log.warn("cannot read back backend {}: {}", b.name(), e.toString());
                    }
                }
                if (marker.present()) {
                    // backends may register after this component: the marker is what does not race
                    log.info("IP forwarding is on and was switched on by this agent's previous run in this boot"
                            + " and namespace: kept on (its rules stay in force until the first apply)");
                    return;
                }
                kernel.apply(new Batch().setSysctl(Sysctl.ipv4Forward(), 0));
                log.warn("IP forwarding was on before the base policy was applied; off until it is");
            }
        } catch (KernelException | RuntimeException e) {
            log.error("could not check or switch off IP forwarding before applying the policy: {}", e.toString());
        }
    }

    private void put() {
        long gen = generation;
        CompletionStage<Void> stage;
        try {
            stage = dataplane.put(desired);
        } catch (RuntimeException e) {
            stage = CompletableFuture.failedFuture(e);
        }
        stage.whenComplete((ok, error) -> tasks.execute(() -> putDone(gen, error)));
    }

    private void putDone(long gen, Throwable error) {
        if (closed || gen != generation) {
            return; // a newer put reports for itself
        }
        if (error != null) {
            log.error("base policy not applied, forwarding stays {}; retrying in {} ms: {}",
                    forwarding ? "on (previous policy in place)" : "off", retryMillis, error.toString());
            retry();
            return;
        }
        Batch batch = new Batch().setSysctl(Sysctl.ipv4Forward(), 1);
        if (ipv6Forwarding || ipv6Set) {
            batch.setSysctl(Sysctl.ipv6Forwarding(), ipv6Forwarding ? 1 : 0);
        }
        try {
            kernel.apply(batch);
            if (!forwarding) {
                log.info("base policy applied; IP forwarding on");
            }
            forwarding = true;
            setMarker();
            ipv6Set = ipv6Forwarding;
        } catch (KernelException | RuntimeException e) {
            log.error("base policy applied but forwarding could not be switched on; retrying in {} ms: {}",
                    retryMillis, e.toString());
            retry();
        }
    }

    private void retry() {
        if (retryPending) {
            return;
        }
        retryPending = true;
        tasks.schedule(() -> {
            retryPending = false;
            if (!closed) {
                put();
            }
        }, retryMillis);
    }

    private void setMarker() {
        if (markerSet) {
            return;
        }
        try {
            marker.set();
            markerSet = true;
        } catch (RuntimeException e) {
            log.warn("{}; a restart will switch forwarding off until its first apply", e.getMessage());
        }
    }

    private void shutdown(boolean frameworkStopping) {
        closed = true;
        if (frameworkStopping) {
            // a restart: the backend keeps the rules, the marker tells the next run that forwarding is ours
            log.info("runtime stopping: IP forwarding and netvm's rules stay in force for the next start");
            return;
        }
        Batch batch = new Batch().setSysctl(Sysctl.ipv4Forward(), 0);
        if (ipv6Set) {
            batch.setSysctl(Sysctl.ipv6Forwarding(), 0);
        }
        try {
            kernel.apply(batch);
            forwarding = false;
            marker.clear();
        } catch (KernelException | RuntimeException e) {
            log.error("could not switch IP forwarding off: {}", e.toString());
        }
        try {
            dataplane.remove(BasePolicy.OWNER);
        } catch (RuntimeException e) {
            log.warn("could not withdraw the base policy: {}", e.toString());
        }
    }
}
