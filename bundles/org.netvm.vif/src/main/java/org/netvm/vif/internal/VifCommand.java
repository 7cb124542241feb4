package org.netvm.vif.internal;

import java.io.PrintStream;
import java.lang.System.Logger.Level;
import java.time.Clock;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.netvm.vif.VifRegistry;
import org.netvm.vif.VifState;
import org.netvm.xenstore.XenStore;
import org.netvm.xenstore.XenStoreException;

/**
 * {@code netvm vif online|offline --vif vifD.N --xenbus-path backend/vif/D/N}: the Xen hotplug path
 * (called by {@code vif-route-netvm}), and {@code netvm vif list}.
 *
 * <p>A hotplug request records the intent, waits until the reconciler programmed (online) or removed
 * (offline) the vif, or failed it, or the time limit passed, then reports as vif-route-qubes does:
 * {@code hotplug-status = connected} after a successful online; {@code hotplug-error} and
 * {@code hotplug-status = error} after any failure. Exit status: 0 success, 1 failure reported in
 * xenstore, 2 failure that could not be reported (the xenbus path itself is unusable).
 */
final class VifCommand {
    private static final System.Logger LOG = System.getLogger(VifCommand.class.getName());
    private static final int MAX_ERROR = 256;

    static final String USAGE = """
            usage: netvm vif online|offline --vif vifD.N --xenbus-path BASE/D/N   (Xen hotplug; see vif-route-netvm)
                   netvm vif list [--json]                                      (desired versus actual per vif)
                   netvm vif steps [--each] [--how planned|joined|answered|none] (where hotplug requests spend their time)""";

    /** Records a hotplug intent and returns when it was carried out. */
    interface Recorder {
        CompletableFuture<Outcome> hotplug(VifName vif, VifReconciler.Intent intent, Steps steps);
    }

    private final Recorder recorder;
    private final VifRegistry registry;
    private final XenStore xs;
    private final String base;
    private final long timeoutMillis;
    private final Pattern xenbusPath;
    private final Clock clock;
    private final StepLog steps = new StepLog();

    VifCommand(Recorder recorder, VifRegistry registry, XenStore xs, String base, long timeoutMillis) {
        this(recorder, registry, xs, base, timeoutMillis, Clock.systemUTC());
    }

    /** @param clock times the steps of each hotplug request ({@code netvm vif steps}) */
    VifCommand(Recorder recorder, VifRegistry registry, XenStore xs, String base, long timeoutMillis, Clock clock) {
        this.clock = clock;
        this.recorder = recorder;
        this.registry = registry;
        this.xs = xs;
        this.base = base;
        this.timeoutMillis = timeoutMillis;
        // relative to the VM's home, or absolute under /local/domain/H/ as libxl passes XENBUS_PATH
        this.xenbusPath = Pattern.compile("(?:/local/domain/(0|[1-9][0-9]{0,4})/)?" + Pattern.quote(base)
                + "/(0|[1-9][0-9]{0,4})/(0|[1-9][0-9]{0,4})");
    }

    int run(List<String> args, PrintStream out, PrintStream err) {
        if (!args.isEmpty() && args.get(0).equals("list")) {
            if (args.size() > 2 || (args.size() == 2 && !args.get(1).equals("--json"))) {
                err.println(USAGE);
                return 2;
            }
            out.print(args.size() == 2 ? VifListing.json(registry.counters(), registry.vifs())
                    : VifListing.text(registry.counters(), registry.vifs()));
            return 0;
        }
        if (!args.isEmpty() && args.get(0).equals("steps")) {
            return steps(args.subList(1, args.size()), out, err);
        }
        if (args.isEmpty() || !(args.get(0).equals("online") || args.get(0).equals("offline"))) {
            err.println(USAGE);
            return 2;
        }
        VifReconciler.Intent intent = args.get(0).equals("online") ? VifReconciler.Intent.ONLINE
                : VifReconciler.Intent.OFFLINE;
        Map<String, String> opts = new HashMap<>();
        for (int i = 1; i < args.size(); i += 2) {
            String k = args.get(i);
            if (!(k.equals("--vif") || k.equals("--xenbus-path")) || i + 1 >= args.size() || opts.containsKey(k)) {
                err.println("netvm vif: bad argument " + VifSpec.quote(k));
                err.println(USAGE);
                return 2;
            }
            opts.put(k, args.get(i + 1));
        }
        String path = opts.get("--xenbus-path");
        String name = opts.get("--vif");
        Matcher m = path == null || path.length() > 64 ? null : xenbusPath.matcher(path);
        if (m == null || !m.matches()) {
            err.println("netvm vif " + args.get(0) + ": --xenbus-path must be " + base + "/DOMID/DEVID (or "
                    + "/local/domain/SELF/" + base + "/DOMID/DEVID), not " + VifSpec.quote(path)
                    + " (hotplug-status not written)");
            return 2;
        }
        if (m.group(1) != null && !ownDomain(m.group(1))) {
            err.println("netvm vif " + args.get(0) + ": --xenbus-path " + VifSpec.quote(path) + " is not under this "
                    + "VM's home (its domid key says otherwise, or there is none); hotplug-status not written");
            return 2;
        }
        String what = "vif " + args.get(0) + " " + VifSpec.quote(name) + ": ";
        Optional<VifName> vif = VifName.parse(name);
        if (vif.isEmpty()) {
            return fail(path, err, what + "interface name must match ^vif(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)$");
        }
        if (!vif.get().domidInRange()) {
            return fail(path, err, what + "domid " + vif.get().domid() + " is above " + VifName.MAX_DOMID);
        }
        if (!(m.group(2) + "." + m.group(3)).equals(vif.get().domid() + "." + vif.get().devid())) {
            return fail(path, err, what + "does not match the xenbus path " + path);
        }
        return hotplug(vif.get(), intent, args.get(0), path, what, out, err);
    }

