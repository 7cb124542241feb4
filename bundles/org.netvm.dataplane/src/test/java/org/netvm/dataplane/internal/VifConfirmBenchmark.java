package org.netvm.dataplane.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.netvm.backend.nftables.internal.NftablesBackend;
import org.netvm.dataplane.Contribution;
import org.netvm.testing.config.Configs;
import org.netvm.testing.log.Loggers;
import org.netvm.testing.netns.Netns;
import org.osgi.service.log.Logger;

/**
 * The vif's anti-spoof confirmation as the vif reconciler waits for it: {@code Dataplane.put} of one
 * guest's contribution ({@code vif/vifD.0}, two set elements) until it completes, with N guests in the
 * plan (the real base policy, DNS DNAT, N vifs), through the real reconciler and the real nftables
 * backend (libnftables in-process) in a namespace made here. Variants, interleaved round by round in
 * the same run so that the machine's load hits them alike: the backend's element-only changes through
 * libnftables or as one netlink batch ({@code netlinkElements}), the reconciler's debounce 2 ms (the
 * earlier default) or 0. The callers' stages are completed on a platform thread pool, as in the agent.
 *
 * <p>Excluded from the normal build; run: {@code mvn -q -pl bundles/org.netvm.dataplane test
 * -Dgroups=benchmark -DexcludedGroups=none -Dtest=VifConfirmBenchmark} (properties {@code
 * netvm.bench.guests}, default 1000; {@code netvm.bench.reps}, default 240 puts per variant).
 */
@Tag("benchmark")
class VifConfirmBenchmark {

    record Variant(String name, boolean netlink, int debounceMillis) {
    }

    @Test
    void putUntilConfirmed() throws Exception {
        assumeTrue(Netns.usable("nft"), "needs root, ip, nft");
        int n = Integer.getInteger("netvm.bench.guests", 1000);
        int reps = Integer.getInteger("netvm.bench.reps", 240);
        int rounds = 4;
        List<Variant> variants = List.of(new Variant("libnftables, debounce 2 ms (before)", false, 2),
                new Variant("libnftables, debounce 0", false, 0), new Variant("netlink, debounce 2 ms", true, 2),
                new Variant("netlink, debounce 0 (after)", true, 0));
        Map<Variant, List<Double>> times = new LinkedHashMap<>();
        variants.forEach(v -> times.put(v, new ArrayList<>()));
        List<Contribution> all = BackendBenchmark.contributions(n);
        String load0 = load();
        try (Netns ns = Netns.create("vifconfirm")) {
            for (int round = 0; round < rounds; round++) {
                for (Variant v : variants) {
                    times.get(v).addAll(measure(ns, v, all, n, reps / rounds));
                }
            }
        }
        System.out.printf(Locale.ROOT, "vif anti-spoof confirmation (Dataplane.put until complete), %d guests, %d puts"
                + " per variant in %d rounds, load %s -> %s%n", n, reps, rounds, load0, load());
        for (Variant v : variants) {
            List<Double> t = new ArrayList<>(times.get(v));
            Collections.sort(t);
            System.out.printf(Locale.ROOT, "  %-38s p50 %6.3f  p90 %6.3f  p99 %7.3f  max %7.3f ms%n", v.name(),
                    pct(t, 50), pct(t, 90), pct(t, 99), t.get(t.size() - 1));
        }
    }

    private static List<Double> measure(Netns ns, Variant v, List<Contribution> all, int n, int reps)
            throws Exception {
        Logger log = Loggers.quiet();
        NftablesBackend b = new NftablesBackend(Configs.of(NftablesBackend.Config.class, Map.of("netns", ns.name(),
                "netlinkElements", v.netlink())), log);
        var notifier = Executors.newCachedThreadPool(Thread.ofPlatform().daemon().factory());
        var r = new DataplaneReconciler(new Settings("nftables", 5, v.debounceMillis()), Clock.SYSTEM, notifier, log)
                .start();
        List<Double> out = new ArrayList<>();
        try {
            r.bindBackend(b, Map.of("service.id", 1L, "netvm.backend", "nftables"));
            List<CompletableFuture<Void>> puts = new ArrayList<>();
            for (Contribution c : all) {
                puts.add(r.put(c).toCompletableFuture());
            }
            CompletableFuture.allOf(puts.toArray(CompletableFuture[]::new)).get(120, TimeUnit.SECONDS);
            for (int i = 0; i < reps; i++) {
                Contribution extra = BackendBenchmark.guest(n + i);
                long t0 = System.nanoTime();
                r.put(extra).toCompletableFuture().get(60, TimeUnit.SECONDS);
                out.add((System.nanoTime() - t0) / 1e6);
                if (i % 2 == 1) { // the guest before this one goes: removals are element changes too
                    r.remove(BackendBenchmark.guest(n + i - 1).owner()).toCompletableFuture().get(60, TimeUnit.SECONDS);
                }
                Thread.sleep(2); // one request at a time, as hotplug calls come
            }
            assertEquals(0, r.status().failures());
        } finally {
            r.deactivate();
            b.sweep();
            b.close();
            notifier.shutdown();
        }
        return out;
    }

    private static double pct(List<Double> sorted, int p) {
        return sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(p / 100.0 * sorted.size()) - 1));
    }

    private static String load() {
        try {
            String[] f = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/loadavg")).split(" ");
            return f[0];
        } catch (java.io.IOException e) {
            return "?";
        }
    }
}
