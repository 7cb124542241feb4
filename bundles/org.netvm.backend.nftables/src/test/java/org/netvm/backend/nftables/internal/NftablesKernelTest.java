package org.netvm.backend.nftables.internal;

import org.netvm.util.SystemProcessRunner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.netvm.dataplane.BackendException;
import org.netvm.dataplane.Chain;
import org.netvm.dataplane.ChainRef;
import org.netvm.dataplane.Contribution;
import org.netvm.dataplane.Family;
import org.netvm.dataplane.Hook;
import org.netvm.dataplane.Match;
import org.netvm.dataplane.NamedSet;
import org.netvm.dataplane.OwnedState;
import org.netvm.dataplane.Plan;
import org.netvm.dataplane.Policy;
import org.netvm.dataplane.Priority;
import org.netvm.dataplane.Rule;
import org.netvm.dataplane.SetElement;
import org.netvm.dataplane.SetRef;
import org.netvm.dataplane.SetType;
import org.netvm.testing.netns.Netns;

/**
 * The backend against the real kernel, inside a throwaway namespace ("netvm") with a veth pair to a
 * second one ("peer"): 10.99.0.1 (netvm) -- 10.99.0.2 (peer). Skipped unless root with ip and nft.
 */
class NftablesKernelTest {
    private static final ChainRef INPUT = ChainRef.of(Family.INET, "input");
    private static final SetRef BLOCKED = SetRef.of(Family.INET, "blocked");
    private static Netns ns;
    private static Netns peer;
    static NftablesBackend backend;
    /** Set by {@link NftablesLibraryKernelTest}: the same tests with libnftables in-process. */
    static boolean library;

    @BeforeAll
    static void setUp() throws IOException {
        assumeTrue(Netns.usable("nft", "bash", "timeout"), "needs root, ip, nft, bash, timeout");
        ns = Netns.create("nft");
        peer = ns.peer("nftpeer");
        ns.veth("veth0", "10.99.0.1/24", peer, "veth1", "10.99.0.2/24");
        backend = newBackend();
    }

    /** A backend on the test namespace: nft processes, or libnftables when {@link #library} is set. */
    static NftablesBackend newBackend() throws IOException {
        SystemProcessRunner runner = new SystemProcessRunner(Duration.ofSeconds(30));
        return library
                ? new NftablesBackend(runner, "nft", ns.name(), "netvm",
                        LibNftables.open(LibNftables.DEFAULT_LIBRARY, ns.name(), Duration.ofSeconds(30)))
                : new NftablesBackend(runner, "nft", ns.name(), "netvm");
    }

    @AfterAll
    static void tearDown() throws IOException {
        if (ns != null) {
            ns.close();
        }
    }

    @BeforeEach
    void clean() throws Exception {
        backend.sweep();
        ns.exec("nft", "delete", "table", "inet", "user");
        ns.exec("nft", "delete", "table", "inet", "netvm-extra");
    }

    private static Plan inputPlan(Rule.Builder rule, List<String> blocked) {
        Contribution.Builder c = Contribution.builder("test")
                .chain(Chain.filter(Family.INET, "input", Hook.INPUT, Priority.FILTER, Policy.ACCEPT))
                .set(NamedSet.of(Family.INET, "blocked", SetType.IPV4_ADDR))
                .rule(Rule.in(INPUT).inSet(Match.SetKey.SOURCE_ADDRESS, "blocked").counter().drop());
        if (rule != null) {
            c.rule(rule.counter().drop());
        }
        blocked.forEach(a -> c.element(BLOCKED, SetElement.of(a)));
        return Plan.merge(c.build());
    }

    private static long packets(String chainListing, String ruleStart) {
        for (String line : chainListing.lines().toList()) {
            Matcher m = Pattern.compile("counter packets (\\d+)").matcher(line);
            if (line.strip().startsWith(ruleStart) && m.find()) {
                return Long.parseLong(m.group(1));
            }
        }
        throw new AssertionError("no counter on a rule starting with " + ruleStart + " in\n" + chainListing);
    }

    private static void assertNoDrift(Plan plan) throws BackendException {
        OwnedState want = backend.expected(plan);
        OwnedState got = backend.readBack();
        assertEquals(List.of(), want.diff(got), "drift after apply");
        assertEquals(want, got);
    }

