package org.netvm.firewall.internal;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.netvm.backend.nftables.internal.NftablesBackend;
import org.netvm.testing.config.Configs;
import org.netvm.dataplane.Contribution;
import org.netvm.dataplane.IncrementalMerge;
import org.netvm.dataplane.IpAddress;
import org.netvm.dataplane.PacketFilterBackend;
import org.netvm.dataplane.Plan;
import org.netvm.policy.internal.PolicyRules;

/**
 * 1 000 guests x 20 rules through the real nftables backend (as configured in the runtime: libnftables
 * in-process; {@code -Dnetvm.bench.library=} for nft processes, changes of one chain through {@code nft -i}), run by tests/bench/firewall.sh inside a network namespace it
 * creates and deletes ({@code -Dnetvm.bench.netns} names it; the JVM runs in it): the full apply, and one
 * guest's rule change until the backend returns (the kernel has it), against Qubes' way: one {@code nft}
 * process per guest reload (its chain flushed and refilled). Prints figures; asserts nothing.
 */
@Tag("benchmark")
class FirewallBenchmark {
    private static final List<IpAddress> DNS = List.of(IpAddress.of("192.168.0.1"), IpAddress.of("9.9.9.9"));

    private final String ns = System.getProperty("netvm.bench.netns", "");
    private final int guests = Integer.getInteger("netvm.bench.guests", 1000);
    private final int reps = Integer.getInteger("netvm.bench.reps", 21);

    /** Guest d's 20 rules, the kinds Qubes users write (ports, ranges, networks, icmp, dns, a host). */
    static GuestRules rules(int d, int variant) throws RuleError {
        Map<String, String> m = new HashMap<>(Map.of("policy", "drop"));
        String[] r = {
            "action=accept proto=tcp dst4=192.168." + d % 250 + ".0/24 dstports=443",
            "action=accept proto=tcp dstports=" + (8000 + variant) + "-8080",
            "action=accept specialtarget=dns",
            "action=accept proto=icmp icmptype=8",
            "action=drop dst6=2001:db8::/32",
            "action=accept proto=udp dst4=10.20." + d % 250 + ".1 dstports=123",
        };
        for (int i = 0; i < 20; i++) {
            m.put(String.format("%04d", i), i < r.length ? r[i]
                    : "action=accept proto=tcp dst4=172.16." + i + "." + d % 250 + " dstports=" + (1000 + i));
        }
        return RuleParser.parse(m);
    }

    static List<IpAddress> address(int d) {
        return List.of(IpAddress.of("10.137." + d / 200 + "." + (10 + d % 200)));
    }

    static Contribution guest(int d, int variant) throws RuleError {
        return FirewallPlanner.plan(new FirewallPlanner.Input(d, rules(d, variant), Map.of(), 0, address(d)));
    }

