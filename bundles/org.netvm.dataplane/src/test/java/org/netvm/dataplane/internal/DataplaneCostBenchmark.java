package org.netvm.dataplane.internal;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;

import org.netvm.backend.nftables.internal.NftablesBackend;
import org.netvm.dataplane.BackendException;
import org.netvm.dataplane.Contribution;
import org.netvm.dataplane.OwnedState;
import org.netvm.dataplane.PacketFilterBackend;
import org.netvm.dataplane.Plan;
import org.netvm.testing.config.Configs;
import org.netvm.testing.log.Loggers;
import org.netvm.testing.netns.Netns;
import org.osgi.service.log.Logger;

/**
 * What one guest's change costs the dataplane with many guests attached: the real {@link DataplaneReconciler}
 * (its callback pool, as in the agent) and the real nftables backend (libnftables, element changes over
 * netlink) in a network namespace made here and removed at the end; N guests' contributions ({@code
 * vif/vifD.0}: two anti-spoof elements each) plus the base policy and DNS; then M single-vif puts and
 * removes, one at a time. Per change it prints the dataplane thread's CPU time (from the request until the
 * pass is over: the merge, the plan, the backend's apply, the status) and the time from the request until
 * its stage completed (what a vif coming online waits for), p50/p90/p99, with the load.
 *
 * <p>Not a test (asserts nothing about time); run with the test classpath, C1 only as shipped:
 * {@code java -XX:TieredStopAtLevel=1 -cp ... org.netvm.dataplane.internal.DataplaneCostBenchmark [guests]
 * [changes] [warm-up]} (defaults 1000, 400, 200). Needs root, ip and nft.
 */
public final class DataplaneCostBenchmark {
    private static volatile long backendCpu; // ns, written by the dataplane thread only
    private static final ThreadMXBean MX = ManagementFactory.getThreadMXBean();

    private DataplaneCostBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
        int m = args.length > 1 ? Integer.parseInt(args[1]) : 400;
        int warm = args.length > 2 ? Integer.parseInt(args[2]) : 200;
        if (!Netns.usable("nft")) {
            System.out.println("needs root, ip and nft");
            return;
        }
        String load0 = load();
        List<Contribution> all = BackendBenchmark.contributions(n);
        List<double[]> puts = new ArrayList<>();
        List<double[]> removes = new ArrayList<>();
        try (Netns ns = Netns.create("dpcost")) {
            run(ns, all, n, m, warm, puts, removes);
        }
        System.out.printf(Locale.ROOT, "dataplane cost of one vif's change, %d guests attached, %d changes after %d"
                + " warm-up, java %s %s, load %s -> %s%n", n, m, warm, System.getProperty("java.version"),
                ManagementFactory.getRuntimeMXBean().getInputArguments(), load0, load());
        print("put    dataplane thread CPU", puts, 0);
        print("put      of which backend.apply", puts, 2);
        print("put    request -> confirmed", puts, 1);
        print("remove dataplane thread CPU", removes, 0);
        print("remove   of which backend.apply", removes, 2);
        print("remove request -> confirmed", removes, 1);
    }

    private static void run(Netns ns, List<Contribution> all, int n, int m, int warm, List<double[]> puts,
            List<double[]> removes) throws Exception {
        Logger log = Loggers.quiet();
        NftablesBackend b = new NftablesBackend(Configs.of(NftablesBackend.Config.class, Map.of("netns", ns.name())),
                log);
        PacketFilterBackend timed = new PacketFilterBackend() { // the backend's share of the thread's CPU
            @Override
            public String name() {
                return b.name();
            }

            @Override
            public void apply(Plan plan) throws BackendException {
                long t0 = MX.getCurrentThreadCpuTime();
                try {
                    b.apply(plan);
                } finally {
                    backendCpu += MX.getCurrentThreadCpuTime() - t0;
                }
            }

            @Override
            public OwnedState readBack() throws BackendException {
                return b.readBack();
            }

            @Override
            public OwnedState expected(Plan plan) {
                return b.expected(plan);
            }

            @Override
            public void sweep() throws BackendException {
                b.sweep();
            }
        };
        ExecutorService notifier = DataplaneReconciler.callbackPool();
        DataplaneReconciler r = new DataplaneReconciler(new Settings("nftables", 3600, 0), Clock.SYSTEM, notifier, log)
                .start();
        try {
            r.bindBackend(timed, Map.of("service.id", 1L, "netvm.backend", "nftables"));
            List<CompletableFuture<Void>> first = new ArrayList<>();
            for (Contribution c : all) {
                first.add(r.put(c).toCompletableFuture());
            }
            CompletableFuture.allOf(first.toArray(CompletableFuture[]::new)).get(120, TimeUnit.SECONDS);
            Thread.sleep(200);
            long thread = dataplaneThread();
            ThreadMXBean mx = ManagementFactory.getThreadMXBean();
            for (int i = 0; i < warm + m; i++) {
                Contribution extra = BackendBenchmark.guest(n + i % 50);
                double[] put = timed(mx, thread, () -> r.put(extra).toCompletableFuture());
                double[] remove = timed(mx, thread, () -> r.remove(extra.owner()).toCompletableFuture());
                if (i >= warm) {
                    puts.add(put);
                    removes.add(remove);
                }
            }
            if (r.status().failures() != 0) {
                throw new IllegalStateException("failures: " + r.status().failures());
            }
        } finally {
            r.deactivate();
            b.sweep();
            b.close();
        }
    }

    /**
     * {CPU ms of the dataplane thread, request -> completed ms, of that CPU the ms in the backend's
     * {@code apply} (the netlink batch, the ruleset generation, and the kernel's work for them)}; waits a little so that the pass ends.
     */
    private static double[] timed(ThreadMXBean mx, long thread, java.util.function.Supplier<CompletableFuture<Void>> op)
            throws Exception {
        long cpu0 = mx.getThreadCpuTime(thread);
        long backend0 = backendCpu;
        long t0 = System.nanoTime();
        op.get().get(60, TimeUnit.SECONDS);
        long t1 = System.nanoTime();
        Thread.sleep(3); // the pass's afterwards, and one request at a time, as hotplug calls come
        return new double[] {(mx.getThreadCpuTime(thread) - cpu0) / 1e6, (t1 - t0) / 1e6,
            (backendCpu - backend0) / 1e6};
    }

    private static long dataplaneThread() {
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().equals("netvm-dataplane")) {
                return t.threadId();
            }
        }
        throw new IllegalStateException("no netvm-dataplane thread");
    }

    private static void print(String what, List<double[]> rows, int column) {
        List<Double> t = new ArrayList<>();
        rows.forEach(r -> t.add(r[column]));
        Collections.sort(t);
        System.out.printf(Locale.ROOT, "  %-30s p50 %6.3f  p90 %6.3f  p99 %6.3f  max %7.3f ms%n", what, pct(t, 50),
                pct(t, 90), pct(t, 99), t.getLast());
    }

    private static double pct(List<Double> sorted, int p) {
        return sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(p / 100.0 * sorted.size()) - 1));
    }

    private static String load() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
        } catch (java.io.IOException e) {
            return "?";
        }
    }
}
