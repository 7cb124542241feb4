package org.netvm.dataplane.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.netvm.dataplane.Chain;
import org.netvm.dataplane.ChainRef;
import org.netvm.dataplane.Contribution;
import org.netvm.dataplane.Family;
import org.netvm.dataplane.Hook;
import org.netvm.dataplane.IpAddress;
import org.netvm.dataplane.Match;
import org.netvm.dataplane.OwnedState;
import org.netvm.dataplane.PacketFilterBackend;
import org.netvm.dataplane.Plan;
import org.netvm.dataplane.Priority;
import org.netvm.dataplane.Rule;
import org.netvm.dataplane.Verdict;
import org.netvm.policy.BasePolicy;
import org.netvm.testing.log.Loggers;
import org.netvm.testing.netns.Command;
import org.netvm.testing.netns.Netns;
import org.osgi.service.log.Logger;

/**
 * What programming the packet filter costs with each real backend, against the naive one-process-per-
 * object approach, and what a hot swap between the backends costs, printed as one table.
 *
 * <p>The plan is the real netvm one: the base policy's contribution ({@code PolicyRules}, by reflection),
 * the DNS DNAT contribution's shape (chain {@code ip dnat-dns}, UDP and TCP rule per virtual address) and
 * one contribution per guest ({@code vif/vifD.0}) holding {@link BasePolicy#guestElements} of one IPv4
 * address, i.e. two set elements per guest. Per backend and N guests it measures:
 * <ul>
 * <li>full apply: {@code apply(plan)} against empty tables (median);</li>
 * <li>naive full: the same kernel objects, one {@code nft add ...} process per table, chain, set, rule
 * and element (nftables), one {@code iptables-nft -N/-A/-I}, {@code ipset create/add} process per chain,
 * rule, set and element (iptables); beyond {@code netvm.bench.naiveMax} guests (default 1000) it is
 * extrapolated from the measured cost per process;</li>
 * <li>1-guest change: adding one guest's elements to tables holding N, through the backend
 * ({@code apply(plan + guest)}), through the reconciler ({@code put} until applied, includes merging
 * N+3 contributions), and naively (one process per element);</li>
 * <li>readBack: one drift check's read of the kernel.</li>
 * </ul>
 * Then the hot swap nftables to iptables and back with 1000 guests through the reconciler, as
 * {@link HotSwapKernelTest} does it (apply on the new, verify by read back, sweep the old).
 *
 * <p>Everything happens in one network namespace made here and deleted at the end. Needs root, ip, nft,
 * iptables-nft, iptables-nft-restore, ip6tables-nft-restore and ipset. Excluded from the normal build;
 * run (or {@code tests/bench/backends.sh}):
 * {@code mvn -q -pl bundles/org.netvm.dataplane test -Dgroups=benchmark -DexcludedGroups=none
 * -Dtest=BackendBenchmark}. Properties: {@code netvm.bench.sizes} (default {@code 100,1000,10000}),
 * {@code netvm.bench.naiveMax} (1000), {@code netvm.bench.reps} (9), {@code netvm.bench.swapGuests} (1000),
 * {@code netvm.bench.iptVariant} ({@code nft}: the iptables backend's variant).
 */
@Tag("benchmark")
class BackendBenchmark {

    static final ChainRef DNS_CHAIN = ChainRef.of(Family.IP, "dnat-dns");

    private Netns ns;
    private final List<String> logLines = Collections.synchronizedList(new ArrayList<>());
    private final Logger log = Loggers.formatting(logLines);

    /** One row of the table. */
    record Row(String backend, int guests, int elements, double full, int naiveCommands, double naiveFull,
            boolean naiveExtrapolated, double change, double changeReconciler, double naiveChange, double readBack) {
    }

