package org.netvm.vif.internal;

import java.io.PrintStream;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.regex.Pattern;

import org.netvm.control.ControlCommand;
import org.netvm.dataplane.Contribution;
import org.netvm.dataplane.Dataplane;
import org.netvm.kernel.Kernel;
import org.netvm.vif.VifHook;
import org.netvm.vif.VifRegistry;
import org.netvm.vif.VifState;
import org.netvm.xenstore.XenStore;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * The vif lifecycle of the netvm role: learns vifs from xenstore, the kernel's links and the Xen
 * hotplug script ({@code netvm vif online|offline}), programs them with one reconciler thread
 * (see {@link VifReconciler}), and offers the status as {@link VifRegistry}.
 *
 * <p>Stopping the component leaves everything programmed in place; a new instance adopts it.
 */
@Component(service = {VifRegistry.class, ControlCommand.class}, configurationPid = VifManager.PID,
        property = ControlCommand.NAME + "=vif")
@Designate(ocd = VifManager.Config.class)
public final class VifManager implements VifRegistry, ControlCommand {
    public static final String PID = "org.netvm.vif";
    private static final Pattern BASE = Pattern.compile("[a-z0-9_-]{1,32}(/[a-z0-9_-]{1,32}){0,7}");

    @ObjectClassDefinition(name = "netvm vifs", description = "Routing of guest vifs (what vif-route-qubes does)")
    public @interface Config {
        @AttributeDefinition(description = "Seconds between full resyncs: re-read xenstore and the kernel, repair drift")
        int resyncIntervalSeconds() default 5;

        @AttributeDefinition(description = "Seconds the hotplug command waits for a vif to be programmed before failing it")
        int hotplugTimeoutSeconds() default 30;

        @AttributeDefinition(description = "Seconds to wait for the dataplane to apply a vif's anti-spoof elements")
        int dataplaneTimeoutSeconds() default 10;

        @AttributeDefinition(description = "Seconds a vif hook may run before it is interrupted")
        int hookTimeoutSeconds() default 10;

        @AttributeDefinition(description = "Milliseconds to let a burst of events accumulate before a pass; 0: a pass starts at once"
                + " and takes whatever was recorded by then")
        int coalesceMillis() default 0;

        @AttributeDefinition(description = "xenstore path of the vif backends, relative to the netvm's home")
        String xenstoreBase() default "backend/vif";

        @AttributeDefinition(description = "Directory of network hooks: its executables are run on vif online/offline"
                + " with Qubes' arguments (online|offline VIF TYPE ADDRESS); empty for none")
        String networkHooksDirectory() default "/etc/netvm/network-hooks.d";

        @AttributeDefinition(description = "Answer the hotplug script without a client process: FIFOs in the directory"
                + " next to the control socket (/run/netvm/control.hotplug for /run/netvm/control.sock); off: the"
                + " script always asks over the control socket")
        boolean hotplugFastChannel() default true;
    }

    private final HookRunner hooks;
    private final VifReconciler reconciler;
    private final VifCommand command;
    private final HotplugChannel channel;

    /** For tests: no fast hotplug channel. */
    VifManager(Kernel kernel, XenStore xs, Dataplane dataplane, Config config) {
        this(kernel, xs, dataplane, config, (String) null, false);
    }

    /** {@code netvm.control}: the control socket the launcher gave; the fast hotplug channel lives next to it. */
    @Activate
    public VifManager(@Reference Kernel kernel, @Reference XenStore xs, @Reference Dataplane dataplane, Config config,
            BundleContext context) {
        this(kernel, xs, dataplane, config, context.getProperty("netvm.control"), true);
    }

    /** {@code checkOffThread}: a periodic check reads the namespace on a thread and a kernel seam of its own. */
    VifManager(Kernel kernel, XenStore xs, Dataplane dataplane, Config config, String controlSocket,
            boolean checkOffThread) {
        String base = config.xenstoreBase();
        if (base == null || !BASE.matcher(base).matches()) {
            throw new IllegalArgumentException("xenstoreBase must be a relative path like backend/vif: " + base);
        }
        long hookTimeout = clamp(config.hookTimeoutSeconds(), 1, 600) * 1000L;
        this.hooks = new HookRunner(() -> hookTimeout);
        String scripts = config.networkHooksDirectory();
        if (scripts != null && !scripts.isEmpty()) {
            if (!scripts.startsWith("/")) {
                throw new IllegalArgumentException("networkHooksDirectory must be an absolute path: " + scripts);
            }
            // the scripts of one event share the hook time limit; each run is limited to it too
            hooks.add(new ScriptHooks(java.nio.file.Path.of(scripts), hookTimeout));
        }
        AntiSpoof antiSpoof = new AntiSpoof() {
            @Override
            public CompletionStage<Void> put(Contribution contribution) {
                return dataplane.put(contribution);
            }

            @Override
            public CompletionStage<Void> remove(String owner) {
                return dataplane.remove(owner);
            }
        };
        VifReconciler.Settings settings = new VifReconciler.Settings(base,
                clamp(config.resyncIntervalSeconds(), 1, 3600) * 1000L, clamp(config.coalesceMillis(), 0, 1000),
                clamp(config.dataplaneTimeoutSeconds(), 1, 600) * 1000L);
        Clock clock = Clock.systemUTC();
        this.reconciler = new VifReconciler(kernel, xs, antiSpoof,
                // conntrack entries of the namespace the kernel seam is bound to, never elsewhere
                new KernelConntrack(kernel), hooks, settings, clock,
                checkOffThread ? CheckReads.background(kernel) : CheckReads.inline(kernel));
        this.command = new VifCommand(reconciler, reconciler, xs, base,
                clamp(config.hotplugTimeoutSeconds(), 1, 3600) * 1000L, clock);
        reconciler.start();
        long hotplugTimeout = clamp(config.hotplugTimeoutSeconds(), 1, 3600);
        try {
            this.channel = config.hotplugFastChannel() && controlSocket != null && !controlSocket.isEmpty()
                    ? HotplugChannel.startOrNull(new FifoDirectory(FifoDirectory.nextTo(controlSocket)), command::run,
                            hotplugTimeout + 10)
                    : null;
        } catch (RuntimeException | Error e) {
            reconciler.stop(); // a component that failed to start leaves no thread on its kernel seam
            throw e;
        }
    }

    private static long clamp(long v, long min, long max) {
        return Math.max(min, Math.min(max, v));
    }

    @Deactivate
    void deactivate() {
        reconciler.stop();
        if (channel != null) {
            channel.stop();
        }
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void addHook(VifHook hook) {
        hooks.add(hook);
    }

    void removeHook(VifHook hook) {
        hooks.remove(hook);
    }

    // VifRegistry

    @Override
    public List<VifState> vifs() {
        return reconciler.vifs();
    }

    @Override
    public Optional<VifState> vif(String name) {
        return reconciler.vif(name);
    }

    @Override
    public Counters counters() {
        return reconciler.counters();
    }

    // ControlCommand

    @Override
    public String summary() {
        return "vif hotplug (online|offline, called by vif-route-netvm) and vif list";
    }

    @Override
    public int run(List<String> args, PrintStream out, PrintStream err) {
        return command.run(args, out, err);
    }
}
