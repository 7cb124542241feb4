package org.netvm.backend.nftables.internal;

import java.util.List;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.netvm.dataplane.Plan;
import org.netvm.dataplane.SetElement;

/**
 * The flowtable fast path of the nftables backend (issue 13): established TCP/UDP flows are offloaded
 * to a flowtable, whose packets then skip the routing lookup and the netfilter hooks.
 *
 * <p>Why it never bypasses a rule: the {@code flow add} statement sits in a base chain of a table of its
 * own, {@code inet <prefix>-fastpath}, at the forward hook with priority {@value #PRIORITY}, after every
 * chain a plan can hold ({@link org.netvm.dataplane.Priority} ends at 1000). A packet reaches it only after
 * the anti-spoof chain (prerouting, raw), guest isolation and the per-guest firewall (forward) let it pass,
 * and only for {@code ct state established}: a flow is offloaded once its first packets passed every rule.
 * The offloaded flow is tied to its conntrack entry; deleting the entry (the firewall's conntrack cut)
 * tears the flow down, so the next packet goes through the rules again as a new flow.
 *
 * <p>Why a table of its own: a device that is missing makes a flowtable transaction fail; the plan's
 * transaction (anti-spoof, firewall) must never fail for that, so the fast path is sent separately, after
 * the plan, and its failure leaves the plan applied (the fast path is only speed).
 *
 * <p>Devices: the interfaces named in the plan's set elements (the vifs, from the anti-spoof elements
 * the vif bundle puts before a vif goes up) and the uplinks (devices of the default routes, re-read at
 * each drift check). They are added and deleted one line each; the kernel itself drops a device that
 * disappears. The first use probes the kernel once ({@code nft -c}): without flowtables (e.g.
 * {@code CONFIG_NF_FLOW_TABLE} not set) the fast path is absent and nothing is sent again.
 */