    @Test
    void backends() throws Exception {
        Netns.assumeUsable("nft", "iptables-nft", "iptables-nft-restore", "ip6tables-nft-restore", "ipset");
        int[] sizes = Arrays.stream(System.getProperty("netvm.bench.sizes", "100,1000,10000").split(","))
                .map(String::strip).filter(x -> !x.isEmpty()).mapToInt(Integer::parseInt).toArray();
        List<String> swapLoads = Arrays.stream(System.getProperty("netvm.bench.swapLoads", "plain,firewall").split(","))
                .map(String::strip).filter(x -> !x.isEmpty()).toList();
        int naiveMax = Integer.getInteger("netvm.bench.naiveMax", 1000);
        int reps = Math.max(1, Integer.getInteger("netvm.bench.reps", 9));
        int swapGuests = Integer.getInteger("netvm.bench.swapGuests", 1000);

        ns = Netns.create("bench");
        PacketFilterBackend nft;
        PacketFilterBackend ipt;
        try {
            try {
                nft = HotSwapKernelTest.backend("org.netvm.backend.nftables.internal", "NftablesBackend", "nft",
                        ns.name(), "netvm");
                ipt = HotSwapKernelTest.backend("org.netvm.backend.iptables.internal", "IptablesBackend", ns.name(),
                        "NETVM-", System.getProperty("netvm.bench.iptVariant", "nft"));
                policy();
            } catch (ReflectiveOperationException | LinkageError e) {
                assumeTrue(false, "backend or policy bundles not usable on the test class path: " + e);
                return;
            }
            System.out.println();
            System.out.println("netvm backend benchmark -- " + environment());
            System.out.println("plan: base policy (org.netvm.policy) + DNS DNAT (4 rules) + N guests x "
                    + "BasePolicy.guestElements(vifD.0, one IPv4) = 2 set elements per guest; all in namespace "
                    + ns.name() + "; medians of " + reps + " (full apply: of 5, readBack: of 3),"
                    + " after a warm-up");
            System.out.println();
            warmUp(nft, ipt);
            if (sizes.length > 0) {
                table(nft, ipt, sizes, naiveMax, reps);
            }
            PacketFilterBackend lib = libnftables();
            for (String load : swapLoads) {
                System.out.println();
                hotSwap(lib, ipt, swapGuests, reps, load.equals("firewall"));
            }
            System.out.println();
            System.out.println("load average at the end: " + loadAverage()
                    + " (other work on the machine inflates every figure, the naive ones most)");
        } finally {
            ns.close();
        }
    }

    private void table(PacketFilterBackend nft, PacketFilterBackend ipt, int[] sizes, int naiveMax, int reps)
            throws Exception {
        {
            List<Row> rows = new ArrayList<>();
            Map<String, Double> perCommand = new java.util.HashMap<>();
            for (int n : sizes) {
                for (PacketFilterBackend b : List.of(nft, ipt)) {
                    rows.add(measure(b, n, n <= naiveMax, reps, perCommand));
                    System.out.println("  measured " + b.name() + " N=" + n);
                }
            }
            System.out.println();
            printTable(rows, naiveMax);
        }
    }

    /**
     * The nftables backend as the runtime configures it (libnftables in-process, in the namespace), for the
     * swap; nft processes if the library does not load (its log line says which).
     */
    private PacketFilterBackend libnftables() throws ReflectiveOperationException {
        ClassLoader cl = BackendBenchmark.class.getClassLoader();
        Class<?> type = Class.forName("org.netvm.backend.nftables.internal.NftablesBackend", true, cl);
        @SuppressWarnings("unchecked")
        Class<? extends java.lang.annotation.Annotation> config = (Class<? extends java.lang.annotation.Annotation>)
                Class.forName("org.netvm.backend.nftables.internal.NftablesBackend$Config", true, cl);
        Object c = org.netvm.testing.config.Configs.of(config, "netns", ns.name());
        PacketFilterBackend b = (PacketFilterBackend) type.getConstructor(config, Logger.class).newInstance(c, log);
        System.out.println("swap: " + logLines.getLast());
        return b;
    }

    // ------------------------------------------------------------------ the plan

    /** The base policy's real contribution: {@code PolicyRules.contribution(Options.DEFAULT)}. */
    static Contribution policy() throws ReflectiveOperationException {
        ClassLoader cl = BackendBenchmark.class.getClassLoader();
        Class<?> rules = Class.forName("org.netvm.policy.internal.PolicyRules", true, cl);
        Class<?> options = Class.forName("org.netvm.policy.internal.PolicyRules$Options", true, cl);
        Object defaults = options.getField("DEFAULT").get(null);
        return (Contribution) rules.getMethod("contribution", options).invoke(null, defaults);
    }

