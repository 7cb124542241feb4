package org.netvm.dataplane.internal;

import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.LongSupplier;
import java.util.regex.Pattern;

import org.netvm.control.ControlCommand;
import org.netvm.dataplane.Dataplane;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.log.Logger;
import org.osgi.service.log.LoggerFactory;

/**
 * {@code netvm backend [use NAME | cleanup]} and the Gogo command {@code netvm:backend}: shows which
 * packet filter backend is in charge, switches it through the {@code org.netvm.dataplane}
 * configuration and waits for the outcome, or sweeps everything netvm owns.
 *
 * <p>{@code use} refuses a name that is not among the available backends (nothing is changed) and
 * logs every failed switch. The switch is a runtime change of the configuration: it lasts until the
 * agent restarts. {@code netvm backend use --permanent NAME} also writes it to the configuration file;
 * the CLI does that part (the agent's unit cannot write /etc), the agent only leaves out the reminder.
 */
@Component(service = ControlCommand.class, property = {ControlCommand.NAME + "=backend",
        "osgi.command.scope=netvm", "osgi.command.function=backend"})
public final class BackendCommand implements ControlCommand {

    static final String USAGE = """
            usage: netvm backend [--json]      show the active, requested and available backends
                   netvm backend use NAME      switch to backend NAME and wait until it is in charge; lasts until
                                               the agent restarts (--permanent: also written to the configuration file)
                   netvm backend cleanup       sweep every backend (remove all netvm filtering) and stop applying""";

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");
    static final long TIMEOUT_SECONDS = 60;

    /** Writes the {@code backend} property of the dataplane configuration; false if it already had it. */
    interface ConfigWriter {
        boolean setBackend(String name) throws IOException;
    }

    private final Dataplane dataplane;
    private final BackendControl control;
    private final ConfigWriter config;
    private final LongSupplier nanoTime;
    private final Logger log;

    @Activate
    public BackendCommand(@Reference Dataplane dataplane, @Reference BackendControl control,
            @Reference ConfigurationAdmin cm, @Reference(service = LoggerFactory.class) Logger log) {
        this(dataplane, control, name -> writeConfig(cm, name), System::nanoTime, log);
    }

    BackendCommand(Dataplane dataplane, BackendControl control, ConfigWriter config, LongSupplier nanoTime, Logger log) {
        this.dataplane = dataplane;
        this.control = control;
        this.config = config;
        this.nanoTime = nanoTime;
        this.log = log;
    }

    private static boolean writeConfig(ConfigurationAdmin cm, String name) throws IOException {
        Configuration c = cm.getConfiguration(DataplaneReconciler.PID, "?");
        Dictionary<String, Object> props = c.getProperties();
        Dictionary<String, Object> next = new Hashtable<>();
        if (props != null) {
            for (var keys = props.keys(); keys.hasMoreElements(); ) {
                String k = keys.nextElement();
                next.put(k, props.get(k));
            }
        }
        next.put("backend", name);
        return c.updateIfDifferent(next);
    }

    @Override
    public String summary() {
        return "show, switch (hot swap) or clean up the packet filter backend";
    }

    @Override
    public int run(List<String> args, PrintStream out, PrintStream err) {
        if (args.isEmpty()) {
            show(out);
            return 0;
        }
        if (args.equals(List.of("--json"))) {
            out.print(PlanJson.backend(dataplane.status()));
            return 0;
        }
        return switch (args.get(0)) {
            case "use" -> args.size() == 2 ? use(args.get(1), false, out, err)
                    : args.size() == 3 && args.get(1).equals("--permanent") ? use(args.get(2), true, out, err) : usage(err);
            case "cleanup" -> args.size() == 1 ? cleanup(out, err) : usage(err);
            default -> usage(err);
        };
    }

    private static int usage(PrintStream err) {
        err.println(USAGE);
        return 2;
    }