    @Test
    void benchmark() throws Exception {
        assumeTrue(!ns.isEmpty(), "needs -Dnetvm.bench.netns (tests/bench/firewall.sh)");
        // as the runtime configures it (libnftables in-process), or -Dnetvm.bench.library= for nft processes
        // (nft -f, changes through nft -i)
        String library = System.getProperty("netvm.bench.library");
        PacketFilterBackend nft = new NftablesBackend(library == null ? Configs.of(NftablesBackend.Config.class)
                : Configs.of(NftablesBackend.Config.class, "library", library), printingLogger());
        Map<Integer, List<IpAddress>> addresses = new HashMap<>();
        List<Contribution> base = new ArrayList<>(List.of(PolicyRules.contribution(PolicyRules.Options.DEFAULT),
                FirewallPlanner.closed(), FirewallPlanner.dns(DNS)));
        Map<Integer, Contribution> chains = new HashMap<>();
        for (int d = 1; d <= guests; d++) {
            addresses.put(d, address(d));
            chains.put(d, guest(d, 0));
        }
        base.add(FirewallDispatch.plan(addresses));
        Plan full = plan(base, chains);
        int rules = full.rules().values().stream().mapToInt(List::size).sum();
        int elements = full.elements().values().stream().mapToInt(java.util.Set::size).sum();
        System.out.println();
        System.out.printf(Locale.ROOT, "netvm firewall benchmark -- %d guests x 20 Qubes rules (%d kernel rules, %d"
                + " sets, %d elements in all), namespace %s, %d cpus, load %s%n", guests, rules, full.sets().size(),
                elements, ns, Runtime.getRuntime().availableProcessors(), loadAverage());

        double[] fullMs = new double[5];
        double[] mergeFullMs = new double[fullMs.length];
        double[] renderMs = new double[fullMs.length];
        double[] floorMs = new double[fullMs.length];
        double[] oldFloorMs = new double[fullMs.length];
        double[] hugeFloorMs = new double[fullMs.length];
        nft.apply(full); // warm-up
        String script = ((NftablesBackend) nft).render(full);
        String dump = System.getProperty("netvm.bench.dump", "");
        if (!dump.isEmpty()) { // the script, for profiling nft by hand
            java.nio.file.Files.writeString(java.nio.file.Path.of(dump), script);
        }
        String oldScript = everyChainDeclaredTwice(script);
        for (int i = 0; i < fullMs.length; i++) {
            nft.sweep();
            long o0 = System.nanoTime();
            run(List.of("nft", "-f", "-"), oldScript); // the same plan as rendered before d0c8b94
            oldFloorMs[i] = ms(o0);
            nft.sweep();
            long h0 = System.nanoTime();
            run(List.of("env", "GLIBC_TUNABLES=glibc.malloc.hugetlb=1", "nft", "-f", "-"), script);
            hugeFloorMs[i] = ms(h0);
            long m0 = System.nanoTime();
            plan(base, chains);
            mergeFullMs[i] = ms(m0);
            long r0 = System.nanoTime();
            ((NftablesBackend) nft).render(full);
            renderMs[i] = ms(r0);
            nft.sweep();
            long f0 = System.nanoTime();
            run(List.of("nft", "-f", "-"), script); // the kernel floor: the same text, nft parse + kernel only
            floorMs[i] = ms(f0);
            nft.sweep();
            long t0 = System.nanoTime();
            nft.apply(full);
            fullMs[i] = ms(t0);
        }
        var threads = java.lang.management.ManagementFactory.getThreadMXBean();
        double[] oneMs = new double[reps];
        double[] planMs = new double[reps];
        double[] mergeMs = new double[reps];
        double[] cpuMs = new double[reps];
        double[] applyCpuMs = new double[reps];
        double[] libCpuMs = new double[reps];
        long[] lib = java.util.Arrays.stream(threads.dumpAllThreads(false, false))
                .filter(t -> t.getThreadName().startsWith("netvm-libnftables")).mapToLong(t -> t.getThreadId()).toArray();
        IncrementalMerge merger = new IncrementalMerge();
        merger.update(all(base, chains), java.util.Set.of());
        int target = guests / 2;
        for (int i = 0; i < reps; i++) {
            long c0 = threads.getCurrentThreadCpuTime();
            long t0 = System.nanoTime();
            chains.put(target, guest(target, 1 + i % 2));
            planMs[i] = ms(t0);
            Plan changed = merger.update(all(base, chains), merger.last().merged().keySet()).plan();
            mergeMs[i] = ms(t0) - planMs[i];
            long a0 = threads.getCurrentThreadCpuTime();
            long l0 = cpu(threads, lib);
            nft.apply(changed);
            oneMs[i] = ms(t0);
            applyCpuMs[i] = (threads.getCurrentThreadCpuTime() - a0) / 1e6;
            libCpuMs[i] = (cpu(threads, lib) - l0) / 1e6;
            cpuMs[i] = (threads.getCurrentThreadCpuTime() - c0) / 1e6;
        }
        double[] dnsMs = dnsChanges(nft, merger, base, chains, reps);
        nft.sweep();

        double[] qubesFull = new double[1];
        double[] qubesOne = new double[reps];
        run(List.of("nft", "-f", "-"), "add table inet qubes-bench\nadd chain inet qubes-bench forward "
                + "{ type filter hook forward priority 0; policy accept; }\n");
        long t0 = System.nanoTime();
        for (int d = 1; d <= guests; d++) {
            run(List.of("nft", "-f", "-"), qubesReload(d, 0, true));
        }
        qubesFull[0] = ms(t0);
        for (int i = 0; i < reps; i++) {
            long t1 = System.nanoTime();
            run(List.of("nft", "-f", "-"), qubesReload(target, 1 + i % 2, false));
            qubesOne[i] = ms(t1);
        }
        run(List.of("nft", "delete", "table", "inet", "qubes-bench"), "");

        System.out.printf(Locale.ROOT, "%-58s %12s %12s %s%n", "", "netvm", "qubes-like", "goal");
        System.out.printf(Locale.ROOT, "%-58s %9.1f ms %9.1f ms %s%n",
                "full apply, " + guests + " guests (median of 5; qubes-like: 1 run)", median(fullMs), qubesFull[0],
                "<= 300 ms");
        System.out.printf(Locale.ROOT, "%-58s %9.1f ms %9.1f ms %s%n",
                "one guest's rule change: plan, merge, apply (median of " + reps + ")", median(oneMs), median(qubesOne),
                "<= 20 ms");
        System.out.printf(Locale.ROOT, "%-58s %9.1f ms %9.1f ms%n", "one guest's rule change, worst of " + reps,
                Arrays.stream(oneMs).max().orElse(0), Arrays.stream(qubesOne).max().orElse(0));
        System.out.printf(Locale.ROOT, "%-58s %9.1f ms%n", "  of which planning the guest (Java, median)", median(planMs));
        System.out.printf(Locale.ROOT, "%-58s %9.1f ms%n", "  of which IncrementalMerge.update (Java, median)",
                median(mergeMs));
        System.out.printf(Locale.ROOT, "%-58s %9.1f ms%n", "  of which apply: delta of one chain + nft (median)",
                median(diff(oneMs, planMs, mergeMs)));
        System.out.printf(Locale.ROOT, "%-58s %9.1f ms%n", "  Java CPU time of the whole change (median; load-proof)",
                median(cpuMs));
        System.out.printf(Locale.ROOT, "%-58s %9.1f ms%n", "  of which the apply's, this thread (median)", median(applyCpuMs));
        System.out.printf(Locale.ROOT, "%-58s %9.1f ms%n", "  libnftables' thread CPU during the apply (median)",
                median(libCpuMs));
        System.out.println("  CPU of the change (plan+merge+apply on this thread; libnftables works on its own): "
                + list(cpuMs));
        System.out.printf(Locale.ROOT, "%-58s %9.1f ms %12s %s%n", "a DNS change: firewall/dns elements, merge, apply"
                + " (median)", median(dnsMs), "", "<= 20 ms");
        System.out.println("  DNS changes: " + list(dnsMs));
        System.out.printf(Locale.ROOT, "%-58s %9.1f ms%n", "full apply: Plan.merge of all (Java, median; not in the"
                + " figure above)", median(mergeFullMs));
        System.out.printf(Locale.ROOT, "%-58s %9.1f ms%n", "full apply: rendering the nft script (Java, median)",
                median(renderMs));
        System.out.printf(Locale.ROOT, "%-58s %9.1f ms   (%d bytes)%n", "kernel floor: nft -f of the same script (median)",
                median(floorMs), script.length());
        System.out.printf(Locale.ROOT, "%-58s %9.1f ms   (%d bytes)%n", "  before d0c8b94: every chain declared, then filled (median)",
                median(oldFloorMs), oldScript.length());
        System.out.printf(Locale.ROOT, "%-58s %9.1f ms%n", "  the same with GLIBC_TUNABLES=glibc.malloc.hugetlb=1 (median)",
                median(hugeFloorMs));
        System.out.println("  measured old floor: " + list(oldFloorMs) + "; hugetlb floor: " + list(hugeFloorMs));
        System.out.println("  measured full: " + list(fullMs) + "; floor: " + list(floorMs) + "; one change: "
                + list(oneMs));
    }

