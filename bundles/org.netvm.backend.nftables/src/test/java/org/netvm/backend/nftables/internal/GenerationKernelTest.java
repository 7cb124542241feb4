package org.netvm.backend.nftables.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.netvm.dataplane.OwnedState;
import org.netvm.dataplane.Plan;
import org.netvm.testing.netns.Netns;
import org.netvm.util.SystemProcessRunner;

/**
 * The read-back's "nothing changed" shortcut ({@link Generation}) against the real kernel, in a throwaway
 * namespace: the generation moves with every commit (netvm's, nft's by hand, another table's); a second
 * read-back with nothing committed is served without a listing; drift by hand (an element, a rule) is found
 * by the next read-back. Skipped unless root with ip and nft.
 */
class GenerationKernelTest {
    private static Netns ns;

    @BeforeAll
    static void setUp() {
        assumeTrue(Netns.usable("nft"), "needs root, ip, nft");
        ns = Netns.create("nftgen");
    }

    @AfterAll
    static void tearDown() {
        if (ns != null) {
            ns.close();
        }
    }

    @Test
    void theGenerationMovesWithEveryCommitOnly() throws IOException {
        try (NetfilterSocket socket = NetfilterSocket.open(ns.name(), Duration.ofSeconds(10))) {
            Generation g = new Generation(socket);
            long first = g.now();
            assertTrue(first >= 0, "the kernel answers GETGEN");
            assertEquals(first, g.now(), "asking commits nothing");
            ns.ok("nft", "add table ip gen0");
            long second = g.now();
            assertNotEquals(first, second);
            ns.ok("nft", "list ruleset");
            assertEquals(second, g.now(), "a listing commits nothing");
            ns.ok("nft", "delete table ip gen0");
            assertNotEquals(second, g.now());
        }
    }

    @Test
    void aReadBackWithNothingCommittedIsServedAndDriftByHandIsFound() throws Exception {
        NftablesBackend b = backend("genb", true);
        try {
            Plan plan = NftablesBenchmarkTest.withGuests(20, 0);
            b.apply(plan);
            OwnedState first = b.readBack();
            assertEquals(List.of(), b.expected(plan).diff(first));
            assertEquals(1, b.listings());
            assertSame(first, b.readBack(), "nothing committed: the last result, no listing");
            assertEquals(1, b.listings());

            ns.ok("nft", "delete element inet genb downstream { 10.128.0.7 }");
            assertFalse(b.expected(plan).diff(b.readBack()).isEmpty(), "an element deleted by hand is drift");
            assertEquals(2, b.listings());
            assertFalse(b.expected(plan).diff(b.readBack()).isEmpty(), "still drift, served from the last result");
            assertEquals(2, b.listings());

            b.apply(plan); // the repair: netvm's apply, then a real read-back (the last one was not exact)
            assertEquals(List.of(), b.expected(plan).diff(b.readBack()));
            assertEquals(3, b.listings());
            deleteOneRule("genb");
            assertFalse(b.expected(plan).diff(b.readBack()).isEmpty(), "a rule deleted by hand is drift");
            assertEquals(4, b.listings());

            b.apply(plan);
            b.readBack();
            ns.ok("nft", "add table ip someone-else; delete table ip someone-else");
            assertEquals(List.of(), b.expected(plan).diff(b.readBack()), "another table's commit: listed, no drift");
            assertEquals(6, b.listings());
        } finally {
            b.sweep();
            b.close();
        }
    }

    @Test
    void withoutNetlinkElementsTheSocketStillServesTheShortcut() throws Exception {
        NftablesBackend b = backend("genc", false);
        try {
            Plan plan = NftablesBenchmarkTest.withGuests(3, 0);
            b.apply(plan);
            OwnedState first = b.readBack();
            assertSame(first, b.readBack());
            assertEquals(1, b.listings());
            Plan four = NftablesBenchmarkTest.withGuests(4, 0);
            b.apply(four);
            assertEquals(List.of(), b.expected(four).diff(b.readBack()));
            assertEquals(1, b.listings(), "only netvm's own commit since an exact read-back: its expectation, no listing");
            ns.ok("nft", "add table ip someone-else; delete table ip someone-else");
            assertEquals(List.of(), b.expected(four).diff(b.readBack()), "the real listing agrees");
            assertEquals(2, b.listings());
        } finally {
            b.sweep();
            b.close();
        }
    }

    @Test
    void measure() throws Exception {
        assumeTrue(Boolean.getBoolean("netvm.bench"), "benchmark: -Dnetvm.bench=true");
        int n = Integer.getInteger("netvm.bench.guests", 1000);
        NftablesBackend b = backend("genm", true);
        try {
            b.apply(NftablesBenchmarkTest.withGuests(n, 0));
            long[] real = new long[5];
            long[] cached = new long[5];
            for (int i = 0; i < real.length; i++) {
                b.apply(NftablesBenchmarkTest.withGuests(n, i % 2)); // a change: the next read-back is real
                long t0 = System.nanoTime();
                b.readBack();
                real[i] = System.nanoTime() - t0;
                t0 = System.nanoTime();
                b.readBack();
                cached[i] = System.nanoTime() - t0;
            }
            java.util.Arrays.sort(real);
            java.util.Arrays.sort(cached);
            System.out.printf("genid: %d guests: readBack real %.1f ms, unchanged generation %.3f ms (medians of 5;"
                    + " load %s)%n", n, real[2] / 1e6, cached[2] / 1e6,
                    java.nio.file.Files.readString(java.nio.file.Path.of("/proc/loadavg")).strip());
        } finally {
            b.sweep();
            b.close();
        }
    }

    private static NftablesBackend backend(String prefix, boolean netlinkElements) throws IOException {
        LibNftables lib = LibNftables.open(LibNftables.DEFAULT_LIBRARY, ns.name(), Duration.ofSeconds(30));
        NetfilterSocket socket = NetfilterSocket.open(ns.name(), Duration.ofSeconds(10));
        return new NftablesBackend(new SystemProcessRunner(Duration.ofSeconds(60)), "nft", ns.name(), prefix,
                argv -> null, null, lib, netlinkElements ? socket : null, socket);
    }

    /** Deletes the first rule of the first chain with rules of {@code inet <table>}, by its handle. */
    private static void deleteOneRule(String table) throws IOException {
        String chain = null;
        Pattern header = Pattern.compile("^\\tchain (\\S+) \\{.*");
        Pattern rule = Pattern.compile("^\\t\\t.*# handle (\\d+)$");
        for (String line : ns.ok("nft", "-a", "list", "table", "inet", table).lines().toList()) {
            Matcher h = header.matcher(line);
            if (h.matches()) {
                chain = h.group(1);
                continue;
            }
            Matcher r = rule.matcher(line);
            if (chain != null && r.matches()) {
                ns.ok("nft", "delete", "rule", "inet", table, chain, "handle", r.group(1));
                return;
            }
        }
        throw new AssertionError("no rule with a handle in inet " + table);
    }
}