    @Test
    void aDropRuleStopsRealPacketsAndCountsThem() throws Exception {
        assertTrue(peer.tcpAnswered("10.99.0.1", 9, 2), "without rules the peer reaches us");
        backend.apply(inputPlan(Rule.in(INPUT).saddr("10.99.0.2"), List.of()));
        assertFalse(peer.tcpAnswered("10.99.0.1", 9, 2), "dropped by ip saddr 10.99.0.2 drop");
        long dropped = packets(ns.ok("nft", "list", "chain", "inet", "netvm", "input"), "ip saddr 10.99.0.2");
        assertTrue(dropped >= 1, "counter " + dropped);
        backend.apply(inputPlan(null, List.of()));
        assertTrue(peer.tcpAnswered("10.99.0.1", 9, 2), "rule gone, packets pass");
    }

    @Test
    void setElementChangesTakeEffectWithoutTouchingRules() throws Exception {
        backend.apply(inputPlan(null, List.of()));
        assertTrue(peer.tcpAnswered("10.99.0.1", 9, 2));
        backend.apply(inputPlan(null, List.of("10.99.0.2")));   // element-only delta
        assertFalse(peer.tcpAnswered("10.99.0.1", 9, 2));
        assertNoDrift(inputPlan(null, List.of("10.99.0.2")));
        backend.apply(inputPlan(null, List.of("10.99.0.3")));
        assertTrue(peer.tcpAnswered("10.99.0.1", 9, 2));
        assertNoDrift(inputPlan(null, List.of("10.99.0.3")));
    }

    @Test
    void readBackOfEveryQubesPlanEqualsWhatWasApplied() throws Exception {
        for (Plan plan : List.of(QubesPlans.twoGuests(), QubesPlans.guestChanged(),
                QubesPlans.withDns(List.of("192.168.0.1", "9.9.9.9")), QubesPlans.withDns(List.of("192.168.0.1")),
                QubesPlans.withDns(List.of()), Plan.EMPTY, ip6Plan(), FirewallPlans.rejecting())) {
            backend.apply(plan);
            assertNoDrift(plan);
        }
    }

    private static Plan ip6Plan() {
        ChainRef dnat6 = ChainRef.of(Family.IP6, "dnat6");
        return Plan.merge(QubesPlans.basePolicy(), QubesPlans.dns(List.of("9.9.9.9")),
                Contribution.builder("v6").chain(Chain.nat(Family.IP6, "dnat6", Hook.PREROUTING, Priority.DSTNAT))
                        .rule(Rule.in(dnat6).daddr("fd00::1").dport(Match.Protocol.UDP, 53).dnat("fd00::2", 5353))
                        .rule(Rule.in(dnat6).daddr("fd00::1").protocol(Match.Protocol.TCP).dnat("fd00::3"))
                        .build());
    }

    /** Issue 10, key sets: lookups decide like the rules they stand for; a change is a delta; no drift. */
    @Test
    void keySetLookupsRejectWhatTheyHoldAndChangeByDelta() throws Exception {
        ns.exec("ip", "addr", "add", "fd99::1/64", "dev", "veth0", "nodad"); // may be there from another test
        peer.exec("ip", "addr", "add", "fd99::2/64", "dev", "veth1", "nodad");
        backend.apply(FirewallPlans.keySets(0));
        assertNoDrift(FirewallPlans.keySets(0));
        var tcp = peer.exec("timeout", "2", "bash", "-c", "exec 3<>/dev/tcp/10.99.0.1/10");
        assertTrue(tcp.stderr().contains("No route to host"), tcp.stderr());
        assertTrue(peer.tcpAnswered("10.99.0.1", 11, 2), "port 11 is not in the set");
        assertTrue(peer.exec("ping", "-c1", "-W2", "10.99.0.1").stdout().contains("Packet filtered"));
        assertTrue(peer.tcpAnswered("fd99::1", 9, 2), "no IPv6 element holds fd99::1");

        backend.apply(FirewallPlans.keySets(1)); // sets added and deleted, elements changed: a delta
        assertNoDrift(FirewallPlans.keySets(1));
        assertTrue(peer.tcpAnswered("10.99.0.1", 10, 2), "9-10 left the set");
        tcp = peer.exec("timeout", "2", "bash", "-c", "exec 3<>/dev/tcp/10.99.0.1/11");
        assertTrue(tcp.stderr().contains("No route to host"), tcp.stderr());
        assertFalse(peer.exec("ping", "-c1", "-W2", "10.99.0.1").stdout().contains("Packet filtered"));
        assertFalse(peer.tcpAnswered("fd99::1", 9, 2), "tcp 9 to fd99::1 is in the new IPv6 set");
        assertTrue(peer.tcpAnswered("fd99::1", 10, 2));
    }