    /**
     * New DNS servers {@code reps} times (two lists in turn): the firewall/dns contribution's elements only
     * (asserted: the plan keeps its structure), merged and applied; each in ms.
     */
    private static double[] dnsChanges(PacketFilterBackend nft, IncrementalMerge merger, List<Contribution> base,
            Map<Integer, Contribution> chains, int reps) throws Exception {
        int at = base.indexOf(FirewallPlanner.dns(DNS));
        double[] out = new double[reps];
        for (int i = 0; i < reps; i++) {
            Plan before = merger.last().plan();
            long t0 = System.nanoTime();
            base.set(at, FirewallPlanner.dns(i % 2 == 0 ? List.of(IpAddress.of("192.168.0.2"), IpAddress.of("fd00::53"))
                    : DNS));
            Plan changed = merger.update(all(base, chains), merger.last().merged().keySet()).plan();
            nft.apply(changed);
            out[i] = ms(t0);
            if (!changed.sameStructure(before)) {
                throw new AssertionError("a DNS change changed more than set elements");
            }
        }
        return out;
    }

    /** The CPU time of {@code ids} together, in ns (none: 0). */
    private static long cpu(java.lang.management.ThreadMXBean threads, long[] ids) {
        return Arrays.stream(ids).map(threads::getThreadCpuTime).filter(t -> t > 0).sum();
    }

    /** The backend's log on stdout (which nft it uses). */
    private static org.osgi.service.log.Logger printingLogger() {
        return (org.osgi.service.log.Logger) java.lang.reflect.Proxy.newProxyInstance(
                FirewallBenchmark.class.getClassLoader(), new Class<?>[] {org.osgi.service.log.Logger.class},
                (proxy, method, args) -> {
                    if (method.getName().equals("info") || method.getName().equals("warn")) {
                        System.out.println("  " + Arrays.toString(args));
                    }
                    return method.getReturnType() == boolean.class ? Boolean.FALSE
                            : method.getReturnType() == String.class ? "benchmark" : null;
                });
    }

