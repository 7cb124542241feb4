package org.netvm.guest.internal;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Pattern;

import org.netvm.kernel.Batch;
import org.netvm.kernel.Kernel;
import org.netvm.kernel.KernelException;
import org.netvm.kernel.Link;
import org.netvm.kernel.MacAddress;
import org.netvm.util.Reconciler;
import org.netvm.xenstore.Watch;
import org.netvm.xenstore.XenStore;
import org.netvm.xenstore.XenStoreException;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.log.Logger;
import org.osgi.service.log.LoggerFactory;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * The guest role's address assignment. Watch events only mark the state dirty; one reconciler
 * thread reads the keys (in one xenstore transaction, so it sees a consistent set), moves the
 * kernel from the applied configuration to the new one and writes resolv.conf. A bad value is
 * rejected with a log line and changes nothing; a removed {@code qubes-ip} removes what netvm
 * configured. A periodic pass repairs drift.
 */
@Component(immediate = true, configurationPid = GuestAddressing.PID, configurationPolicy = ConfigurationPolicy.REQUIRE)
@Designate(ocd = GuestAddressing.Config.class)
public final class GuestAddressing {

    public static final String PID = "org.netvm.guest";

    @ObjectClassDefinition(name = "netvm guest addressing")
    public @interface Config {
        @AttributeDefinition(description = "Interface to configure; empty: the one whose MAC is device/vif/0/mac, else eth0")
        String interfaceName() default "";

        @AttributeDefinition(description = "resolv.conf to write")
        String resolvConf() default "/etc/resolv.conf";

        @AttributeDefinition(description = "This guest's domain id when connected through the privileged socket; 0: use relative paths (own domain)")
        int domid() default 0;

        @AttributeDefinition(description = "Seconds between drift-repair passes")
        int resyncSeconds() default 10;
    }

    private static final Pattern DEVICE = Pattern.compile("[A-Za-z0-9_.-]{1,15}");

    private final XenStore xs;
    private final Kernel kernel;
    private final ResolvConf resolv;
    private final Logger log;
    private final Config config;
    private final String home;
    private final Reconciler reconciler;
    private final AtomicBoolean dirty = new AtomicBoolean();
    private final List<Watch> watches = new ArrayList<>();

    // reconciler thread only
    private Optional<GuestNetwork> applied = Optional.empty();
    private String appliedDev;

    @Activate
    public GuestAddressing(Config config, @Reference XenStore xs, @Reference Kernel kernel,
            @Reference(service = LoggerFactory.class) Logger log) {
        this(config, xs, kernel, new FileResolvConf(), log);
    }

    GuestAddressing(Config config, XenStore xs, Kernel kernel, ResolvConf resolv, Logger log) {
        if (!config.interfaceName().isEmpty() && !DEVICE.matcher(config.interfaceName()).matches()) {
            throw new IllegalArgumentException("interfaceName is not a device name: " + config.interfaceName());
        }
        this.config = config;
        this.xs = xs;
        this.kernel = kernel;
        this.resolv = resolv;
        this.log = log;
        long every = Math.max(1, config.resyncSeconds()) * 1000L; // a failed pass is retried by the periodic one
        this.reconciler = new Reconciler("netvm-guest", "guest addressing", new Reconciler.Timing(every, every, 0),
                periodic -> {
                    if (periodic) {
                        dirty.set(true);
                    }
                    reconcile();
                    return true;
                });
        this.home = config.domid() > 0 ? "/local/domain/" + config.domid() + "/" : "";
        List<String> keys = new ArrayList<>(GuestNetwork.KEYS);
        keys.add("device/vif/0/mac");
        for (String key : keys) {
            try {
                watches.add(xs.watch(home + key, p -> requestReconcile()));
            } catch (XenStoreException e) {
                log.error("cannot watch {}: {}; relying on the periodic pass", home + key, e.getMessage());
            }
        }
        requestReconcile();
        reconciler.start(); // the first pass runs at once
    }

    @Deactivate
    void deactivate() {
        watches.forEach(Watch::close);
        reconciler.stop();
    }

    /** Called from watch callbacks: only records that something changed. */
    void requestReconcile() {
        reconciler.record(() -> dirty.set(true));
    }

    /** One pass; runs on the reconciler thread. */
    void reconcile() {
        if (!dirty.getAndSet(false)) {
            return;
        }
        Map<String, Optional<String>> values;
        try {
            values = xs.inTransaction(10, tx -> {
                Map<String, Optional<String>> m = new HashMap<>();
                for (String key : GuestNetwork.KEYS) {
                    m.put(key, tx.readIfExists(home + key));
                }
                m.put("device/vif/0/mac", tx.readIfExists(home + "device/vif/0/mac"));
                return m;
            });
        } catch (XenStoreException e) {
            log.warn("cannot read the guest's xenstore keys: {}; will retry", e.getMessage());
            return;
        }
        Optional<GuestNetwork> desired;
        try {
            desired = GuestNetwork.read(key -> values.getOrDefault(key, Optional.empty()));
        } catch (GuestNetwork.InvalidSettings e) {
            log.error("guest network settings rejected, nothing changed: {}", e.getMessage());
            return;
        }
        String dev;
        try {
            dev = pickInterface(values.get("device/vif/0/mac"));
        } catch (KernelException e) {
            log.warn("cannot list links: {}; will retry", e.getMessage());
            return;
        }
        Batch batch = GuestPlanner.transition(applied, appliedDev, desired, dev);
        try {
            kernel.apply(batch);
        } catch (KernelException e) {
            log.error("configuring {} failed: {}", dev, e.getMessage());
            dirty.set(true); // the periodic pass retries
            return;
        }
        boolean changed = !desired.equals(applied) || !dev.equals(appliedDev);
        applied = desired;
        appliedDev = dev;
        Optional<String> text = GuestPlanner.resolvConf(desired);
        if (text.isPresent()) {
            try {
                if (resolv.write(Path.of(config.resolvConf()), text.get())) {
                    log.info("resolv.conf: nameservers {}", desired.get().nameservers());
                }
            } catch (IOException e) {
                log.error("writing {} failed: {}", config.resolvConf(), e.toString());
            }
        }
        if (changed) {
            log.info(desired.map(n -> "configured " + dev + ": " + n.address() + " via " + n.gateway().getHostAddress()
                    + (n.ip6().map(a -> ", " + a.getHostAddress()).orElse("")))
                    .orElse("no qubes-ip: " + dev + " left unconfigured"));
        }
    }

    private String pickInterface(Optional<String> macText) throws KernelException {
        if (!config.interfaceName().isEmpty()) {
            return config.interfaceName();
        }
        if (macText.isPresent()) {
            try {
                MacAddress mac = MacAddress.parse(macText.get());
                for (Link l : kernel.links()) {
                    if (mac.equals(l.mac())) {
                        return l.name();
                    }
                }
            } catch (IllegalArgumentException e) {
                log.warn("device/vif/0/mac is not a MAC address; using eth0");
            }
        }
        return "eth0";
    }
}
