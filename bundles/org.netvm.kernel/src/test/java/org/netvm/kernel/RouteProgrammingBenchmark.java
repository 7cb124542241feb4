package org.netvm.kernel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.netvm.testing.netns.Netns;

/**
 * Programming N host routes inside a throwaway namespace: one netlink batch through {@link Kernel}
 * vs one {@code ip -batch} process vs one {@code ip route add} process per route (N=1000 only).
 * Each measurement gets a fresh namespace; the netlink figure is given for the first batch of the
 * JVM (cold: class loading, JIT) and for a later one (warm).
 *
 * <p>Run as root, either
 * {@code mvn -q -pl bundles/org.netvm.kernel test -Dgroups=benchmark -DexcludedGroups=none -Dtest=RouteProgrammingBenchmark}
 * or, after a build,
 * {@code java --enable-native-access=ALL-UNNAMED -cp bundles/org.netvm.kernel/target/classes:bundles/org.netvm.kernel/target/test-classes org.netvm.kernel.RouteProgrammingBenchmark}.
 */
@Tag("benchmark")
class RouteProgrammingBenchmark {

    @Test
    void benchmark() throws Exception {
        Netns.assumeUsable();
        main(new String[0]);
    }

    public static void main(String[] args) throws Exception {
        List<String> lines = new ArrayList<>();
        lines.add(String.format("%-34s %10s %10s", "programming N host routes", "N=1000", "N=10000"));
        double cold = netlink(1000);
        lines.add(String.format("%-34s %9.3fs %10s", "netlink batch, first in the JVM", cold, "-"));
        lines.add(String.format("%-34s %9.3fs %9.3fs", "netlink batch (warm)", best(() -> netlink(1000)), best(() -> netlink(10_000))));
        lines.add(String.format("%-34s %9.3fs %9.3fs", "one ip -batch process", best(() -> ipBatch(1000)), best(() -> ipBatch(10_000))));
        lines.add(String.format("%-34s %9.3fs %10s", "one ip route add process per route", perProcess(1000), "-"));
        lines.forEach(System.out::println);
    }

    interface Measurement {
        double run() throws Exception;
    }

    /** Best of three. */
    private static double best(Measurement m) throws Exception {
        double best = Double.MAX_VALUE;
        for (int i = 0; i < 3; i++) {
            best = Math.min(best, m.run());
        }
        return best;
    }

    private static String dst(int i) {
        return "10.200." + (i >> 8) + "." + (i & 0xff);
    }

    private static Netns namespaceWithUpLink() {
        Netns ns = Netns.create("kernbench");
        ns.veth("vif3.0", "eth0");
        ns.ip("link", "set", "vif3.0", "up");
        ns.ip("link", "set", "eth0", "up");
        return ns;
    }

    private static void check(Netns ns, int n) {
        long count = ns.ip("-4", "route", "show", "proto", "110").lines().count();
        if (count != n) {
            throw new AssertionError("expected " + n + " routes, found " + count);
        }
    }

    static double netlink(int n) throws Exception {
        try (Netns ns = namespaceWithUpLink(); CloseableKernel k = Kernels.open(ns.name())) {
            Batch b = new Batch();
            for (int i = 0; i < n; i++) {
                b.replaceRoute(Route.host(IpPrefix.parseAddress(dst(i)), "vif3.0").withMetric(32749));
            }
            long t0 = System.nanoTime();
            k.apply(b);
            double s = (System.nanoTime() - t0) / 1e9;
            check(ns, n);
            return s;
        }
    }

    static double ipBatch(int n) throws IOException {
        Path file = Files.createTempFile("netvm-routes", ".batch");
        try (Netns ns = namespaceWithUpLink()) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < n; i++) {
                sb.append("route add ").append(dst(i)).append("/32 dev vif3.0 metric 32749 proto 110 scope link\n");
            }
            Files.writeString(file, sb);
            long t0 = System.nanoTime();
            ns.ip("-batch", file.toString());
            double s = (System.nanoTime() - t0) / 1e9;
            check(ns, n);
            return s;
        } finally {
            Files.deleteIfExists(file);
        }
    }

    static double perProcess(int n) {
        try (Netns ns = namespaceWithUpLink()) {
            long t0 = System.nanoTime();
            for (int i = 0; i < n; i++) {
                ns.ip("route", "add", dst(i) + "/32", "dev", "vif3.0", "metric", "32749", "proto", "110", "scope", "link");
            }
            double s = (System.nanoTime() - t0) / 1e9;
            check(ns, n);
            return s;
        }
    }
}
