package org.netvm.backend.nftables.internal;

import org.netvm.util.SystemProcessRunner;
import org.netvm.util.ProcessRunner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.netvm.dataplane.OwnedState;
import org.netvm.dataplane.Plan;
import org.netvm.testing.netns.Netns;

/**
 * The long-lived {@code nft -i} session against the real kernel, in a throwaway namespace: one line is
 * one transaction (all or nothing), errors are told apart from success, and the backend sends its
 * small changes through it without starting a process. Skipped unless root with ip and nft.
 */
class InteractiveNftKernelTest {
    private static Netns ns;

    @BeforeAll
    static void setUp() throws IOException {
        assumeTrue(Netns.usable("nft"), "needs root, ip, nft");
        ns = Netns.create("nfti");
    }

    @AfterAll
    static void tearDown() throws IOException {
        if (ns != null) {
            ns.close();
        }
    }

    private static List<String> nft() {
        return List.of("ip", "netns", "exec", ns.name(), "nft");
    }

    @Test
    void oneLineIsOneTransactionAndErrorsAreReported() throws Exception {
        ns.ok("nft", "add table inet ti; add set inet ti s { type ipv4_addr; }");
        try (InteractiveNft nft = new InteractiveNft(nft(), Duration.ofSeconds(10), "ti-probe")) {
            assertNull(nft.transaction("add element inet ti s { 10.0.0.1 }; add element inet ti s { 10.0.0.2 }"));
            // the second command fails: the first one must not be applied either
            String error = nft.transaction("add element inet ti s { 10.0.0.3 }; delete element inet ti s { 10.9.9.9 }");
            assertNotNull(error, "a failed delete is reported");
            assertTrue(error.startsWith("Error:"), error);
            assertTrue(error.contains("10.9.9.9"), "nft shows the failing command: " + error);
            String set = ns.ok("nft", "list", "set", "inet", "ti", "s");
            assertTrue(set.contains("10.0.0.1") && set.contains("10.0.0.2"), set);
            assertTrue(!set.contains("10.0.0.3"), "all or nothing: " + set);
            // and the session goes on after an error
            assertNull(nft.transaction("delete element inet ti s { 10.0.0.1 }"));
            assertTrue(!ns.ok("nft", "list", "set", "inet", "ti", "s").contains("10.0.0.1 "));
        } finally {
            ns.exec("nft", "delete", "table", "inet", "ti");
        }
    }

    @Test
    void aClosedSessionStartsAgainOnNextUse() throws Exception {
        ns.ok("nft", "add table inet tj; add set inet tj s { type ipv4_addr; }");
        InteractiveNft nft = new InteractiveNft(nft(), Duration.ofSeconds(10), "tj-probe");
        try {
            assertNull(nft.transaction("add element inet tj s { 10.0.1.1 }"));
            nft.close();
            assertNull(nft.transaction("add element inet tj s { 10.0.1.2 }"));
            assertTrue(ns.ok("nft", "list", "set", "inet", "tj", "s").contains("10.0.1.2"));
        } finally {
            nft.close();
            ns.exec("nft", "delete", "table", "inet", "tj");
        }
    }

    @Test
    void theBackendSendsElementAndChainChangesThroughTheSession() throws Exception {
        List<List<String>> runs = new ArrayList<>();
        SystemProcessRunner real = new SystemProcessRunner(Duration.ofSeconds(30));
        ProcessRunner counting = (argv, stdin) -> {
            if (!argv.contains("list")) { // a full apply first lists the table for the user's rules
                runs.add(argv);
            }
            return real.run(argv, stdin);
        };
        NftablesBackend b = new NftablesBackend(counting, "nft", ns.name(), "netvm", Duration.ofSeconds(10));
        try {
            b.apply(QubesPlans.withDns(List.of("192.168.0.1", "9.9.9.9")));
            assertEquals(1, runs.size(), "the first apply is one full nft -f transaction");
            Plan withGuest = Plan.merge(QubesPlans.basePolicy(), QubesPlans.dns(List.of("192.168.0.7", "192.168.0.8")),
                    QubesPlans.guest("vif3.0", "10.137.0.5", null));
            List<Plan> steps = List.of(QubesPlans.withDns(List.of("192.168.0.1")), // the DNS chain changes
                    Plan.merge(QubesPlans.basePolicy(), QubesPlans.dns(List.of("192.168.0.1")),
                            QubesPlans.guest("vif3.0", "10.137.0.5", null)), // a guest's elements come
                    QubesPlans.withDns(List.of("192.168.0.7", "192.168.0.8")), // both at once, the guest goes
                    withGuest);
            for (Plan p : steps) {
                runs.clear();
                b.apply(p);
                assertEquals(List.of(), runs, "no nft process for a small change");
                OwnedState want = b.expected(p);
                OwnedState got = b.readBack();
                assertEquals(List.of(), want.diff(got), "the kernel holds the plan");
            }
            // an element deleted by hand: the session refuses the delta, the full transaction repairs
            ns.ok("nft", "delete", "element", "inet", "netvm", "downstream", "{", "10.137.0.5", "}");
            runs.clear();
            Plan last = Plan.merge(QubesPlans.basePolicy(), QubesPlans.dns(List.of("192.168.0.7", "192.168.0.8")),
                    QubesPlans.guest("vif4.0", "10.137.0.6", null));
            b.apply(last);
            assertEquals(List.of("-f", "-"), runs.getFirst().subList(runs.getFirst().size() - 2, runs.getFirst().size()),
                    "fell back to a full transaction");
            assertEquals(List.of(), b.expected(last).diff(b.readBack()));
        } finally {
            b.sweep();
            b.close();
        }
    }
}
