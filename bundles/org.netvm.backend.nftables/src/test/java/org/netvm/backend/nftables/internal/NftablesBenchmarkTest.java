package org.netvm.backend.nftables.internal;

import org.netvm.util.SystemProcessRunner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.netvm.dataplane.Contribution;
import org.netvm.dataplane.Plan;
import org.netvm.dataplane.SetElement;
import org.netvm.testing.netns.Netns;

/**
 * Timings, run only with {@code -Dnetvm.bench=true} (as root), in a throwaway namespace:
 * {@code mvn -q -pl bundles/org.netvm.backend.nftables install -Dnetvm.bench=true -Dtest=NftablesBenchmarkTest}.
 */
class NftablesBenchmarkTest {

    static Plan withGuests(int n, int extra) {
        Contribution.Builder g = Contribution.builder("guests");
        for (int i = 0; i < n + extra; i++) {
            String vif = "vif" + (i + 1) + ".0";
            String ip = "10." + (128 + i / 65536) + "." + (i / 256 % 256) + "." + (i % 256);
            g.element(QubesPlans.ALLOWED, SetElement.of(vif, ip)).element(QubesPlans.DOWNSTREAM, SetElement.of(ip));
        }
        return Plan.merge(QubesPlans.basePolicy(), g.build());
    }

    @Test
    void measure() throws Exception {
        assumeTrue(Boolean.getBoolean("netvm.bench"), "benchmark: -Dnetvm.bench=true");
        assumeTrue(Netns.usable("nft"), "needs root, ip, nft");
        try (Netns ns = Netns.create("nftbench")) {
            NftablesBackend b = new NftablesBackend(new SystemProcessRunner(Duration.ofMinutes(2)), "nft",
                    ns.name(), "netvm");
            for (int n : new int[] {100, 1000, 10000}) {
                Plan plan = withGuests(n, 0);
                List<Long> fresh = new ArrayList<>();
                List<Long> replace = new ArrayList<>();
                for (int run = 0; run < 3; run++) {
                    b.sweep();
                    long t0 = System.nanoTime();
                    b.apply(plan);
                    fresh.add(System.nanoTime() - t0);
                    t0 = System.nanoTime();
                    b.apply(plan);                       // same plan: full replace over N existing elements
                    replace.add(System.nanoTime() - t0);
                }
                long t0 = System.nanoTime();
                var state = b.readBack();
                long readBack = System.nanoTime() - t0;
                t0 = System.nanoTime();
                ns.ok("nft", "-n", "list", "table", "inet", "netvm");
                long listOnly = System.nanoTime() - t0;
                assertEquals(2 * n, state.elements().values().stream().mapToInt(java.util.Set::size).sum());
                // one guest more, then back: element-only deltas, one nft -f process each
                Plan more = withGuests(n, 1);
                int changes = 20;
                t0 = System.nanoTime();
                for (int i = 0; i < changes; i++) {
                    b.apply(i % 2 == 0 ? more : plan);
                }
                long delta = (System.nanoTime() - t0) / changes;
                // the same changes through the backend's long-lived nft -i session (InteractiveNft)
                NftablesBackend bi = new NftablesBackend(new SystemProcessRunner(Duration.ofMinutes(2)), "nft",
                        ns.name(), "netvm", Duration.ofSeconds(30));
                try {
                    bi.apply(plan);
                    bi.apply(more); // starts nft -i
                    bi.apply(plan);
                    t0 = System.nanoTime();
                    for (int i = 0; i < changes; i++) {
                        bi.apply(i % 2 == 0 ? more : plan);
                    }
                } finally {
                    bi.close();
                }
                long viaSession = (System.nanoTime() - t0) / changes;
                System.out.printf("N=%d elements/set (x2 sets): full apply %.1f ms (median of 3, empty table),"
                        + " full re-apply %.1f ms, readBack %.1f ms (nft list alone %.1f ms); one guest more or less:"
                        + " via nft -f %.2f ms, via the nft -i session %.3f ms (%.0fx faster)%n", n, median(fresh),
                        median(replace), readBack / 1e6, listOnly / 1e6, delta / 1e6, viaSession / 1e6,
                        (double) delta / Math.max(1, viaSession));
            }
            b.sweep();
        }
    }

    private static double median(List<Long> ns) {
        List<Long> s = new ArrayList<>(ns);
        s.sort(null);
        return s.get(s.size() / 2) / 1e6;
    }
}
