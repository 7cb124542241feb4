package org.netvm.testing.netns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

/** Real namespaces: skipped unless root with ip. */
class NetnsTest {
    @Test
    void createsConnectsAndRemovesNamespacesAndPeers() {
        Netns.assumeUsable("bash", "timeout");
        String name;
        String peerName;
        try (Netns ns = Netns.create("harness")) {
            name = ns.name();
            assertTrue(name.startsWith("netvmtest-harness-"), name);
            Netns peer = ns.peer("harnesspeer");
            peerName = peer.name();
            ns.veth("vif3.0", "10.99.0.1/24", peer, "eth0", "10.99.0.2/24");
            assertEquals("vif3.0", ns.ipJson("link", "show", "vif3.0").getFirst().get("ifname"));
            assertTrue(peer.ok("ip", "-4", "addr", "show", "dev", "eth0").contains("10.99.0.2/24"));
            assertTrue(peer.tcpAnswered("10.99.0.1", 9, 2), "a reset from the other end counts as an answer");
            assertFalse(ns.exec("false").ok());
            assertThrows(IllegalStateException.class, () -> ns.ok("false"));
        }
        String list = Command.check("ip", "netns", "list");
        assertFalse(list.contains(name) || list.contains(peerName), list);
    }

    @Test
    void tagsAreNames() {
        for (String bad : List.of("", "a b", "../x", "A")) {
            assertThrows(IllegalArgumentException.class, () -> Netns.create(bad), bad);
        }
    }

    @Test
    void commandsCollectOutputAndExitCodeWithoutAShell() {
        Command.Result r = Command.run(List.of("sh", "-c", "echo out; echo err >&2; exit 3"), "", Command.TIMEOUT);
        assertEquals(new Command.Result(3, "out\n", "err\n"), r);
        assertEquals("in", Command.run(List.of("cat"), "in", Command.TIMEOUT).stdout());
        assertEquals(-1, Command.run("/nonexistent/tool").exitCode());
    }
}