    /** The DNS feature's contribution shape (DnsRules): DNS1 and DNS2 to the two upstreams. */
    static Contribution dns() {
        Contribution.Builder b = Contribution.builder("dns")
                .chain(Chain.nat(Family.IP, DNS_CHAIN.name(), Hook.PREROUTING, Priority.DSTNAT));
        String[][] map = {{"10.139.1.1", "198.51.100.1"}, {"10.139.1.2", "198.51.100.3"}};
        for (String[] e : map) {
            for (Match.Protocol p : List.of(Match.Protocol.UDP, Match.Protocol.TCP)) {
                b.rule(Rule.in(DNS_CHAIN).daddr(e[0]).dport(p, 53).verdict(new Verdict.Dnat(IpAddress.of(e[1]), 0)));
            }
        }
        return b.build();
    }

    /** Guest {@code i} (0-based): domid i+2, vif{domid}.0, 10.137.x.y, as the vif feature contributes it. */
    static Contribution guest(int i) {
        String vif = "vif" + (i + 2) + ".0";
        Contribution.Builder b = Contribution.builder("vif/" + vif);
        BasePolicy.guestElements(vif, List.of(address(i))).forEach(b::elements);
        return b.build();
    }

    static IpAddress address(int i) {
        return IpAddress.of("10.137." + (i / 250) + "." + (i % 250 + 2));
    }

    static List<Contribution> contributions(int guests) throws ReflectiveOperationException {
        List<Contribution> all = new ArrayList<>(List.of(policy(), dns()));
        for (int i = 0; i < guests; i++) {
            all.add(guest(i));
        }
        return all;
    }

    // ------------------------------------------------------------------ one backend, one size

    private Row measure(PacketFilterBackend b, int n, boolean naiveMeasured, int reps, Map<String, Double> perCommand)
            throws Exception {
        List<Contribution> cs = contributions(n);
        Plan plan = Plan.merge(cs);
        List<Contribution> csPlus = new ArrayList<>(cs);
        csPlus.add(guest(n));
        Plan plus = Plan.merge(csPlus);
        int elements = plan.elements().values().stream().mapToInt(Set::size).sum();
        OwnedState want = b.expected(plan);
        OwnedState wantPlus = b.expected(plus);

        // full apply against empty tables
        double[] full = new double[5];
        for (int i = 0; i < full.length; i++) {
            b.sweep();
            long t0 = System.nanoTime();
            b.apply(plan);
            full[i] = ms(t0);
        }
        double[] reads = new double[3];
        long t0 = 0;
        for (int i = 0; i < reads.length; i++) {
            t0 = System.nanoTime();
            OwnedState got = b.readBack();
            reads[i] = ms(t0);
            assertEquals(want, got, () -> b.name() + " N=" + n + ": " + want.diff(got));
        }
        double readBack = median(reads);

        // one guest more, through the backend (its element-only fast path), then back
        double[] change = new double[reps];
        for (int i = 0; i < reps; i++) {
            t0 = System.nanoTime();
            b.apply(plus);
            change[i] = ms(t0);
            if (i == 0) {
                OwnedState g = b.readBack();
                assertEquals(wantPlus, g, () -> b.name() + " N=" + n + "+1: " + wantPlus.diff(g));
            }
            b.apply(plan);
        }

        // the naive way: one process per object
        List<List<String>> commands = naive(b, plan);
        double naiveFull;
        if (naiveMeasured) {
            b.sweep();
            t0 = System.nanoTime();
            for (List<String> c : commands) {
                exec(c);
            }
            naiveFull = ms(t0);
            perCommand.put(b.name(), naiveFull / commands.size());
            OwnedState g = b.readBack();
            assertEquals(want, g, () -> "the naive way built something else: " + want.diff(g));
        } else {
            Double per = perCommand.get(b.name());
            naiveFull = per == null ? Double.NaN : per * commands.size();
            b.sweep();
            b.apply(plan);
        }
        Set<List<String>> before = new HashSet<>(commands);
        List<List<String>> delta = naive(b, plus).stream().filter(c -> !before.contains(c)).toList();
        assertEquals(2, delta.size(), "one guest = two element commands: " + delta);
        double[] naiveChange = new double[reps];
        for (int i = 0; i < reps; i++) {
            t0 = System.nanoTime();
            for (List<String> c : delta) {
                exec(c);
            }
            naiveChange[i] = ms(t0);
            if (i == 0) {
                OwnedState g = b.readBack();
                assertEquals(wantPlus, g, () -> "naive change: " + wantPlus.diff(g));
            }
            b.apply(plan); // back to N (a full transaction: the backend last applied this very plan)
        }

        // one guest more through the reconciler: put until applied (merge of N+3 contributions + apply)
        b.sweep();
        double[] viaReconciler = new double[reps];
        var r = new DataplaneReconciler(new Settings(b.name(), 5, 0), Clock.SYSTEM,
                Runnable::run, log).start();
        try {
            r.bindBackend(b, Map.of("service.id", 1L, "netvm.backend", b.name()));
            List<CompletableFuture<Void>> puts = new ArrayList<>();
            for (Contribution c : cs) {
                puts.add(r.put(c).toCompletableFuture());
            }
            CompletableFuture.allOf(puts.toArray(CompletableFuture[]::new)).get(120, TimeUnit.SECONDS);
            Contribution extra = guest(n);
            for (int i = 0; i < reps; i++) {
                t0 = System.nanoTime();
                r.put(extra).toCompletableFuture().get(60, TimeUnit.SECONDS);
                viaReconciler[i] = ms(t0);
                r.remove(extra.owner()).toCompletableFuture().get(60, TimeUnit.SECONDS);
            }
            assertEquals(0, r.status().failures(), () -> String.join("\n", logLines));
        } finally {
            r.deactivate();
        }
        b.sweep();
        return new Row(b.name(), n, elements, median(full), commands.size(), naiveFull, !naiveMeasured,
                median(change), median(viaReconciler), median(naiveChange), readBack);
    }