    /**
     * {@code script} as NftRenderer wrote it before d0c8b94: every regular chain declared empty at the top of
     * its table (then written again with its rules), so the two renderings are compared in the same run.
     */
    private static String everyChainDeclaredTwice(String script) {
        StringBuilder out = new StringBuilder();
        StringBuilder table = null;
        StringBuilder declarations = null;
        String pending = null;
        for (String line : script.split("\n", -1)) {
            if (line.startsWith("table ")) {
                table = new StringBuilder();
                declarations = new StringBuilder();
                out.append(line).append('\n');
            } else if (table != null && line.equals("}")) {
                out.append(declarations).append(table).append("}\n");
                table = null;
            } else if (table != null) {
                if (pending != null && !line.startsWith("\t\ttype ")) { // base chains were declared with their hook
                    declarations.append(pending).append("\n\t}\n");
                }
                pending = line.startsWith("\tchain ") ? line : null;
                table.append(line).append('\n');
            } else if (!line.isEmpty()) {
                out.append(line).append('\n');
            }
        }
        return out.toString();
    }

    private static Plan plan(List<Contribution> base, Map<Integer, Contribution> chains) {
        return Plan.merge(all(base, chains));
    }

    private static List<Contribution> all(List<Contribution> base, Map<Integer, Contribution> chains) {
        List<Contribution> all = new ArrayList<>(base);
        all.addAll(chains.values());
        return all;
    }

    private static double[] diff(double[] total, double[] a, double[] b) {
        double[] d = new double[total.length];
        for (int i = 0; i < d.length; i++) {
            d[i] = total[i] - a[i] - b[i];
        }
        return d;
    }

    /** What Qubes' agent sends for one guest: its chain flushed and refilled, one nft process. */
    private String qubesReload(int d, int variant, boolean create) throws RuleError {
        String chain = "qbs-" + d;
        StringBuilder b = new StringBuilder();
        b.append("add chain inet qubes-bench ").append(chain).append('\n');
        b.append("flush chain inet qubes-bench ").append(chain).append('\n');
        // Qubes writes every rule one by one (no sets)
        for (var r : FirewallPlanner.plainRules(new FirewallPlanner.Input(d, rules(d, variant), Map.of(), 0, address(d)))) {
            b.append("add rule inet qubes-bench ").append(chain).append(' ').append(nftText(r)).append('\n');
        }
        if (create) {
            b.append("add rule inet qubes-bench forward ip saddr ").append(address(d).getFirst().text())
                    .append(" jump ").append(chain).append('\n');
        }
        return b.toString();
    }

    /** The nft text of one guest-chain rule (the kinds {@link #rules} produces). */
    private static String nftText(org.netvm.dataplane.Rule r) {
        StringBuilder b = new StringBuilder();
        for (var m : r.matches()) {
            switch (m) {
                case org.netvm.dataplane.Match.Address a -> b.append(a.prefix().version() == 4 ? "ip" : "ip6")
                        .append(" daddr ").append(a.prefix()).append(' ');
                case org.netvm.dataplane.Match.Port p -> b.append(p.protocol().keyword()).append(" dport ")
                        .append(p.first()).append(p.first() == p.last() ? "" : "-" + p.last()).append(' ');
                case org.netvm.dataplane.Match.L4 l -> b.append("meta l4proto ").append(l.protocol().keyword())
                        .append(' ');
                case org.netvm.dataplane.Match.IcmpType t -> b.append(t.protocol().keyword()).append(" type ")
                        .append(t.type()).append(' ');
                // Qubes writes the DNS servers into the rule itself (and rewrites every chain when they change)
                case org.netvm.dataplane.Match.InSet in when in.set().equals(FirewallPlanner.DNS4.name()) ->
                        b.append("ip daddr { ").append(String.join(", ", DNS.stream().filter(x -> x.version() == 4)
                                .map(IpAddress::text).toList())).append(" } ");
                default -> throw new IllegalArgumentException("not in the benchmark: " + m);
            }
        }
        return b.append(r.verdict() instanceof org.netvm.dataplane.Verdict.Accept ? "accept"
                : "reject with icmpx admin-prohibited").toString();
    }

    private void run(List<String> argv, String stdin) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
        p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IOException(argv + " failed: " + out);
        }
    }

    private static String loadAverage() {
        try {
            return java.nio.file.Files.readString(java.nio.file.Path.of("/proc/loadavg")).split(" ")[0];
        } catch (IOException e) {
            return "?";
        }
    }

    private static double ms(long t0) {
        return (System.nanoTime() - t0) / 1e6;
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    private static String list(double[] v) {
        return String.join(" ", Arrays.stream(v).mapToObj(x -> String.format(Locale.ROOT, "%.1f", x)).toList());
    }
}