    /** {@code netvm vif steps [--each] [--how KIND]}. */
    private int steps(List<String> args, PrintStream out, PrintStream err) {
        boolean each = false;
        Steps.How how = null;
        for (int i = 0; i < args.size(); i++) {
            if (args.get(i).equals("--each") && !each) {
                each = true;
            } else if (args.get(i).equals("--how") && how == null && i + 1 < args.size()
                    && Steps.How.of(args.get(i + 1)).isPresent()) {
                how = Steps.How.of(args.get(++i)).orElseThrow();
            } else {
                err.println(USAGE);
                return 2;
            }
        }
        out.print(each ? steps.each(how) : steps.summary(how));
        return 0;
    }

    /** Records the intent, waits for the outcome, reports it; keeps the request's per-step breakdown. */
    private int hotplug(VifName vif, VifReconciler.Intent intent, String intentText, String path, String what,
            PrintStream out, PrintStream err) {
        Steps marks = new Steps(clock);
        marks.mark(Steps.Step.RECEIVED);
        Outcome o = await(vif, intent, what, marks);
        int status = report(o, intent, path, what, err);
        marks.mark(Steps.Step.HOTPLUG_STATUS);
        if (status == 0) {
            out.println(vif.name() + " " + intentText);
        }
        marks.mark(Steps.Step.REPLY);
        steps.add(vif.name(), intentText, status == 0, marks);
        LOG.log(Level.DEBUG, () -> StepLog.requestLine("hotplug " + intentText + " " + vif.name(), marks));
        return status;
    }

    /** Reports the outcome in xenstore: {@code hotplug-status} (online), or the error. */
    private int report(Outcome o, VifReconciler.Intent intent, String path, String what, PrintStream err) {
        if (!o.ok()) {
            return fail(path, err, o.error().startsWith("vif ") ? o.error() : what + o.error());
        }
        if (intent == VifReconciler.Intent.ONLINE) {
            try {
                xs.write(path + "/hotplug-status", "connected");
            } catch (XenStoreException e) {
                err.println("netvm " + what + "programmed, but writing hotplug-status failed: " + e.getMessage());
                return 1;
            }
        }
        return 0;
    }

    /**
     * Whether {@code domid} is this VM's own: its home's {@code domid} key (written by the toolstack for
     * every domain, dom0 included) says so. An absolute xenbus path elsewhere is another domain's directory.
     */
    private boolean ownDomain(String domid) {
        try {
            return xs.readIfExists("domid").map(String::strip).filter(domid::equals).isPresent();
        } catch (XenStoreException e) {
            return false;
        }
    }

    /** Records the intent and waits for the reconciler's outcome, at most the hotplug timeout. */
    private Outcome await(VifName vif, VifReconciler.Intent intent, String what, Steps marks) {
        CompletableFuture<Outcome> f = recorder.hotplug(vif, intent, marks);
        try {
            return f.get(timeoutMillis, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            f.cancel(false);
            String state = registry.vif(vif.name()).map(s -> s.actual() + (s.error() == null ? "" : ", " + s.error()))
                    .orElse("unknown");
            return Outcome.failed(what + "not " + (intent == VifReconciler.Intent.ONLINE ? "programmed" : "removed")
                    + " within " + timeoutMillis + " ms (" + state + ")");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Outcome.failed(what + "interrupted");
        } catch (ExecutionException e) {
            return Outcome.failed(what + e.getCause());
        }
    }

    /** Reports a failure in xenstore (hotplug-error, then hotplug-status = error) and on stderr. */
    private int fail(String path, PrintStream err, String message) {
        String text = clean(message);
        err.println("netvm " + text);
        LOG.log(Level.WARNING, "hotplug failed: " + text);
        try {
            xs.inTransaction(5, tx -> {
                tx.write(path + "/hotplug-error", text);
                tx.write(path + "/hotplug-status", "error");
                return null;
            });
        } catch (XenStoreException e) {
            err.println("netvm vif: could not write hotplug-status to " + path + ": " + e.getMessage());
            return 2;
        }
        return 1;
    }

    /** Printable ASCII, bounded: hotplug-error is read by people and by dom0's toolstack. */
    static String clean(String s) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length() && b.length() < MAX_ERROR; i++) {
            char c = s.charAt(i);
            b.append(c >= 0x20 && c < 0x7f ? c : '?');
        }
        return b.toString();
    }
}