    /** Loads and compiles the code paths (renderers, parsers, process start) before anything is timed. */
    private void warmUp(PacketFilterBackend nft, PacketFilterBackend ipt) throws Exception {
        Plan small = Plan.merge(contributions(10));
        Plan more = Plan.merge(contributions(11));
        for (PacketFilterBackend b : List.of(nft, ipt)) {
            for (int i = 0; i < 3; i++) {
                b.sweep();
                b.apply(small);
                b.apply(more);
                b.apply(small);
                b.readBack();
            }
            b.sweep();
            for (List<String> c : naive(b, small).subList(0, 20)) {
                exec(c);
            }
            b.sweep();
        }
    }

    // ------------------------------------------------------------------ hot swap

    /**
     * Swaps nftables to iptables and back {@code reps} times each through the reconciler with {@code guests}
     * guests, with or without the per-guest firewall ({@link FirewallLoad}); prints the medians and p90,
     * where each swap's time went ({@code BackendSwap}'s log line: apply, read back and verify, sweep of the
     * old), and the backends' parts measured alone with the plan in place.
     */
    private void hotSwap(PacketFilterBackend nft, PacketFilterBackend ipt, int guests, int reps, boolean firewall)
            throws Exception {
        nft.sweep();
        ipt.sweep();
        List<Contribution> cs = contributions(guests);
        if (firewall) {
            Map<Integer, List<IpAddress>> addresses = new java.util.TreeMap<>();
            for (int i = 0; i < guests; i++) {
                addresses.put(i + 2, List.of(address(i)));
            }
            cs.addAll(new FirewallLoad().contributions(addresses));
        }
        Plan plan = Plan.merge(cs);
        int rules = plan.rules().values().stream().mapToInt(List::size).sum();
        int elements = plan.elements().values().stream().mapToInt(Set::size).sum();
        var r = new DataplaneReconciler(new Settings("nftables", 5, 0), Clock.SYSTEM,
                Runnable::run, log).start();
        Map<String, List<double[]>> runs = new java.util.TreeMap<>();
        try {
            r.bindBackend(nft, Map.of("service.id", 1L, "netvm.backend", "nftables"));
            r.bindBackend(ipt, Map.of("service.id", 2L, "netvm.backend", "iptables"));
            List<CompletableFuture<Void>> puts = new ArrayList<>();
            for (Contribution c : cs) {
                puts.add(r.put(c).toCompletableFuture());
            }
            CompletableFuture.allOf(puts.toArray(CompletableFuture[]::new)).get(300, TimeUnit.SECONDS);
            for (int i = 1; i <= 2 * reps; i++) {
                String next = i % 2 == 1 ? "iptables" : "nftables";
                PacketFilterBackend now = i % 2 == 1 ? ipt : nft;
                PacketFilterBackend old = i % 2 == 1 ? nft : ipt;
                int mark = logLines.size();
                long t0 = System.nanoTime();
                var outcome = r.awaitBackend(next);
                r.modified(new Settings(next, 5, 0));
                String msg = outcome.get(300, TimeUnit.SECONDS);
                double total = ms(t0); // switch done: the new backend holds the plan, the caller is answered
                assertEquals(next + " is in charge and in sync", msg);
                double[] parts = awaitSwept(mark); // the old one is swept after the answer, before the next pass
                double swept = ms(t0);
                long v0 = System.nanoTime(); // what the next drift check does (not part of the swap)
                OwnedState want = now.expected(r.plan());
                OwnedState got = now.readBack();
                boolean same = want.equals(got);
                runs.computeIfAbsent(old.name() + " -> " + next, k -> new ArrayList<>())
                        .add(new double[] {total, parts[0], parts[1], ms(v0), swept});
                assertTrue(same, () -> "swap " + next + ": " + want.diff(got));
                assertTrue(old.readBack().isEmpty(), "the old backend was swept");
                // the reconciler's own drift check of the new backend comes with the next resync (5 s); the next
                // swap starts after it, so that it measures the swap, not a wait behind that read-back
                Thread.sleep(5200);
                r.put(cs.getFirst()).toCompletableFuture().get(300, TimeUnit.SECONDS);
            }
            assertEquals(0, r.status().failures(), () -> String.join("\n", logLines));
        } finally {
            r.deactivate();
        }
        System.out.printf(Locale.ROOT, "hot swap through the reconciler, %d guests%s: %d rules, %d set elements;"
                + " load %s%n", guests, firewall ? " x 20 Qubes firewall rules (the firewall planner's output)"
                        : " (no firewall)", rules, elements, loadAverage());
        System.out.println("  (switch done: the new backend applied the whole plan and the caller is answered; old swept:"
                + " the old backend's sweep, after that answer and before the next pass, is over; parts from the swap's"
                + " log lines; the read-back of the new one is the next drift check's, timed after the swap, not in it;"
                + " each swap starts after that drift check)");
        runs.forEach((direction, list) -> {
            System.out.printf(Locale.ROOT, "  %-22s switch done median %5.0f ms, p90 %5.0f ms; old swept median %5.0f ms,"
                    + " p90 %5.0f ms  (apply %5.0f, sweep old %5.0f; next drift check: expected+readBack %5.0f; medians)"
                    + "  switch done, all: %s%n", direction + ":",
                    median(column(list, 0)), p90(column(list, 0)), median(column(list, 4)), p90(column(list, 4)),
                    median(column(list, 1)), median(column(list, 2)), median(column(list, 3)), list(column(list, 0)));
        });
        parts(nft, ipt, plan);
        nft.sweep();
        ipt.sweep();
        toolFloor(ipt, plan);
    }

