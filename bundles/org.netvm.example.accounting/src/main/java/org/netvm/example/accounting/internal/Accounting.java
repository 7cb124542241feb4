package org.netvm.example.accounting.internal;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.netvm.control.ControlCommand;
import org.netvm.dataplane.Chain;
import org.netvm.dataplane.Contribution;
import org.netvm.dataplane.Dataplane;
import org.netvm.dataplane.Rule;
import org.netvm.policy.BasePolicy;
import org.netvm.vif.VifHook;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * Per-guest accounting, as a third party would write it against netvm's API only:
 * <ul>
 * <li>a {@link VifHook}: every online/offline of a guest's vif is appended as one JSON line to
 * {@code events.jsonl} in the configured directory;</li>
 * <li>a {@link Contribution} to the dataplane: for every online vif, two counter rules in the user chain
 * {@link BasePolicy#CUSTOM_FORWARD} (bytes from and to the guest). They only count: their verdict jumps to
 * the empty chain {@value #CHAIN}, which returns at once, so the next rule decides;</li>
 * <li>a {@link ControlCommand}: {@code netvm accounting} prints the guests online and the events seen.</li>
 * </ul>
 */
@Component(service = {VifHook.class, ControlCommand.class}, configurationPid = Accounting.PID,
        property = ControlCommand.NAME + "=accounting")
@Designate(ocd = Accounting.Config.class)
public final class Accounting implements VifHook, ControlCommand {

    static final String PID = "org.netvm.example.accounting";
    /** Our dataplane owner id: starts with our bundle's symbolic name, so it is unique. */
    static final String OWNER = "org.netvm.example.accounting";
    /** The empty regular chain the counting rules jump to. */
    static final String CHAIN = "accounting";
    static final int REMEMBERED = 100;

    @ObjectClassDefinition(name = "netvm example: per-guest accounting")
    public @interface Config {
        @AttributeDefinition(description = "Directory of events.jsonl; empty for the bundle's own data area")
        String directory() default "";
    }

    /** A guest online now. */
    record Guest(String vif, int domid, String ipv4, String ipv6, String since) {
    }

    private static final System.Logger LOG = System.getLogger(Accounting.class.getName());

    private final Dataplane dataplane;
    private final EventLog log;
    private final Clock clock;

    // guarded by this
    private final Map<String, Guest> online = new TreeMap<>();
    private final Deque<String> recent = new ArrayDeque<>();
    private boolean closed;

    @Activate
    public Accounting(@Reference Dataplane dataplane, BundleContext context, Config config) {
        this(dataplane, new FileEventLog(config.directory().isBlank() ? context.getDataFile("").toPath()
                : Path.of(config.directory())), Clock.systemUTC());
    }

    Accounting(Dataplane dataplane, EventLog log, Clock clock) {
        this.dataplane = dataplane;
        this.log = log;
        this.clock = clock;
        synchronized (this) {
            publish();
        }
    }

    @Deactivate
    void deactivate() {
        synchronized (this) {
            closed = true;
        }
        dataplane.remove(OWNER);
    }

    // --- VifHook

    @Override
    public void vifChanged(Event e) throws IOException {
        String now = clock.instant().toString();
        String line = Json.event(now, e);
        synchronized (this) {
            if (closed) {
                return;
            }
            if (e.action() == Action.ONLINE) {
                online.put(e.vif(), new Guest(e.vif(), e.domid(), e.ipv4(), e.ipv6(), now));
            } else {
                online.remove(e.vif());
            }
            recent.addLast(line);
            while (recent.size() > REMEMBERED) {
                recent.removeFirst();
            }
            publish();
        }
        log.append(line); // after the state change: a full disk must not stop the counting
    }

    /** Puts our whole contribution (replacing the previous one); does not wait for the kernel. */
    private void publish() {
        Contribution.Builder b = Contribution.builder(OWNER).chain(Chain.regular(BasePolicy.FAMILY, CHAIN));
        for (Guest g : online.values()) {
            b.rule(Rule.in(BasePolicy.CUSTOM_FORWARD).iifname(g.vif()).counter().jump(CHAIN));
            b.rule(Rule.in(BasePolicy.CUSTOM_FORWARD).oifname(g.vif()).counter().jump(CHAIN));
        }
        Contribution c = b.build();
        dataplane.put(c).whenComplete((ok, error) -> {
            if (error != null) {
                LOG.log(System.Logger.Level.WARNING, "accounting rules not applied yet (the dataplane retries): " + error);
            }
        });
    }

    /** What we contribute now (for tests). */
    synchronized List<Guest> guests() {
        return new ArrayList<>(online.values());
    }

    // --- ControlCommand

    @Override
    public String summary() {
        return "example extension: guests online and the vif events seen (bytes: nft list chain inet netvm custom-forward)";
    }

    @Override
    public int run(List<String> args, PrintStream out, PrintStream err) {
        if (!args.isEmpty()) {
            err.println("usage: netvm accounting");
            return 2;
        }
        List<Guest> guests;
        List<String> events;
        synchronized (this) {
            guests = new ArrayList<>(online.values());
            events = new ArrayList<>(recent);
        }
        out.println("guests online: " + guests.size());
        for (Guest g : guests) {
            out.printf("  %s domid %d %s%s since %s%n", g.vif(), g.domid(), g.ipv4(), g.ipv6() == null ? "" : " " + g.ipv6(),
                    g.since());
        }
        out.println("events (" + events.size() + ", all in " + log.location() + "):");
        events.forEach(l -> out.println("  " + l));
        return 0;
    }
}
