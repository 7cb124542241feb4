package org.netvm.vif.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

import org.netvm.kernel.CloseableKernel;
import org.netvm.kernel.Kernels;
import org.netvm.testing.xenstore.FakeXenStore;
import org.netvm.vif.internal.VifReconciler.Intent;

/**
 * One new vif online among N programmed ones (its device created just before the call), step by step, against the real kernel of the namespace
 * the JVM runs in (as the agent: {@code ip netns exec NS java ...}), with a fake xenstore and a
 * dataplane that confirms at once: where the reconciler's own time goes, without the control socket,
 * xenstored or the dataplane. Not a unit test (no JUnit); run as root inside a throwaway namespace:
 * <pre>
 * ip netns add vb; ip netns exec vb java --enable-native-access=ALL-UNNAMED -cp CLASSPATH \
 *     org.netvm.vif.internal.VifOnlineBenchmark 1000 100; ip netns del vb
 * </pre>
 */
public final class VifOnlineBenchmark {

    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
        int m = args.length > 1 ? Integer.parseInt(args[1]) : 100;
        veths(1, n);
        veths(n + m + 1, n + m + 60); // the primitives' devices
        FakeXenStore xs = new FakeXenStore();
        xs.put(VifReconciler.GATEWAY_KEY, "10.137.0.1");
        for (int d = 1; d <= n; d++) {
            xs.putVif(d, 0, ip(d), mac(d));
        }
        try (CloseableKernel kernel = Kernels.open("")) {
            VifReconciler r = new VifReconciler(kernel, xs, new FakeAntiSpoof(new Trace()), new KernelConntrack(kernel),
                    new HookRunner(() -> 1000L), new VifReconciler.Settings("backend/vif", 3_600_000, 0, 2_000),
                    Clock.systemUTC());
            long t = System.nanoTime();
            if (!r.pass(true)) {
                throw new IllegalStateException("first pass failed");
            }
            System.out.printf(Locale.ROOT, "N=%d programmed in %.0f ms%n", n, (System.nanoTime() - t) / 1e6);
            List<long[]> all = new ArrayList<>();
            for (int d = n + 1; d <= n + m; d++) {
                veths(d, d); // as netback: the device, its link event, then the hotplug call
                Thread.sleep(2);
                xs.putVif(d, 0, ip(d), mac(d));
                Steps s = new Steps(Clock.systemUTC());
                s.mark(Steps.Step.RECEIVED);
                var f = r.hotplug(VifName.parse("vif" + d + ".0").orElseThrow(), Intent.ONLINE, s);
                s.mark(Steps.Step.RECORDED);
                r.pass(false);
                if (!f.isDone() || !f.join().ok()) {
                    throw new IllegalStateException("vif" + d + ".0: " + (f.isDone() ? f.join() : "not answered"));
                }
                all.add(s.durations());
            }
            print(all);
            primitives(kernel, n + m);
        }
    }

    interface Call {
        void run(int d) throws Exception;
    }

    private static void time(String what, int last, Call c) throws Exception {
        long[] v = new long[50];
        for (int i = 0; i < v.length; i++) {
            long t = System.nanoTime();
            c.run(last - i);
            v[i] = System.nanoTime() - t;
        }
        Arrays.sort(v);
        System.out.printf(Locale.ROOT, "%-32s p50 %s p90 %s%n", what, StepLog.ms(StepLog.pct(v, 50)), StepLog.ms(StepLog.pct(v, 90)));
    }

    private static void primitives(org.netvm.kernel.Kernel k, int last) throws Exception {
        int fresh = last + 55;
        time("fresh: routes(110, dev)", fresh, d -> k.routes(110, "vif" + d + ".0"));
        time("fresh: neighbours(dev)", fresh, d -> k.neighbours("vif" + d + ".0"));
        time("fresh: addresses(dev)", fresh, d -> k.addresses("vif" + d + ".0"));
        time("fresh: link", fresh, d -> k.link("vif" + d + ".0"));
        time("link", last, d -> k.link("vif" + d + ".0"));
        time("routes(110, dev)", last, d -> k.routes(110, "vif" + d + ".0"));
        time("neighbours(dev)", last, d -> k.neighbours("vif" + d + ".0"));
        time("addresses(dev)", last, d -> k.addresses("vif" + d + ".0"));
        time("sysctl proxy_arp", last, d -> k.sysctl(org.netvm.kernel.Sysctl.proxyArp("vif" + d + ".0")));
        time("conntrack delete", last, d -> k.conntrack().delete(java.net.InetAddress.getByName(ip(d))));
    }

    private static void print(List<long[]> all) {
        Steps.Step[] steps = Steps.Step.values();
        System.out.printf(Locale.ROOT, "%-15s %9s %9s %9s%n", "step", "p50", "p90", "max");
        for (int i = Steps.Step.PASS.ordinal(); i <= steps.length; i++) {
            int col = i;
            long[] v = all.stream().mapToLong(d -> d[col]).filter(x -> x >= 0).sorted().toArray();
            if (v.length == 0 || (i > Steps.Step.OUTCOME.ordinal() && i < steps.length)) {
                continue;
            }
            System.out.printf(Locale.ROOT, "%-15s %9s %9s %9s%n", i == steps.length ? "total" : steps[i].label,
                    StepLog.ms(StepLog.pct(v, 50)), StepLog.ms(StepLog.pct(v, 90)), StepLog.ms(v[v.length - 1]));
        }
    }

    /** A trace that keeps nothing (thousands of puts). */
    private static final class Trace extends java.util.AbstractList<String> {
        @Override
        public boolean add(String s) {
            return true;
        }

        @Override
        public String get(int i) {
            throw new IndexOutOfBoundsException(i);
        }

        @Override
        public int size() {
            return 0;
        }
    }

    private static void veths(int first, int last) throws IOException, InterruptedException {
        Path b = Files.createTempFile("vifbench", ".batch");
        StringBuilder s = new StringBuilder();
        for (int d = first; d <= last; d++) {
            s.append("link add vif").append(d).append(".0 type veth peer name g").append(d).append('\n');
        }
        Files.writeString(b, s);
        Process p = new ProcessBuilder("ip", "-batch", b.toString()).inheritIO().start();
        if (p.waitFor() != 0) {
            throw new IOException("ip -batch failed");
        }
        Files.delete(b);
    }

    static String ip(int d) {
        return "10." + (128 + d / 65536) + "." + (d / 256 % 256) + "." + (d % 256);
    }

    static String mac(int d) {
        return String.format(Locale.ROOT, "00:16:3e:%02x:%02x:%02x", d / 65536, d / 256 % 256, d % 256);
    }

    private VifOnlineBenchmark() {
    }
}