    /**
     * What the iptables tools alone take for this plan: the iptables backend's rendered input (its dry run,
     * {@code IptablesBackend.render}) fed to {@code ipset restore} and to one {@code iptables-restore --noflush}
     * per table, as the backend's full apply on empty tables sends it, without the backend (no rendering, no
     * read of the kernel first); for the nft variant (the Debian default, what the backend runs) and the
     * legacy one, medians of 3, each into empty tables. The floor under the swap to iptables.
     */
    private void toolFloor(PacketFilterBackend ipt, Plan plan) throws Exception {
        String rendered = (String) ipt.getClass().getMethod("render", Plan.class).invoke(ipt, plan);
        Map<String, StringBuilder> inputs = new java.util.LinkedHashMap<>(); // "# program args" -> its input
        StringBuilder current = null;
        for (String line : rendered.split("\n", -1)) {
            if (line.startsWith("# ")) {
                current = inputs.computeIfAbsent(line.substring(2), k -> new StringBuilder());
            } else if (current != null && !line.isEmpty()) {
                current.append(line).append('\n');
            }
        }
        StringBuilder out = new StringBuilder();
        for (String variant : List.of("nft", "legacy")) {
            if (!Netns.usable("iptables-" + variant + "-restore", "ip6tables-" + variant + "-restore")) {
                continue;
            }
            double[] total = new double[3];
            double[] biggest = new double[3];
            for (int i = 0; i < 3; i++) {
                for (var e : inputs.entrySet()) {
                    List<String> argv = new ArrayList<>(List.of(e.getKey().split(" ")));
                    argv.set(0, argv.get(0).replaceFirst("^(ip6?tables)(-[a-z]+)?-restore$", "$1-" + variant + "-restore"));
                    long t0 = System.nanoTime();
                    Command.Result r = ns.exec(argv, e.getValue().toString());
                    double took = ms(t0);
                    assertTrue(r.ok(), () -> argv + ": " + r.stderr());
                    total[i] += took;
                    biggest[i] = Math.max(biggest[i], took);
                }
                emptyTables(variant);
            }
            out.append(String.format(Locale.ROOT, "; %s variant %.0f ms (the largest process %.0f ms)", variant,
                    median(total), median(biggest)));
        }
        int bytes = inputs.values().stream().mapToInt(StringBuilder::length).sum();
        System.out.printf(Locale.ROOT, "  iptables tools alone: the iptables backend's rendered input (%d processes:"
                + " ipset restore, one restore per IP version for all its tables; %d kB) restored into empty tables,"
                + " each process through ip netns exec%s (medians of 3)%n",
                inputs.size(), bytes / 1024, out);
    }

