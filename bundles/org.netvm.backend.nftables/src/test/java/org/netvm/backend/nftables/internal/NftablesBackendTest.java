package org.netvm.backend.nftables.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.netvm.dataplane.BackendException;
import org.netvm.dataplane.OwnedState;
import org.netvm.dataplane.Plan;

/** The backend's logic against a fake nft. */
class NftablesBackendTest {
    private final FakeRunner nft = new FakeRunner();

    private NftablesBackend backend(String netns) {
        return new NftablesBackend(nft, "nft", netns, "netvm");
    }

    @Test
    void runsNftInsideTheNamespaceAsSeparateArguments() throws Exception {
        backend("netvmtest-x").apply(Plan.EMPTY);
        assertEquals(List.of("ip", "netns", "exec", "netvmtest-x", "nft", "-f", "-"), nft.last().argv());
        backend("").sweep();
        assertEquals(List.of("nft", "-f", "-"), nft.last().argv());
    }

    @Test
    void refusesBadConfiguration() {
        assertThrows(IllegalArgumentException.class, () -> backend("a b"));
        assertThrows(IllegalArgumentException.class, () -> backend("-n"));
        assertThrows(IllegalArgumentException.class, () -> new NftablesBackend(nft, "nft", "", "bad prefix"));
        assertThrows(IllegalArgumentException.class, () -> new NftablesBackend(nft, "nft", "", "x; flush ruleset"));
    }

    @Test
    void firstApplyIsFullThenElementOnlyChangesSendOnlyElements() throws Exception {
        NftablesBackend b = backend("");
        b.apply(QubesPlans.twoGuests());
        assertTrue(nft.last().stdin().startsWith("add table ip netvm-ip\ndelete table ip netvm-ip\n"));
        b.apply(QubesPlans.guestChanged());
        assertEquals(2, nft.calls.size());
        String delta = nft.last().stdin();
        assertTrue(delta.lines().allMatch(l -> l.startsWith("add element ") || l.startsWith("delete element ")),
                delta);
        assertTrue(delta.contains("delete element inet netvm allowed { \"vif3.0\" . 10.137.0.5 }"), delta);
    }

    @Test
    void sameplanAgainIsAFullTransactionThatRepairsDrift() throws Exception {
        NftablesBackend b = backend("");
        b.apply(QubesPlans.twoGuests());
        b.apply(QubesPlans.twoGuests());
        assertTrue(nft.last().stdin().contains("delete table inet netvm"));
    }

    @Test
    void structuralChangeIsFull() throws Exception {
        NftablesBackend b = backend("");
        b.apply(QubesPlans.twoGuests());
        b.apply(QubesPlans.withDns(List.of("9.9.9.9")));
        assertTrue(nft.last().stdin().contains("dnat to 9.9.9.9"));
        assertTrue(nft.last().stdin().contains("delete table inet netvm"));
    }

    @Test
    void failedElementChangeFallsBackToFull() throws Exception {
        NftablesBackend b = backend("");
        b.apply(QubesPlans.twoGuests());
        nft.answer(1, "", "Error: Could not process rule: No such file or directory");
        b.apply(QubesPlans.guestChanged());
        assertEquals(3, nft.calls.size());
        assertTrue(nft.last().stdin().contains("\"vif5.0\" . 10.137.0.7"));
        assertTrue(nft.last().stdin().contains("delete table inet netvm"));
    }

    @Test
    void rejectedTransactionIsABackendExceptionWithNftsMessage() throws Exception {
        NftablesBackend b = backend("");
        b.apply(QubesPlans.twoGuests());
        nft.answer(1, "", "Error: Could not process rule: Operation not supported");
        var e = assertThrows(BackendException.class, () -> b.apply(QubesPlans.withDns(List.of())));
        assertTrue(e.getMessage().contains("Operation not supported"), e.getMessage());
        assertTrue(e.detail().contains("Operation not supported"));
        // the last applied plan is still the two guests: an element-only change is a delta against it
        b.apply(QubesPlans.guestChanged());
        assertTrue(nft.last().stdin().startsWith("delete element"), nft.last().stdin());
    }

    @Test
    void sweepDeletesOnlyOwnTablesAndForgetsTheLastPlan() throws Exception {
        NftablesBackend b = backend("");
        b.apply(QubesPlans.twoGuests());
        b.sweep();
        String script = nft.last().stdin();
        assertEquals(List.of("add table ip netvm-ip", "delete table ip netvm-ip", "add table ip6 netvm-ip6",
                "delete table ip6 netvm-ip6", "add table inet netvm", "delete table inet netvm"),
                script.lines().toList());
        b.apply(QubesPlans.guestChanged());
        assertTrue(nft.last().stdin().contains("delete table inet netvm"));
    }

