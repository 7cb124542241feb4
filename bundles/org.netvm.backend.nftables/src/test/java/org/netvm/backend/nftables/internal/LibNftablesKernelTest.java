package org.netvm.backend.nftables.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.netvm.testing.netns.Netns;

/**
 * libnftables in-process ({@link LibNftables}) against the real kernel, in a throwaway namespace: a
 * command buffer is one transaction with a status and nft's error text, calls land in the namespace
 * given (not the test's own), listings come as text and as JSON. Skipped unless root with ip and nft.
 */
class LibNftablesKernelTest {
    private static Netns ns;
    private static LibNftables nft;

    @BeforeAll
    static void setUp() throws IOException {
        assumeTrue(Netns.usable("nft"), "needs root, ip, nft");
        ns = Netns.create("nftlib");
        nft = LibNftables.open(LibNftables.DEFAULT_LIBRARY, ns.name(), Duration.ofSeconds(10));
    }

    @AfterAll
    static void tearDown() throws IOException {
        if (nft != null) {
            nft.close();
        }
        if (ns != null) {
            ns.close();
        }
    }

    @Test
    void aBufferIsOneTransactionAndABadLineChangesNothing() throws Exception {
        Nft.Reply ok = nft.run("add table inet tl\nadd set inet tl s { type ipv4_addr; }\n"
                + "add element inet tl s { 10.0.0.1 }", Nft.Output.NONE);
        assertTrue(ok.ok(), ok.error());
        assertEquals("", ok.error());
        assertTrue(ns.ok("nft", "list", "set", "inet", "tl", "s").contains("10.0.0.1"), "applied in the namespace");

        // the second command fails in the kernel: the first one must not be applied either
        Nft.Reply bad = nft.run("add element inet tl s { 10.0.0.2 }; delete element inet tl s { 10.9.9.9 }",
                Nft.Output.NONE);
        assertFalse(bad.ok());
        assertTrue(bad.error().contains("Error:") && bad.error().contains("10.9.9.9"), bad.error());
        // a line the parser refuses
        Nft.Reply syntax = nft.run("add element inet tl s { 10.0.0.3 }\nadd elemnt inet tl s { 10.0.0.4 }",
                Nft.Output.NONE);
        assertFalse(syntax.ok());
        assertTrue(syntax.error().contains("syntax error"), syntax.error());
        String set = ns.ok("nft", "list", "set", "inet", "tl", "s");
        assertFalse(set.contains("10.0.0.2") || set.contains("10.0.0.3"), "all or nothing: " + set);

        // the error buffer is emptied by each call: the next success has no error text
        Nft.Reply next = nft.run("add element inet tl s { 10.0.0.5 }", Nft.Output.NONE);
        assertTrue(next.ok() && next.error().isEmpty(), next.error());
        nft.run("delete table inet tl", Nft.Output.NONE);
    }

    @Test
    void listingsAsTextAndAsJson() throws Exception {
        assertTrue(nft.run("add table inet tk; add chain inet tk c { type filter hook input priority 0; "
                + "policy accept; }; add rule inet tk c ct state established,related accept", Nft.Output.NONE).ok());
        Nft.Reply text = nft.run("list table inet tk", Nft.Output.TEXT);
        assertTrue(text.ok() && text.output().contains("ct state established,related accept"), text.output());
        Nft.Reply json = nft.run("list table inet tk", Nft.Output.JSON);
        assertTrue(json.ok(), json.error());
        NftJson parsed = new NftJson();
        parsed.parse(json.output());
        assertEquals("type filter hook input priority 0; policy accept;", parsed.chains.get("inet tk/c"));
        assertEquals(List.of("ct state 0x2,0x4 accept"), parsed.rules.get("inet tk/c"));
        Nft.Reply missing = nft.run("list table inet nosuchtable", Nft.Output.JSON);
        assertFalse(missing.ok());
        assertTrue(missing.error().contains("No such file or directory"), missing.error());
        nft.run("delete table inet tk", Nft.Output.NONE);
    }

    @Test
    void aClosedContextRefusesCallsAndAMissingLibraryIsReported() throws Exception {
        LibNftables other = LibNftables.open(LibNftables.DEFAULT_LIBRARY, ns.name(), Duration.ofSeconds(10));
        assertTrue(other.run("list tables", Nft.Output.TEXT).ok());
        other.close();
        assertThrows(IOException.class, () -> other.run("list tables", Nft.Output.TEXT));
        other.close(); // twice is harmless
        assertThrows(IOException.class,
                () -> LibNftables.open("libnetvm-no-such-library.so.1", ns.name(), Duration.ofSeconds(10)));
        assertThrows(IllegalArgumentException.class,
                () -> LibNftables.open("-bad", ns.name(), Duration.ofSeconds(10)));
    }
}