    /** Empties every table of both IP versions of {@code variant} and destroys every ipset in the namespace. */
    private void emptyTables(String variant) {
        for (String v : List.of("iptables", "ip6tables")) {
            for (String table : List.of("filter", "nat", "mangle", "raw")) {
                ns.exec(List.of(v + "-" + variant, "-t", table, "-F"), "");
                ns.exec(List.of(v + "-" + variant, "-t", table, "-X"), "");
            }
        }
        ns.exec(List.of("ipset", "destroy"), "");
    }

    /** Each backend's parts alone, with {@code plan} in place: render/expected, read-back, sweep, full apply. */
    private void parts(PacketFilterBackend nft, PacketFilterBackend ipt, Plan plan) throws Exception {
        for (PacketFilterBackend b : List.of(nft, ipt)) {
            double[] expected = new double[3];
            double[] read = new double[3];
            double[] sweep = new double[3];
            double[] apply = new double[3];
            for (int i = 0; i < 3; i++) {
                b.sweep();
                long t0 = System.nanoTime();
                b.apply(plan);
                apply[i] = ms(t0);
                t0 = System.nanoTime();
                b.expected(plan);
                expected[i] = ms(t0);
                t0 = System.nanoTime();
                b.readBack();
                read[i] = ms(t0);
                t0 = System.nanoTime();
                b.sweep();
                sweep[i] = ms(t0);
            }
            System.out.printf(Locale.ROOT, "  %-8s alone: full apply on empty %4.0f ms, expected() %4.0f ms,"
                    + " readBack() %4.0f ms, sweep() %4.0f ms (medians of 3)%n", b.name(), median(apply),
                    median(expected), median(read), median(sweep));
        }
    }

    private static final java.util.regex.Pattern SWAP_PARTS = java.util.regex.Pattern.compile(
            "switched from .* swept \\(apply (\\d+) ms, sweep (\\d+) ms");

