package org.netvm.backend.iptables.internal;

import org.netvm.util.SystemProcessRunner;
import org.netvm.util.ProcessRunner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.netvm.dataplane.Contribution;
import org.netvm.dataplane.Plan;
import org.netvm.testing.netns.Netns;

/**
 * Costs in a throwaway namespace, printed to stdout. Excluded by default; run with
 * {@code mvn -pl bundles/org.netvm.backend.iptables test -Dgroups=benchmark -Dnetvm.benchmark.exclude=none
 * -Dtest=BenchmarkTest}.
 */
@Tag("benchmark")
class BenchmarkTest {
    private static final ProcessRunner RUNNER = new SystemProcessRunner(Duration.ofSeconds(60));


    @Test
    void applyAndSingleGuestChange() throws Exception {
        assumeTrue(Netns.usable("iptables-nft-restore", "ip6tables-nft-restore", "ipset"), "needs root and tools");
        System.out.println("N guests | full apply ms | 1-guest change ms (fast path) | 1-guest change ms (full path, "
                + "fresh backend) | readBack ms | per-set chain rewrite ms (alternative) | Java render ms");
        for (int n : List.of(100, 1000, 10000)) {
            try (Netns ns = Netns.create("ipt-bench")) {
                IptablesBackend backend = new IptablesBackend(RUNNER, ns.name(), "NETVM-", "nft");
                Plan plan = Plans.baseWithGuests(n);
                long t0 = System.nanoTime();
                backend.apply(plan);
                long full = System.nanoTime() - t0;

                List<Contribution> more = new ArrayList<>(List.of(Plans.basePolicy()));
                for (int i = 0; i <= n; i++) {
                    more.add(Plans.guest(Plans.guestNo(i)));
                }
                Plan plus = Plan.merge(more);
                long fast = median(() -> {
                    backend.apply(plus);
                    backend.apply(plan);
                }) / 2;
                IptablesBackend fresh = new IptablesBackend(RUNNER, ns.name(), "NETVM-", "nft");
                long t1 = System.nanoTime();
                fresh.apply(plus);
                long fullChange = System.nanoTime() - t1;
                long t2 = System.nanoTime();
                assertEquals(backend.expected(plus), backend.readBack());
                long read = System.nanoTime() - t2;

                // the alternative: a set as a chain of one rule per element, rewritten on every change
                StringBuilder chain = new StringBuilder("*filter\n:NETVM-SET-allowed - [0:0]\n");
                for (int i = 0; i <= n; i++) {
                    Plans.Guest g = Plans.guestNo(i);
                    chain.append("-A NETVM-SET-allowed -s ").append(g.address()).append("/32 -i ").append(g.vif())
                            .append(" -j RETURN\n");
                }
                String input = chain.append("COMMIT\n").toString();
                long perSetChain = median(() -> {
                    ProcessRunner.Result r = RUNNER.run(List.of("ip", "netns", "exec", ns.name(), "iptables-nft-restore", "--noflush"), input);
                    if (!r.ok()) {
                        throw new IllegalStateException(r.stderr());
                    }
                });
                long render = median(() -> backend.expected(plus));
                System.out.printf("%8d | %13.1f | %29.1f | %42.1f | %11.1f | %38.1f | %.1f%n", n, full / 1e6, fast / 1e6,
                        fullChange / 1e6, read / 1e6, perSetChain / 1e6, render / 1e6);
            }
        }
    }

    interface Step {
        void run() throws Exception;
    }

    private static long median(Step step) throws Exception {
        long[] t = new long[5];
        for (int i = 0; i < t.length; i++) {
            long s = System.nanoTime();
            step.run();
            t[i] = System.nanoTime() - s;
        }
        java.util.Arrays.sort(t);
        return t[t.length / 2];
    }
}