    /** Issue 10: the peer sees ICMP / ICMPv6 admin-prohibited (ping: "Packet filtered"). */
    @Test
    void rejectAnswersAdminProhibitedForIcmpTypesAndPortRanges() throws Exception {
        ns.exec("ip", "addr", "add", "fd99::1/64", "dev", "veth0", "nodad"); // may be there from another test
        peer.exec("ip", "addr", "add", "fd99::2/64", "dev", "veth1", "nodad");
        backend.apply(FirewallPlans.rejecting());
        assertNoDrift(FirewallPlans.rejecting());
        String ping = peer.exec("ping", "-c1", "-W2", "10.99.0.1").stdout();
        assertTrue(ping.contains("Packet filtered"), ping);          // ICMP type 3 code 13
        String ping6 = peer.exec("ping", "-6", "-c1", "-W2", "fd99::1").stdout();
        assertTrue(ping6.contains("Administratively prohibited"), ping6); // ICMPv6 type 1 code 1
        var tcp = peer.exec("timeout", "2", "bash", "-c", "exec 3<>/dev/tcp/10.99.0.1/10");
        assertTrue(tcp.stderr().contains("No route to host"), tcp.stderr()); // EHOSTUNREACH, at once
        assertTrue(peer.tcpAnswered("10.99.0.1", 11, 2), "port 11 is outside the range 9-10");
    }

    @Test
    void foreignTablesSurviveApplyAndSweep() throws Exception {
        ns.ok("nft", "add table inet user; add chain inet user c { type filter hook input priority 10; policy accept; };"
                + " add rule inet user c counter; add table inet netvm-extra; add chain inet netvm-extra keep");
        backend.apply(QubesPlans.twoGuests());
        backend.apply(QubesPlans.guestChanged());
        backend.apply(QubesPlans.withDns(List.of()));
        backend.sweep();
        String user = ns.ok("nft", "list", "table", "inet", "user");
        assertTrue(user.contains("chain c {") && user.contains("counter packets"), user);
        assertTrue(ns.ok("nft", "list", "table", "inet", "netvm-extra").contains("chain keep"));
    }

    @Test
    void aPlanTheKernelRefusesChangesNothing() throws Exception {
        Plan good = Plan.merge(QubesPlans.basePolicy(), QubesPlans.dns(List.of("9.9.9.9")),
                QubesPlans.guest("vif3.0", "10.137.0.5", null));
        backend.apply(good);
        assertNoDrift(good);
        Contribution dnatInFilterChain = Contribution.builder("bad")
                .rule(Rule.in(QubesPlans.INPUT).dport(Match.Protocol.TCP, 80).dnat("10.0.0.1")).build();
        Contribution masqueradeInPrerouting = Contribution.builder("bad")
                .rule(Rule.in(QubesPlans.DNAT_DNS).masquerade()).build();
        for (Contribution bad : List.of(dnatInFilterChain, masqueradeInPrerouting)) {
            Plan worse = Plan.merge(QubesPlans.basePolicy(), QubesPlans.dns(List.of("1.1.1.1")),
                    QubesPlans.guest("vif4.0", "10.137.0.6", null), bad);
            BackendException e = assertThrows(BackendException.class, () -> backend.apply(worse));
            assertFalse(e.detail().isBlank(), "nft said why");
            System.out.println("refused as expected: " + e.getMessage().lines().findFirst().orElse(""));
            assertNoDrift(good);
        }
        // and the backend still works from there (element delta against the good plan)
        Plan next = Plan.merge(QubesPlans.basePolicy(), QubesPlans.dns(List.of("9.9.9.9")),
                QubesPlans.guest("vif5.0", "10.137.0.7", null));
        backend.apply(next);
        assertNoDrift(next);
    }

    @Test
    void sweepLeavesNoNetvmTable() throws Exception {
        backend.apply(ip6Plan());
        String tables = ns.ok("nft", "list", "tables");
        assertTrue(tables.contains("table inet netvm") && tables.contains("table ip netvm-ip")
                && tables.contains("table ip6 netvm-ip6"), tables);
        backend.sweep();
        assertFalse(ns.ok("nft", "list", "tables").contains("netvm"));
        assertTrue(backend.readBack().isEmpty());
        backend.sweep(); // harmless when nothing is owned
    }