    /** Waits (up to 300 s) for the swap's "swept" log line after {@code mark}; its apply and sweep ms. */
    private double[] awaitSwept(int mark) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(300);
        while (System.nanoTime() < end) {
            double[] parts = swapParts(logLines.subList(mark, logLines.size()));
            if (!Double.isNaN(parts[0])) {
                return parts;
            }
            Thread.sleep(1);
        }
        throw new AssertionError("no 'swept' line after the switch: " + logLines.subList(mark, logLines.size()));
    }

    /** apply and sweep ms from BackendSwap's log line among {@code lines} (NaN if absent). */
    private static double[] swapParts(List<String> lines) {
        synchronized (lines) {
            for (String l : lines) {
                var m = SWAP_PARTS.matcher(l);
                if (m.find()) {
                    return new double[] {Double.parseDouble(m.group(1)), Double.parseDouble(m.group(2))};
                }
            }
        }
        return new double[] {Double.NaN, Double.NaN};
    }

    private static double[] column(List<double[]> rows, int i) {
        return rows.stream().mapToDouble(r -> r[i]).toArray();
    }

    private static double p90(double[] values) {
        double[] s = values.clone();
        Arrays.sort(s);
        return s[Math.min(s.length - 1, (int) Math.ceil(0.9 * s.length) - 1)];
    }

    // ------------------------------------------------------------------ output

    private static void printTable(List<Row> rows, int naiveMax) {
        String head = String.format(Locale.ROOT, "%-8s | %6s | %8s | %9s | %8s | %12s | %7s | %9s | %9s | %12s | %7s | %8s",
                "backend", "N", "elements", "full ms", "naive#", "naive full ms", "ratio", "1-guest ms",
                "via recon", "naive 1-g ms", "ratio", "readBack");
        System.out.println("full apply = apply(plan) on empty tables, one transaction; naive full = one process per "
                + "table/chain/set/rule/element (naive# processes)");
        System.out.println("1-guest = add one guest's 2 elements to tables holding N: backend apply / reconciler put "
                + "until applied / naive (2 processes); ratio = naive / backend");
        System.out.println(head);
        System.out.println("-".repeat(head.length()));
        boolean extrapolated = false;
        for (Row r : rows) {
            extrapolated |= r.naiveExtrapolated;
            System.out.printf(Locale.ROOT, "%-8s | %6d | %8d | %9.1f | %8d | %12s | %7s | %10.1f | %9.1f | %12.1f | %7s | %8.1f%n",
                    r.backend, r.guests, r.elements, r.full, r.naiveCommands,
                    (r.naiveExtrapolated ? "~" : "") + String.format(Locale.ROOT, "%.0f", r.naiveFull)
                            + (r.naiveExtrapolated ? "*" : ""),
                    ratio(r.naiveFull, r.full), r.change, r.changeReconciler, r.naiveChange,
                    ratio(r.naiveChange, r.change), r.readBack);
        }
        if (extrapolated) {
            System.out.println("* extrapolated (not run: it would take minutes): naive processes at this N x the "
                    + "measured ms per naive process at the largest N <= " + naiveMax
                    + " (-Dnetvm.bench.naiveMax=N to measure)");
        }
    }

    private static String ratio(double naive, double ours) {
        if (Double.isNaN(naive) || ours <= 0) {
            return "-";
        }
        double r = naive / ours;
        return String.format(Locale.ROOT, r < 10 ? "%.1fx" : "%.0fx", r);
    }

    private static String list(double[] values) {
        return list(Arrays.stream(values).boxed().toList());
    }

    private static String list(List<Double> values) {
        return String.join(", ", values.stream().map(v -> String.format(Locale.ROOT, "%.0f", v)).toList());
    }

    private String environment() {
        String kernel = capture(List.of("uname", "-r"));
        return "kernel " + kernel + ", " + capture(List.of("nft", "-v")) + ", " + capture(List.of("iptables-nft", "-V"))
                + ", " + capture(List.of("ipset", "-v")).replaceAll(",.*", "") + ", "
                + Runtime.getRuntime().availableProcessors() + " CPUs, Java " + Runtime.version()
                + ", load average " + loadAverage();
    }

    private static String loadAverage() {
        try {
            String[] f = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/loadavg")).split(" ");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException | RuntimeException e) {
            return "?";
        }
    }

    private static String capture(List<String> argv) {
        try {
            Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            p.waitFor(10, TimeUnit.SECONDS);
            return out.lines().findFirst().orElse("?");
        } catch (IOException e) {
            return "?";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "?";
        }
    }

    // ------------------------------------------------------------------ the naive way

    /** One argv per kernel object, built from the backend's own rendering of {@code plan}. */
    static List<List<String>> naive(PacketFilterBackend b, Plan plan) throws ReflectiveOperationException {
        String script = (String) b.getClass().getMethod("render", Plan.class).invoke(b, plan);
        return b.name().equals("nftables") ? naiveNft(script) : naiveIpt(script);
    }

    /** {@code nft add table|set|chain|element|rule ...}, one command per object, from an nft -f script. */
    static List<List<String>> naiveNft(String script) {
        List<List<String>> out = new ArrayList<>();
        Set<String> chainsSeen = new HashSet<>();
        String table = null;
        String kind = null;
        String name = null;
        boolean elements = false;
        boolean chainPending = false;
        for (String raw : script.split("\n")) {
            String s = raw.strip();
            if (s.isEmpty() || s.startsWith("add table ") || s.startsWith("delete table ")) {
                continue; // the backend's sweep prologue
            }
            if (table == null && s.startsWith("table ") && s.endsWith("{")) {
                table = s.substring(6, s.length() - 1).strip();
                out.add(List.of("nft", "add table " + table));
            } else if (name == null && (s.startsWith("set ") || s.startsWith("chain ")) && s.endsWith("{")) {
                kind = s.substring(0, s.indexOf(' '));
                name = s.substring(kind.length() + 1, s.length() - 1).strip();
                chainPending = kind.equals("chain") && chainsSeen.add(table + " " + name);
            } else if (s.equals("elements = {")) {
                elements = true;
            } else if (s.equals("}")) {
                if (elements) {
                    elements = false;
                } else if (name != null) {
                    if (chainPending) {
                        out.add(List.of("nft", "add chain " + table + " " + name));
                    }
                    chainPending = false;
                    name = null;
                } else {
                    table = null;
                }
            } else if (elements) {
                String e = s.endsWith(",") ? s.substring(0, s.length() - 1) : s;
                out.add(List.of("nft", "add element " + table + " " + name + " { " + e + " }"));
            } else if ("set".equals(kind) && s.startsWith("type ")) {
                out.add(List.of("nft", "add set " + table + " " + name + " { " + s + "; }"));
            } else if ("chain".equals(kind) && chainPending && s.startsWith("type ")) {
                out.add(List.of("nft", "add chain " + table + " " + name + " { " + s + " }"));
                chainPending = false;
            } else if ("chain".equals(kind)) {
                out.add(List.of("nft", "add rule " + table + " " + name + " " + s));
            } else {
                throw new IllegalStateException("unexpected nft script line: " + s);
            }
        }
        return out;
    }

    /** {@code ipset create|add}, {@code iptables-nft -t T -N|-A|-I}, one command per object, from restore inputs. */
    static List<List<String>> naiveIpt(String script) {
        List<List<String>> out = new ArrayList<>();
        String program = null;
        String table = null;
        for (String s : script.split("\n")) {
            if (s.isBlank() || s.equals("COMMIT")) {
                continue;
            }
            if (s.contains("\"") || s.contains("'")) {
                throw new IllegalStateException("quoted restore line, not handled: " + s);
            }
            if (s.startsWith("# ipset")) {
                program = "ipset";
            } else if (s.startsWith("# ")) {
                program = s.substring(2).split(" ")[0].replace("-restore", ""); // iptables-nft, ip6tables-nft
            } else if ("ipset".equals(program)) {
                List<String> argv = new ArrayList<>(List.of("ipset"));
                argv.addAll(List.of(s.split(" ")));
                out.add(argv);
            } else if (s.startsWith("*")) {
                table = s.substring(1);
            } else if (s.startsWith(":")) {
                out.add(List.of(program, "-t", table, "-N", s.substring(1).split(" ")[0]));
            } else if (s.startsWith("-")) {
                List<String> argv = new ArrayList<>(List.of(program, "-t", table));
                argv.addAll(List.of(s.split(" ")));
                out.add(argv);
            } else {
                throw new IllegalStateException("unexpected restore line: " + s);
            }
        }
        return out;
    }

    private void exec(List<String> argv) throws IOException {
        Command.Result r = ns.exec(argv, "");
        if (!r.ok()) {
            throw new IOException(argv + " failed (" + r.exitCode() + "): " + r.stderr());
        }
    }

    // ------------------------------------------------------------------ numbers

    private static double ms(long t0) {
        return (System.nanoTime() - t0) / 1e6;
    }

    private static double median(double[] values) {
        double[] s = values.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    private static double median(List<Double> values) {
        return median(values.stream().mapToDouble(Double::doubleValue).toArray());
    }
}
