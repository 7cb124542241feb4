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
 * {@code mvn -q -pl bundles/org.netvm.backend.nftables install -Dnetvm.bench=true -Dtest=NftablesBenchmarkTest}
 * ({@code -Dnetvm.bench.sizes=100,1000} for fewer guests). The nft -i session and libnftables are measured
 * one after the other in the same run, on the same plans.
 */
class NftablesBenchmarkTest {

    static Plan withGuests(int n, int extra) {
        return Plan.merge(QubesPlans.basePolicy(), guests(n, extra));
    }

    private static Contribution guests(int n, int extra) {
        Contribution.Builder g = Contribution.builder("guests");
        for (int i = 0; i < n + extra; i++) {
            String vif = "vif" + (i + 1) + ".0";
            String ip = "10." + (128 + i / 65536) + "." + (i / 256 % 256) + "." + (i % 256);
            g.element(QubesPlans.ALLOWED, SetElement.of(vif, ip)).element(QubesPlans.DOWNSTREAM, SetElement.of(ip));
        }
        return g.build();
    }

    @Test
    void measure() throws Exception {
        assumeTrue(Boolean.getBoolean("netvm.bench"), "benchmark: -Dnetvm.bench=true");
        assumeTrue(Netns.usable("nft"), "needs root, ip, nft");
        try (Netns ns = Netns.create("nftbench")) {
            NftablesBackend b = new NftablesBackend(new SystemProcessRunner(Duration.ofMinutes(2)), "nft",
                    ns.name(), "netvm");
            for (String size : System.getProperty("netvm.bench.sizes", "100,1000,10000").split(",")) {
                int n = Integer.parseInt(size.strip());
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
                // the same changes, a DNS change (the dnat-dns chain flushed and refilled) and the read-back
                // through libnftables in-process, alternating with the nft -i session in the same run
                Plan dnsA = Plan.merge(QubesPlans.basePolicy(), guests(n, 0), QubesPlans.dns(List.of("192.168.0.1", "9.9.9.9")));
                Plan dnsB = Plan.merge(QubesPlans.basePolicy(), guests(n, 0), QubesPlans.dns(List.of("192.168.0.7", "9.9.9.9")));
                long[] session = measureChanges(ns, null, null, plan, more, dnsA, dnsB, changes);
                long[] lib = measureChanges(ns, LibNftables.open(LibNftables.DEFAULT_LIBRARY, ns.name(),
                        Duration.ofSeconds(30)), null, plan, more, dnsA, dnsB, changes);
                long[] netlink = measureChanges(ns, LibNftables.open(LibNftables.DEFAULT_LIBRARY, ns.name(),
                        Duration.ofSeconds(30)), NetfilterSocket.open(ns.name(), Duration.ofSeconds(30)), plan, more,
                        dnsA, dnsB, changes);
                System.out.printf("N=%d elements/set (x2 sets): full apply %.1f ms (median of 3, empty table),"
                        + " full re-apply %.1f ms, readBack %.1f ms (nft list alone %.1f ms); one guest more or less:"
                        + " via nft -f %.2f ms, via the nft -i session %.3f ms (%.0fx faster)%n", n, median(fresh),
                        median(replace), readBack / 1e6, listOnly / 1e6, delta / 1e6, viaSession / 1e6,
                        (double) delta / Math.max(1, viaSession));
                System.out.printf("N=%d   nft -i session: guest change %.3f ms, DNS change %.3f ms, full apply %.1f ms,"
                        + " readBack %.1f ms%n", n, session[0] / 1e6, session[1] / 1e6, session[2] / 1e6, session[3] / 1e6);
                System.out.printf("N=%d   libnftables:    guest change %.3f ms, DNS change %.3f ms, full apply %.1f ms,"
                        + " readBack %.1f ms  (load %s)%n", n, lib[0] / 1e6, lib[1] / 1e6, lib[2] / 1e6, lib[3] / 1e6,
                        java.nio.file.Files.readString(java.nio.file.Path.of("/proc/loadavg")).split(" ")[0]);
                System.out.printf("N=%d   + netlink:      guest change %.3f ms (element-only changes as one nf_tables"
                        + " netlink batch), DNS change %.3f ms%n", n, netlink[0] / 1e6, netlink[1] / 1e6);
            }
            b.sweep();
        }
    }

    /**
     * Medians (ns) of a guest change, a DNS change, a full apply and a read-back, through a backend
     * with {@code library} (null: nft processes and the nft -i session).
     */
    private static long[] measureChanges(Netns ns, Nft library, NetlinkElements.Transport elements, Plan plan, Plan more, Plan dnsA, Plan dnsB,
            int changes) throws Exception {
        NftablesBackend b = library == null
                ? new NftablesBackend(new SystemProcessRunner(Duration.ofMinutes(2)), "nft", ns.name(), "netvm",
                        Duration.ofSeconds(30))
                : new NftablesBackend(new SystemProcessRunner(Duration.ofMinutes(2)), "nft", ns.name(), "netvm", library,
                        elements);
        List<Long> guest = new ArrayList<>();
        List<Long> dns = new ArrayList<>();
        List<Long> full = new ArrayList<>();
        List<Long> read = new ArrayList<>();
        try {
            b.apply(plan);
            b.apply(more);
            b.apply(plan);
            for (int i = 0; i < changes; i++) {
                long t0 = System.nanoTime();
                b.apply(i % 2 == 0 ? more : plan);
                guest.add(System.nanoTime() - t0);
            }
            b.apply(dnsA);
            for (int i = 0; i < changes; i++) {
                long t0 = System.nanoTime();
                b.apply(i % 2 == 0 ? dnsB : dnsA);
                dns.add(System.nanoTime() - t0);
            }
            for (int i = 0; i < 3; i++) {
                b.sweep(); // the next apply is a full transaction into an empty namespace
                long t0 = System.nanoTime();
                b.apply(dnsA);
                full.add(System.nanoTime() - t0);
                t0 = System.nanoTime();
                assertEquals(java.util.List.of(), b.expected(dnsA).diff(b.readBack()));
                read.add(System.nanoTime() - t0);
            }
        } finally {
            b.sweep();
            b.close();
        }
        return new long[] {(long) (median(guest) * 1e6), (long) (median(dns) * 1e6), (long) (median(full) * 1e6),
                (long) (median(read) * 1e6)};
    }

    private static double median(List<Long> ns) {
        List<Long> s = new ArrayList<>(ns);
        s.sort(null);
        return s.get(s.size() / 2) / 1e6;
    }
}