    @Test
    void handDeletedRuleOrElementIsDrift() throws Exception {
        Plan plan = QubesPlans.twoGuests();
        backend.apply(plan);
        assertNoDrift(plan);

        String listing = ns.ok("nft", "-a", "list", "chain", "inet", "netvm", "input");
        Matcher m = Pattern.compile("iifname \"lo\" accept # handle (\\d+)").matcher(listing);
        assertTrue(m.find(), listing);
        ns.ok("nft", "delete", "rule", "inet", "netvm", "input", "handle", m.group(1));
        List<String> diff = backend.expected(plan).diff(backend.readBack());
        assertEquals(List.of("- rule inet netvm/input: iifname \"lo\" accept"), diff);

        ns.ok("nft", "delete element inet netvm allowed { \"vif4.0\" . 10.137.0.6 }");
        diff = backend.expected(plan).diff(backend.readBack());
        assertTrue(diff.contains("- element inet netvm/allowed: \"vif4.0\" . 10.137.0.6"), diff.toString());
        assertNotEquals(backend.expected(plan), backend.readBack());

        backend.apply(plan); // the same plan again repairs
        assertNoDrift(plan);

        // an element removed by hand that the next delta wants to delete: falls back to the full transaction
        ns.ok("nft", "delete element inet netvm allowed { \"vif3.0\" . 10.137.0.5 }");
        backend.apply(QubesPlans.guestChanged());
        assertNoDrift(QubesPlans.guestChanged());
    }

    /** Issue 11 part 4: an admin's rule in custom-input survives drift repair, full re-applies and a restart. */
    @Test
    void theUsersRulesInAUserOwnedChainSurviveRepairsAndRestarts() throws Exception {
        Plan plan = QubesPlans.twoGuests();
        backend.apply(plan);
        assertFalse(peer.tcpAnswered("10.99.0.1", 9, 2), "input has policy drop");
        ns.ok("nft", "add", "rule", "inet", "netvm", "custom-input", "tcp", "dport", "9", "counter", "accept");
        assertTrue(peer.tcpAnswered("10.99.0.1", 9, 2), "the user's accept lets it in");
        assertNoDrift(plan); // the user's rule is not drift

        ns.ok("nft", "delete", "rule", "inet", "netvm", "input", "handle", handle("input", "iifname \"lo\" accept"));
        assertFalse(backend.expected(plan).equals(backend.readBack()), "netvm's own rule deleted: drift");
        backend.apply(plan); // drift repair: a full transaction
        assertNoDrift(plan);
        long before = packets(ns.ok("nft", "list", "chain", "inet", "netvm", "custom-input"), "tcp dport 9");
        assertTrue(before >= 1, "counter kept through the full transaction: " + before);
        assertTrue(peer.tcpAnswered("10.99.0.1", 9, 2));

        backend.apply(QubesPlans.withExtensionInCustomForward()); // netvm's rules in a user-owned chain change
        assertNoDrift(QubesPlans.withExtensionInCustomForward());
        NftablesBackend restarted = newBackend();
        restarted.apply(plan); // a new agent: no memory of the last plan
        assertEquals(List.of(), restarted.expected(plan).diff(restarted.readBack()));
        restarted.close();
        long after = packets(ns.ok("nft", "list", "chain", "inet", "netvm", "custom-input"), "tcp dport 9");
        assertTrue(peer.tcpAnswered("10.99.0.1", 9, 2), "still accepted after the restart's apply");
        assertTrue(packets(ns.ok("nft", "list", "chain", "inet", "netvm", "custom-input"), "tcp dport 9") > after,
                "and still counting");
        assertFalse(ns.ok("nft", "list", "chain", "inet", "netvm", "custom-forward").contains("vif3.0"),
                "netvm's own (marked) rule went with the plan that had it");
    }

    private static String handle(String chain, String rule) {
        String listing = ns.ok("nft", "-a", "list", "chain", "inet", "netvm", chain);
        Matcher m = Pattern.compile(Pattern.quote(rule) + " # handle (\\d+)").matcher(listing);
        assertTrue(m.find(), listing);
        return m.group(1);
    }
}