    private void show(PrintStream out) {
        Dataplane.Status s = dataplane.status();
        out.println("active:     " + (s.activeBackend() == null
                ? "none (the kernel keeps the last applied state)"
                : s.activeBackend() + (s.inSync() ? " (in sync)" : " (not in sync)")));
        out.println("requested:  " + s.requestedBackend()
                + (s.requestFailure() == null ? "" : " -- " + s.requestFailure()));
        out.println("available:  " + (s.availableBackends().isEmpty() ? "none" : String.join(", ", s.availableBackends())));
        out.println("last apply: " + (s.lastApply() == null ? "never" : s.lastApply()) + ", took "
                + s.lastApplyDuration().toMillis() + " ms; applies " + s.applies() + ", failures " + s.failures()
                + ", drift repairs " + s.driftRepairs());
        out.println("plan:       " + s.contributions() + " contribution(s), " + s.rejected() + " left out, "
                + s.elements() + " set element(s)");
        if (s.lastError() != null) {
            out.println("last error: " + s.lastError());
        }
    }

    private int use(String name, boolean permanent, PrintStream out, PrintStream err) {
        if (!NAME.matcher(name).matches()) {
            err.println("backend use: not a backend name: " + ControlText.quote(name));
            return 2;
        }
        List<String> available = dataplane.status().availableBackends();
        if (!available.contains(name)) {
            String why = "backend use " + name + ": no such backend (available: "
                    + (available.isEmpty() ? "none" : String.join(", ", available)) + "); nothing changed";
            err.println(why);
            log.warn(why);
            return 1;
        }
        long t0 = nanoTime.getAsLong();
        CompletableFuture<String> outcome = control.awaitBackend(name);
        try {
            if (!config.setBackend(name)) {
                control.retry(); // already configured: try again if it failed or was cleaned up
            }
            String msg = outcome.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            out.println(msg + " (" + millis(t0) + " ms)");
            if (!permanent) {
                out.println("this lasts until the agent restarts; to keep it: netvm backend use --permanent " + name);
            }
            return 0;
        } catch (IOException e) {
            failed(err, "backend use: cannot write configuration " + DataplaneReconciler.PID + ": " + e.getMessage());
        } catch (ExecutionException e) {
            failed(err, "backend use " + name + " failed after " + millis(t0) + " ms: " + e.getCause().getMessage());
        } catch (TimeoutException e) {
            failed(err, "backend use " + name + ": no outcome after " + TIMEOUT_SECONDS + " s; see 'netvm backend'");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            failed(err, "backend use " + name + ": interrupted");
        }
        outcome.cancel(false);
        return 1;
    }

    private void failed(PrintStream err, String why) {
        err.println(why);
        log.warn(why);
    }

    private int cleanup(PrintStream out, PrintStream err) {
        try {
            List<String> lines = control.cleanup().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            lines.forEach(out::println);
            out.println("nothing is applied until 'netvm backend use NAME'");
            return lines.stream().allMatch(l -> l.endsWith(": swept") || l.startsWith("IP forwarding: off")) ? 0 : 1;
        } catch (ExecutionException e) {
            err.println("backend cleanup failed: " + e.getCause().getMessage());
        } catch (TimeoutException e) {
            err.println("backend cleanup: no outcome after " + TIMEOUT_SECONDS + " s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            err.println("backend cleanup: interrupted");
        }
        return 1;
    }

    private long millis(long t0) {
        return Duration.ofNanos(nanoTime.getAsLong() - t0).toMillis();
    }

    /** Gogo: {@code netvm:backend [use NAME | cleanup]}; the text a user sees, failures as exceptions. */
    @org.apache.felix.service.command.Descriptor("show the packet-filter backends; 'use NAME' swaps to NAME live (waits for the outcome); 'cleanup' removes everything netvm owns")
    public String backend(@org.apache.felix.service.command.Descriptor("[use NAME | cleanup]") String... args) {
        return ControlText.run(this, List.of(args));
    }
}