final class Fastpath {
    static final String FLOWTABLE = "ft";
    static final String CHAIN = "fastpath";
    static final int PRIORITY = 1001;
    private static final Pattern IFNAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.:@-]{0,14}");
    private static final Pattern DEV = Pattern.compile(" dev (\\S+)");

    /** Runs {@code nft} (or {@code ip}) with {@code args} and {@code stdin}: null on success, else the error. */
    interface Runner {
        String nft(List<String> args, String stdin);

        String nftLine(String script);

        String ip(List<String> args, StringBuilder out);
    }

    private final String table;
    private final boolean enabled;
    private final Runner run;
    private Boolean supported;
    private SortedSet<String> inKernel; // null: the table is not there (or not known to be)
    private SortedSet<String> uplinks = new TreeSet<>();
    private boolean uplinksRead;
    private boolean sweptWhenOff;
    private String lastError;

    Fastpath(String prefix, boolean enabled, Runner run) {
        this.table = prefix + "-fastpath";
        this.enabled = enabled;
        this.run = run;
    }

    /** {@code on (N devices)}, {@code off (configured)}, {@code absent (...)} or {@code not probed yet}. */
    synchronized String state() {
        if (!enabled) {
            return "off (configured)";
        }
        if (supported == null) {
            return "not probed yet";
        }
        if (!supported) {
            return "absent (this kernel has no nftables flowtables)";
        }
        return inKernel == null ? "on, not applied" + (lastError == null ? "" : " (" + lastError + ")")
                : "on (" + inKernel.size() + " devices)";
    }

    String tableSpec() {
        return "inet " + table;
    }

    /** Brings the flowtable's devices to the plan's vifs and the uplinks; never throws. */
    synchronized void sync(Plan plan) {
        if (!enabled) {
            if (!sweptWhenOff) { // switched off: a table left by an earlier run goes, once
                sweptWhenOff = run.nft(List.of("-f", "-"), sweep()) == null;
            }
            return;
        }
        if (!probe()) {
            return;
        }
        if (!uplinksRead) {
            uplinks = readUplinks();
            uplinksRead = true;
        }
        SortedSet<String> want = devices(plan);
        if (inKernel != null) {
            SortedSet<String> gone = minus(inKernel, want);
            SortedSet<String> added = minus(want, inKernel);
            if (!gone.isEmpty() && run.nftLine(delete(gone)) != null) {
                for (String dev : gone) { // the kernel drops a device that disappears: that one fails, the rest go
                    run.nftLine(delete(new TreeSet<>(List.of(dev))));
                }
            }
            if (added.isEmpty() || run.nftLine(add(added)) == null) {
                inKernel = want;
                return;
            }
        }
        recreate(want);
    }

    private static SortedSet<String> minus(SortedSet<String> a, SortedSet<String> b) {
        SortedSet<String> d = new TreeSet<>(a);
        d.removeAll(b);
        return d;
    }

    /** At a drift check: re-reads the uplinks; a change is sent with the next {@link #sync}. */
    synchronized void refreshUplinks(Plan plan) {
        if (!enabled || supported != Boolean.TRUE || plan == null) {
            return;
        }
        SortedSet<String> now = readUplinks();
        if (!now.equals(uplinks)) {
            uplinks = now;
            sync(plan);
        }
    }

    private SortedSet<String> readUplinks() {
        SortedSet<String> now = new TreeSet<>();
        for (String family : List.of("-4", "-6")) {
            StringBuilder out = new StringBuilder();
            if (run.ip(List.of(family, "-o", "route", "show", "default"), out) == null) {
                now.addAll(uplinkNames(out.toString()));
            }
        }
        return now;
    }

    /** Removes the table (a sweep); the next {@link #sync} creates it again. */
    synchronized void forget() {
        inKernel = null;
        uplinksRead = false;
    }

    String sweep() {
        return "add table " + tableSpec() + "\ndelete table " + tableSpec() + "\n";
    }

    private boolean probe() {
        if (supported == null) {
            String probe = "table " + tableSpec() + "-probe {\n\tflowtable " + FLOWTABLE
                    + " {\n\t\thook ingress priority filter\n\t\tdevices = { \"lo\" }\n\t}\n}\n";
            supported = run.nft(List.of("-c", "-f", "-"), probe) == null;
        }
        return supported;
    }

    /** The whole table from scratch; if a device is refused, one transaction per device, keeping the good ones. */
    private void recreate(SortedSet<String> want) {
        lastError = run.nft(List.of("-f", "-"), sweep() + create(want));
        if (lastError == null) {
            inKernel = want;
            return;
        }
        lastError = run.nft(List.of("-f", "-"), sweep() + create(new TreeSet<>()));
        if (lastError != null) {
            inKernel = null;
            return;
        }
        inKernel = new TreeSet<>();
        for (String dev : want) {
            if (run.nftLine(add(new TreeSet<>(List.of(dev)))) == null) {
                inKernel.add(dev);
            }
        }
    }

    SortedSet<String> devices(Plan plan) {
        SortedSet<String> d = vifs(plan);
        d.addAll(uplinks);
        return d;
    }

    /** Every interface name in the plan's set elements (the vifs of the anti-spoof sets). */
    static SortedSet<String> vifs(Plan plan) {
        SortedSet<String> names = new TreeSet<>();
        for (SortedSet<SetElement> elements : plan.elements().values()) {
            for (SetElement e : elements) {
                if (e.ifname() != null && IFNAME.matcher(e.ifname()).matches()) {
                    names.add(e.ifname());
                }
            }
        }
        return names;
    }

    static SortedSet<String> uplinkNames(String routes) {
        SortedSet<String> names = new TreeSet<>();
        for (String line : routes.split("\n")) {
            Matcher m = DEV.matcher(line);
            if (line.startsWith("default ") && m.find() && IFNAME.matcher(m.group(1)).matches()) {
                names.add(m.group(1));
            }
        }
        return names;
    }

    /** The table with its flowtable over {@code devices} and the offloading chain. */
    String create(SortedSet<String> devices) {
        return "table " + tableSpec() + " {\n\tflowtable " + FLOWTABLE + " {\n\t\thook ingress priority filter\n"
                + (devices.isEmpty() ? "" : "\t\tdevices = { " + quoted(devices) + " }\n") + "\t}\n"
                + "\tchain " + CHAIN + " {\n\t\ttype filter hook forward priority " + PRIORITY + "; policy accept;\n"
                + "\t\tct state established meta l4proto { tcp, udp } flow add @" + FLOWTABLE + "\n\t}\n}\n";
    }

    /** The devices gone and the new ones: two lines (each sent as a transaction of its own). */
    String change(SortedSet<String> from, SortedSet<String> to) {
        SortedSet<String> gone = minus(from, to);
        SortedSet<String> added = minus(to, from);
        return (gone.isEmpty() ? "" : delete(gone)) + (added.isEmpty() ? "" : add(added));
    }

    String delete(SortedSet<String> devices) {
        return "delete flowtable " + tableSpec() + " " + FLOWTABLE + " { hook ingress priority filter; devices = { "
                + quoted(devices) + " }; }\n";
    }

    String add(SortedSet<String> devices) {
        return "add flowtable " + tableSpec() + " " + FLOWTABLE + " { hook ingress priority filter; devices = { "
                + quoted(devices) + " }; }\n";
    }

    private static String quoted(SortedSet<String> names) {
        return String.join(", ", names.stream().map(n -> '"' + n + '"').toList());
    }
}