    @Test
    void readBackListsEachOwnTableByNameAndCanonicalises() throws Exception {
        // not `list tables`: nft would fill its cache with every table of everyone for it
        nft.answer(1, "", "Error: No such file or directory\n");
        nft.answer(1, "", "Error: No such file or directory\n");
        nft.answer(0, """
                {"nftables": [{"metainfo": {"version": "1.0.6", "json_schema_version": 1}},
                 {"table": {"family": "inet", "name": "netvm", "handle": 2}},
                 {"set": {"family": "inet", "name": "allowed", "table": "netvm", "type": ["ifname", "ipv4_addr"],
                   "handle": 8, "elem": [{"concat": ["vif4.0", "10.137.0.6"]}, {"concat": ["vif3.0", "10.137.0.5"]}]}},
                 {"chain": {"family": "inet", "table": "netvm", "name": "input", "handle": 6, "type": "filter",
                   "hook": "input", "prio": 0, "policy": "drop"}},
                 {"rule": {"family": "inet", "table": "netvm", "chain": "input", "handle": 9, "expr": [
                   {"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": 1}},
                   {"counter": {"packets": 12, "bytes": 3400}}, {"drop": null}]}},
                 {"rule": {"family": "inet", "table": "netvm", "chain": "input", "handle": 10, "expr": [
                   {"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "lo"}}, {"accept": null}]}}]}
                """, "");
        OwnedState s = backend("").readBack();
        assertEquals(List.of("nft", "-j", "-n", "list", "table", "ip", "netvm-ip"), nft.calls.get(0).argv());
        assertEquals(List.of("nft", "-j", "-n", "list", "table", "ip6", "netvm-ip6"), nft.calls.get(1).argv());
        assertEquals(List.of("nft", "-j", "-n", "list", "table", "inet", "netvm"), nft.calls.get(2).argv());
        assertEquals(3, nft.calls.size());
        assertEquals("type filter hook input priority 0; policy drop;", s.chains().get("inet netvm/input"));
        assertEquals(List.of("ct state 0x1 counter drop", "iifname \"lo\" accept"), s.rules().get("inet netvm/input"));
        assertEquals("type ifname . ipv4_addr", s.sets().get("inet netvm/allowed"));
        assertEquals(List.of("\"vif3.0\" . 10.137.0.5", "\"vif4.0\" . 10.137.0.6"),
                List.copyOf(s.elements().get("inet netvm/allowed")));
    }

    @Test
    void expectedStateIsNumericLikeNftDashN() {
        OwnedState s = backend("").expected(QubesPlans.twoGuests());
        assertEquals("type filter hook prerouting priority -300; policy accept;",
                s.chains().get("inet netvm/prerouting"));
        assertTrue(s.rules().get("inet netvm/input").contains("ct state 0x2,0x4 accept"));
        assertTrue(s.rules().get("inet netvm/input").contains("iifgroup 2 meta l4proto 58 accept"));
        assertTrue(s.rules().get("inet netvm/input").contains("iifgroup 2 counter reject with icmpx 3"));
        assertFalse(s.diff(backend("").expected(QubesPlans.guestChanged())).isEmpty());
    }

    /** A session that records its lines and answers from a queue (null: applied). */
    private static final class FakeShell implements NftShell {
        final List<String> lines = new java.util.ArrayList<>();
        final java.util.ArrayDeque<String> errors = new java.util.ArrayDeque<>();
        int warmUps;

        @Override
        public String transaction(String commands) {
            lines.add(commands);
            return errors.poll();
        }

        @Override
        public void warmUp() {
            warmUps++;
        }

        @Override
        public void close() {
        }
    }

    @Test
    void smallChangesGoThroughTheSessionAsOneLineAndRefusalsFallBackToFull() throws Exception {
        FakeShell shell = new FakeShell();
        NftablesBackend b = new NftablesBackend(nft, "nft", "", "netvm", argv -> shell);
        b.apply(QubesPlans.twoGuests());
        assertEquals(1, nft.calls.size(), "the first apply is a full nft -f transaction");
        assertEquals(1, shell.warmUps, "the session is started after a full apply");
        b.apply(QubesPlans.guestChanged());
        assertEquals(1, nft.calls.size(), "no process for an element change");
        assertEquals(1, shell.lines.size());
        String line = shell.lines.getFirst();
        assertFalse(line.contains("\n"));
        assertTrue(line.startsWith("delete element inet netvm allowed { \"vif3.0\" . 10.137.0.5 }; "), line);
        assertTrue(line.contains("; add element inet netvm allowed { \"vif5.0\" . 10.137.0.7 }"), line);

        shell.errors.add("Error: Could not process rule: No such file or directory");
        b.apply(QubesPlans.twoGuests());
        assertEquals(2, shell.lines.size());
        assertEquals(2, nft.calls.size(), "refused by the session: the full transaction repairs");
        assertTrue(nft.last().stdin().contains("delete table inet netvm"));
    }

    /** One guest's firewall chain changed: one transaction that flushes and refills that chain only. */
    @Test
    void aChangeOfOneChainIsOneTransactionOfThatChainOnly() throws Exception {
        NftablesBackend b = backend("");
        b.apply(withGuestChain(22));
        b.apply(withGuestChain(2222));
        assertEquals(2, nft.calls.size());
        assertEquals(List.of("flush chain inet netvm fw-5", "add rule inet netvm fw-5 tcp dport 2222 accept"),
                nft.last().stdin().lines().toList());
    }

    private static Plan withGuestChain(int port) {
        org.netvm.dataplane.ChainRef fw = org.netvm.dataplane.ChainRef.of(org.netvm.dataplane.Family.INET, "fw-5");
        return Plan.merge(org.netvm.dataplane.Contribution.builder("base")
                        .chain(org.netvm.dataplane.Chain.filter(fw.family(), "forward", org.netvm.dataplane.Hook.FORWARD,
                                org.netvm.dataplane.Priority.FILTER, org.netvm.dataplane.Policy.DROP)).build(),
                org.netvm.dataplane.Contribution.builder("firewall/5")
                        .chain(org.netvm.dataplane.Chain.regular(fw.family(), fw.name()))
                        .rule(org.netvm.dataplane.Rule.in(fw).dport(org.netvm.dataplane.Match.Protocol.TCP, port).accept())
                        .rule(org.netvm.dataplane.Rule.in(fw.family(), "forward").iifname("vif5.0").jump("fw-5"))
                        .build());
    }
}
