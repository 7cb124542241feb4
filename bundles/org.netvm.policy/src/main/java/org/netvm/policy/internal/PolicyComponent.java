package org.netvm.policy.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.LongSupplier;

import org.netvm.dataplane.Contribution;
import org.netvm.dataplane.Dataplane;
import org.netvm.dataplane.IpAddress;
import org.netvm.policy.BasePolicy;
import org.netvm.util.Reconciler;
import org.netvm.xenstore.Watch;
import org.netvm.xenstore.WatchListener;
import org.netvm.xenstore.XenStore;
import org.netvm.xenstore.XenStoreException;
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
 * Puts the base policy ({@link PolicyRules}) into the dataplane and, only after the dataplane reported it
 * applied, asks for IP forwarding (fail closed: guests are never routed without the firewall). The
 * dataplane owns forwarding ({@link Dataplane#forwarding}): it writes the sysctls, decides at start
 * whether forwarding found on stays on, and keeps the marker for restarts.
 *
 * <p>IPv6 follows {@value #GATEWAY6_KEY} in the netvm's home, as in Qubes: with a valid IPv6 unicast
 * address there, the policy routes IPv6 ({@code ipv6=true}) and forwarding is {@code IPV4_AND_IPV6};
 * without it, or with a value that is not one ({@link #gateway6}: logged, treated as absent), every IPv6
 * packet not from loopback is dropped and forwarding is {@code IPV4} only. Until the key was read (or
 * while it cannot be) IPv6 stays as it last was, dropped at start. The key is read before the first put,
 * so a restart with gateway6 set does not drop IPv6 for a moment.
 *
 * <p>All work runs on one reconciler thread ({@link Reconciler}): activation, configuration changes and
 * the dataplane's answers are recorded, and the next pass handles them in order; it puts the desired policy; the put's completion asks for forwarding (every time, so a forwarding switched off behind
 * netvm's back is repaired by the next put). A failed put (or forwarding request) is retried after
 * {@code retryMillis}. When the policy bundle is stopped, forwarding is switched off first, then the
 * policy withdrawn; when the whole framework stops (a restart), nothing is asked, so forwarding and the
 * kernel's rules are left as they are and guests' flows go on while the agent is away.
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

        @AttributeDefinition(description = "Delay before a failed put or forwarding request is retried, in milliseconds")
        long retryMillis() default 5000;
    }

    /** The netvm's IPv6 address for its guests; relative: the netvm's home. */
    static final String GATEWAY6_KEY = "qubes-netvm-gateway6";
    private static final int MAX_ADDRESS_TEXT = 64;

    private final Dataplane dataplane;
    private final XenStore xenstore;
    private final Logger log;
    private final Reconciler loop;
    private final List<Runnable> recorded = new ArrayList<>(); // guarded by the loop's lock
    private volatile long retryMillis = 5000; // also read by the loop's timing

    // state below is touched by passes only (and by stop once the thread has ended)
    private Config config;
    private Contribution desired;
    private Watch gateway6Watch;
    private boolean gateway6Read;
    private String gateway6Raw;
    private boolean ipv6;
    private boolean gateway6RetryPending;
    private long generation;
    private boolean forwarding;
    private boolean retryPending;
    private boolean retryAsked;
    private boolean closed;

    @Activate
    public PolicyComponent(@Reference Dataplane dataplane, @Reference XenStore xenstore,
            @Reference(service = LoggerFactory.class) Logger log, Config config) {
        this(dataplane, xenstore, log, System::nanoTime, config);
        loop.start();
    }

    /** For tests: not started; drive {@link #loop()} with the fake {@code clock}. */
    PolicyComponent(Dataplane dataplane, XenStore xenstore, Logger log, LongSupplier clock, Config config) {
        this.dataplane = dataplane;
        this.xenstore = xenstore;
        this.log = log;
        // no periodic pass: a pass that asked for a retry is followed by one after retryMillis
        this.loop = new Reconciler("netvm-policy", "policy", () -> new Reconciler.Timing(0, retryMillis, 0, false),
                clock, this::pass);
        execute(() -> configure(config));
    }

    /** The reconciler, for tests that drive it by hand. */
    Reconciler loop() {
        return loop;
    }

    @Modified
    void modified(Config config) {
        execute(() -> configure(config));
    }

    @Deactivate
    void deactivate(BundleContext context) {
        stop(context.getBundle(Constants.SYSTEM_BUNDLE_ID).getState() == Bundle.STOPPING);
    }

    /** {@code frameworkStopping}: the whole runtime stops (a restart follows), not just this bundle. */
    void stop(boolean frameworkStopping) {
        execute(() -> shutdown(frameworkStopping));
        loop.stop(); // a pass under way finishes; what is still recorded (the shutdown last) runs here
        runRecorded();
    }

    /** Records {@code task} for the next pass. */
    private void execute(Runnable task) {
        loop.record(() -> recorded.add(task));
    }

    /** One pass: a retry that fell due, then what was recorded, in order; false if it asked for a retry. */
    private boolean pass(boolean periodic) {
        retryAsked = false;
        if (periodic && gateway6RetryPending) {
            gateway6RetryPending = false;
            watchGateway6();
            gateway6Changed();
        }
        if (periodic && retryPending) {
            retryPending = false;
            if (!closed) {
                put();
            }
        }
        runRecorded();
        return !retryAsked;
    }

    private void runRecorded() {
        List<Runnable> tasks = loop.locked(() -> {
            List<Runnable> l = List.copyOf(recorded);
            recorded.clear();
            return l;
        });
        tasks.forEach(Runnable::run);
    }

    /** Whether the dataplane switched forwarding on for us (read by tests after running the tasks). */
    boolean forwarding() {
        return forwarding;
    }

    /** Whether the policy routes IPv6 (gateway6 valid), read by tests after running the passes. */
    boolean ipv6() {
        return ipv6;
    }

    private void configure(Config config) {
        if (closed) {
            return;
        }
        this.config = config;
        retryMillis = Math.max(100, config.retryMillis());
        if (gateway6Watch == null) {
            watchGateway6();
            readGateway6();
        }
        apply();
    }

    /** Records the policy for the current configuration and gateway6, and puts it. */
    private void apply() {
        desired = PolicyRules.contribution(new PolicyRules.Options(config.uplinkIcmp(), config.masquerade6(), ipv6));
        generation++;
        put();
    }

    private void watchGateway6() {
        if (closed || gateway6Watch != null) {
            return;
        }
        WatchListener listener = path -> execute(this::gateway6Changed);
        try {
            gateway6Watch = xenstore.watch(GATEWAY6_KEY, listener);
        } catch (XenStoreException | RuntimeException e) {
            log.error("cannot watch {}, retrying in {} ms: {}", GATEWAY6_KEY, retryMillis, e.toString());
            retryGateway6();
        }
    }

    private void gateway6Changed() {
        if (!closed && readGateway6()) {
            apply();
        }
    }

    /** A pass after retryMillis watches (if needed) and re-reads gateway6. */
    private void retryGateway6() {
        gateway6RetryPending = true;
        retryAsked = true;
    }

    /** Re-reads gateway6; true if whether IPv6 is routed changed. A failed read keeps the last state. */
    private boolean readGateway6() {
        String raw;
        try {
            raw = xenstore.readIfExists(GATEWAY6_KEY).orElse(null);
        } catch (XenStoreException | RuntimeException e) {
            log.warn("cannot read {} (IPv6 stays {}), retrying in {} ms: {}", GATEWAY6_KEY,
                    ipv6 ? "routed" : "dropped", retryMillis, e.toString());
            retryGateway6();
            return false;
        }
        if (gateway6Read && Objects.equals(raw, gateway6Raw)) {
            return false;
        }
        gateway6Read = true;
        gateway6Raw = raw;
        boolean now = gateway6(raw) != null;
        if (now) {
            log.info("{} {}: IPv6 routed", GATEWAY6_KEY, raw);
        } else if (raw == null || raw.isEmpty()) {
            log.info("no {}: every IPv6 packet not from loopback dropped", GATEWAY6_KEY);
        } else {
            log.error("{} is not a unicast IPv6 address: \"{}\"; IPv6 dropped as without it", GATEWAY6_KEY,
                    printable(raw));
        }
        boolean changed = now != ipv6;
        ipv6 = now;
        return changed;
    }

    /** The gateway6 address if {@code raw} is a unicast IPv6 address (link-local allowed, as Qubes), else null. */
    static IpAddress gateway6(String raw) {
        if (raw == null || raw.isEmpty() || raw.length() > MAX_ADDRESS_TEXT) {
            return null;
        }
        IpAddress a;
        try {
            a = IpAddress.of(raw);
        } catch (IllegalArgumentException e) {
            return null;
        }
        if (a.version() != 6) {
            return null;
        }
        byte[] b = a.bytes();
        boolean zeroPrefix = true; // :: , ::1 and ::ffff:a.b.c.d (v4-mapped) are not a gateway
        for (int i = 0; i < 10; i++) {
            zeroPrefix &= b[i] == 0;
        }
        if ((b[0] & 0xff) == 0xff || zeroPrefix) {
            return null; // multicast, unspecified, loopback, IPv4-compatible or -mapped
        }
        return a;
    }

    /** At most 64 printable ASCII characters of a hostile value, for a log line. */
    private static String printable(String s) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < s.length() && out.length() < MAX_ADDRESS_TEXT; i++) {
            char c = s.charAt(i);
            out.append(c >= 0x20 && c < 0x7f && c != '"' ? c : '?');
        }
        return s.length() > MAX_ADDRESS_TEXT ? out + "..." : out.toString();
    }

    private void put() {
        long gen = generation;
        CompletionStage<Void> stage;
        try {
            stage = dataplane.put(desired);
        } catch (RuntimeException e) {
            stage = CompletableFuture.failedFuture(e);
        }
        stage.whenComplete((ok, error) -> execute(() -> putDone(gen, error)));
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
        CompletionStage<Void> stage;
        try {
            stage = dataplane.forwarding(ipv6 ? Dataplane.Forwarding.IPV4_AND_IPV6 : Dataplane.Forwarding.IPV4);
        } catch (RuntimeException e) {
            stage = CompletableFuture.failedFuture(e);
        }
        stage.whenComplete((ok, e) -> execute(() -> forwardingDone(gen, e)));
    }

    private void forwardingDone(long gen, Throwable error) {
        if (closed || gen != generation) {
            return;
        }
        if (error != null) {
            log.error("base policy applied but forwarding could not be switched on; retrying in {} ms: {}",
                    retryMillis, error.toString());
            retry();
            return;
        }
        if (!forwarding) {
            log.info("base policy applied; IP forwarding on ({})", ipv6 ? "IPv4 and IPv6" : "IPv4 only");
        }
        forwarding = true;
    }

    private void retry() {
        if (retryPending) {
            return;
        }
        retryPending = true;
        retryAsked = true; // the pass returns false: the loop runs a pass after retryMillis
    }

    private void shutdown(boolean frameworkStopping) {
        closed = true;
        if (gateway6Watch != null) {
            try {
                gateway6Watch.close();
            } catch (RuntimeException e) {
                // gone anyway
            }
            gateway6Watch = null;
        }
        if (frameworkStopping) {
            // a restart: the backend keeps the rules, the dataplane's marker tells the next run that forwarding is ours
            log.info("runtime stopping: IP forwarding and netvm's rules stay in force for the next start");
            return;
        }
        try { // recorded before the withdrawal, so the dataplane switches forwarding off before applying it
            dataplane.forwarding(Dataplane.Forwarding.OFF).whenComplete((ok, e) -> {
                if (e != null) {
                    log.error("could not switch IP forwarding off: {}", e.toString());
                }
            });
            forwarding = false;
        } catch (RuntimeException e) {
            log.error("could not switch IP forwarding off: {}", e.toString());
        }
        try {
            dataplane.remove(BasePolicy.OWNER);
        } catch (RuntimeException e) {
            log.warn("could not withdraw the base policy: {}", e.toString());
        }
    }
}
