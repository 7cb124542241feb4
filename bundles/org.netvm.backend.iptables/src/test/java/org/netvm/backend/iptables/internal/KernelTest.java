package org.netvm.backend.iptables.internal;

import org.netvm.util.SystemProcessRunner;
import org.netvm.util.ProcessRunner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.netvm.dataplane.BackendException;
import org.netvm.dataplane.Chain;
import org.netvm.dataplane.ChainRef;
import org.netvm.dataplane.Contribution;
import org.netvm.dataplane.Family;
import org.netvm.dataplane.Hook;
import org.netvm.dataplane.OwnedState;
import org.netvm.dataplane.Plan;
import org.netvm.dataplane.Policy;
import org.netvm.dataplane.Priority;
import org.netvm.dataplane.Rule;
import org.netvm.testing.netns.Netns;

/**
 * The backend against the real kernel, in two throwaway namespaces: "router" (programmed, with
 * {@code vif3.0} in interface group 2, 10.137.0.1/24) and "peer" (the guest side, 10.137.0.5 and
 * 10.137.0.99). Packets are TCP connection attempts from the peer to the router: a refused or accepted
 * connection means the packet got through, a timeout that it was dropped, "no route to host" that it
 * was rejected. Skipped unless root with ip, iptables-nft, ipset and python3 available.
 */
class KernelTest {
    private static final ProcessRunner RUNNER = new SystemProcessRunner(Duration.ofSeconds(60));

    private static final String PROBE = """
            import errno, socket, sys
            s = socket.socket()
            s.settimeout(1.0)
            s.bind((sys.argv[1], 0))
            try:
                s.connect((sys.argv[2], 80))
                print("REACHED")
            except ConnectionRefusedError:
                print("REACHED")
            except socket.timeout:
                print("FILTERED")
            except OSError as e:
                print("REJECTED" if e.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EACCES) else "ERROR %d" % e.errno)
            """;

    private Netns router;
    private Netns peer;
    private IptablesBackend backend;

    @BeforeEach
    void namespaces() throws IOException {
        assumeTrue(Netns.usable("iptables-nft-restore", "ip6tables-nft-restore", "ipset", "python3"),
                "needs root, ip, iptables-nft, ipset and python3");
        router = Netns.create("ipt-r");
        peer = Netns.create("ipt-p");
        router.ok("ip", "link", "add", "vif3.0", "type", "veth", "peer", "name", "eth0", "netns", peer.name());
        router.ok("ip", "link", "set", "vif3.0", "group", "2", "up");
        router.ok("ip", "addr", "add", "10.137.0.1/24", "dev", "vif3.0");
        peer.ok("ip", "link", "set", "eth0", "up");
        peer.ok("ip", "addr", "add", "10.137.0.5/24", "dev", "eth0");
        peer.ok("ip", "addr", "add", "10.137.0.99/24", "dev", "eth0");
        backend = new IptablesBackend(RUNNER, router.name(), "NETVM-", "nft");
    }

    @AfterEach
    void cleanUp() throws IOException {
        if (router != null) {
            router.close();
        }
        if (peer != null) {
            peer.close();
        }
    }

    private String probe(String from) throws IOException {
        return peer.ok("python3", "-c", PROBE, from, "10.137.0.1").strip();
    }

    private String saveAll() throws IOException {
        return router.ok("iptables-save") + router.ok("ip6tables-save");
    }

    private static Plan input(Policy policy, Rule... rules) {
        return Plan.merge(Contribution.builder("t")
                .chain(Chain.filter(Family.INET, "input", Hook.INPUT, Priority.FILTER, policy))
                .rules(List.of(rules)).build());
    }

    @Test
    void ruleTakesEffectOnRealPackets() throws Exception {
        assertEquals("REACHED", probe("10.137.0.5"), "nothing programmed yet");
        backend.apply(input(Policy.ACCEPT, Rule.in(Plans.INPUT).saddr("10.137.0.5").drop()));
        assertEquals("FILTERED", probe("10.137.0.5"));
        assertEquals("REACHED", probe("10.137.0.99"));
        backend.apply(input(Policy.DROP, Rule.in(Plans.INPUT).saddr("10.137.0.5").accept()));
        assertEquals("REACHED", probe("10.137.0.5"));
        assertEquals("FILTERED", probe("10.137.0.99"), "emulated drop policy");
        backend.apply(input(Policy.DROP, Rule.in(Plans.INPUT).saddr("10.137.0.5").returns()));
        assertEquals("FILTERED", probe("10.137.0.5"), "return from a drop-policy chain drops, as in nftables");
    }

    /** Issue 10: the peer sees ICMP / ICMPv6 admin-prohibited (ping: "Packet filtered"). */
    @Test
    void rejectAnswersAdminProhibitedForIcmpTypesAndPortRanges() throws Exception {
        router.ok("ip", "addr", "add", "fd99::1/64", "dev", "vif3.0", "nodad");
        peer.ok("ip", "addr", "add", "fd99::5/64", "dev", "eth0", "nodad");
        backend.apply(Plans.firewall());
        assertEquals(backend.expected(Plans.firewall()), backend.readBack());
        String ping = peer.exec("ping", "-c1", "-W2", "-I", "10.137.0.5", "10.137.0.1").stdout();
        assertTrue(ping.contains("Packet filtered"), ping);                 // ICMP type 3 code 13
        String ping6 = peer.exec("ping", "-6", "-c1", "-W2", "fd99::1").stdout();
        assertTrue(ping6.contains("Administratively prohibited"), ping6);  // ICMPv6 type 1 code 1
        assertEquals("REJECTED", probe("10.137.0.5"), "tcp 80 is in the range 79-81");
        assertTrue(peer.exec("ping", "-c1", "-W2", "-I", "10.137.0.99", "10.137.0.1").ok(), "another source pings");
    }

    /** Issue 10, key sets: one rule per element decides like the lookup; an element change reads back as planned. */
    @Test
    void keySetLookupsWrittenOutAsRulesDecideAndChange() throws Exception {
        backend.apply(Plans.keySets(0));
        assertEquals(List.of(), backend.expected(Plans.keySets(0)).diff(backend.readBack()));
        assertEquals("REJECTED", probe("10.137.0.5"), "tcp 80 is in 79-81 for 10.137.0.5");
        assertEquals("REACHED", probe("10.137.0.99"), "another source has no element");
        assertTrue(peer.exec("ping", "-c1", "-W2", "-I", "10.137.0.5", "10.137.0.1").stdout()
                .contains("Packet filtered"));
        backend.apply(Plans.keySets(1));
        assertEquals(List.of(), backend.expected(Plans.keySets(1)).diff(backend.readBack()));
        assertEquals("REACHED", probe("10.137.0.5"), "only tcp 82 now");
        assertTrue(peer.exec("ping", "-c1", "-W2", "-I", "10.137.0.5", "10.137.0.1").ok());
    }

    @Test
    void antiSpoofSetsAndSingleGuestChange() throws Exception {
        backend.apply(Plans.base(new Plans.Guest("vif3.0", "10.137.0.5")));
        assertEquals("REJECTED", probe("10.137.0.5"), "allowed source; input rejects tcp from vifs");
        assertEquals("FILTERED", probe("10.137.0.99"), "spoofed source dropped by anti-spoof");
        backend.apply(Plans.base(new Plans.Guest("vif3.0", "10.137.0.99")));
        assertEquals("FILTERED", probe("10.137.0.5"));
        assertEquals("REJECTED", probe("10.137.0.99"));
        assertEquals(backend.expected(Plans.base(new Plans.Guest("vif3.0", "10.137.0.99"))), backend.readBack());
    }

    /** A change of one chain's rules (the DNS chain here) goes in by itself and reads back as planned. */
    @Test
    void aChangeOfOneChainReadsBackAsPlanned() throws Exception {
        backend.apply(Plan.merge(Plans.basePolicy(), Plans.dns("192.168.0.1")));
        Plan changed = Plan.merge(Plans.basePolicy(), Plans.dns("9.9.9.9", "192.168.0.2"));
        backend.apply(changed);
        assertEquals(List.of(), backend.expected(changed).diff(backend.readBack()));
    }

    @Test
    void readBackEqualsExpectedAndReapplyWritesNothing() throws Exception {
        Plan plan = Plan.merge(Plans.basePolicy(), Plans.guest(new Plans.Guest("vif3.0", "10.137.0.5")),
                Plans.guest(new Plans.Guest("vif4.0", "10.137.0.6")), Plans.dns("192.168.0.1", "9.9.9.9"));
        backend.apply(plan);
        OwnedState expected = backend.expected(plan);
        assertEquals(List.of(), expected.diff(backend.readBack()));
        assertEquals(expected, backend.readBack());

        FakeCounting counting = new FakeCounting();
        IptablesBackend fresh = new IptablesBackend(counting, router.name(), "NETVM-", "nft");
        fresh.apply(plan);
        assertEquals(0, counting.writes, "the kernel already holds the plan: no restore at all");
        String save = router.ok("iptables-save");
        assertEquals(1, save.lines().filter(l -> l.equals("-A INPUT -m comment --comment netvm -j NETVM-input")).count(),
                "the hook is never duplicated");
    }

    @Test
    void foreignRulesSurviveApplyAndSweep() throws Exception {
        router.ok("iptables", "-A", "INPUT", "-s", "192.0.2.1/32", "-j", "DROP");
        router.ok("iptables", "-N", "DOCKER-USER");
        router.ok("iptables", "-A", "DOCKER-USER", "-j", "RETURN");
        router.ok("iptables", "-A", "FORWARD", "-j", "DOCKER-USER");
        router.ok("ip6tables", "-A", "INPUT", "-s", "2001:db8::1/128", "-j", "DROP");
        router.ok("ipset", "create", "user-set", "hash:ip");
        router.ok("ipset", "add", "user-set", "192.0.2.7");
        List<String> foreign = List.of("-A INPUT -s 192.0.2.1/32 -j DROP", ":DOCKER-USER - [0:0]",
                "-A DOCKER-USER -j RETURN", "-A FORWARD -j DOCKER-USER", "-A INPUT -s 2001:db8::1/128 -j DROP");

        backend.apply(Plans.base(new Plans.Guest("vif3.0", "10.137.0.5")));
        backend.apply(Plan.merge(Plans.basePolicy(), Plans.dns("9.9.9.9")));
        String save = saveAll();
        assertTrue(save.contains("NETVM-input"));
        for (String line : foreign) {
            assertTrue(save.lines().anyMatch(line::equals), "after apply: " + line);
        }
        backend.sweep();
        save = saveAll();
        for (String line : foreign) {
            assertTrue(save.lines().anyMatch(line::equals), "after sweep: " + line);
        }
        assertTrue(router.ok("ipset", "save").contains("add user-set 192.0.2.7"));
    }

    @Test
    void sweepLeavesNothingOfNetvm() throws Exception {
        backend.apply(Plan.merge(Plans.basePolicy(), Plans.guest(new Plans.Guest("vif3.0", "10.137.0.5")),
                Plans.dns("192.168.0.1")));
        assertFalse(backend.readBack().isEmpty());
        backend.sweep();
        String save = saveAll();
        assertFalse(save.contains("NETVM"), save);
        assertFalse(save.contains("netvm"), save);
        assertFalse(router.ok("ipset", "list", "-n").contains("NETVM"));
        assertTrue(backend.readBack().isEmpty());
        backend.sweep(); // harmless when nothing is owned
        assertEquals("REACHED", probe("10.137.0.99"));
    }

    /** The filter table is refused after raw and nat were committed: everything goes back. */
    @Test
    void refusedTableRollsBackTheTablesAlreadyCommitted() throws Exception {
        Plan before = Plans.base(new Plans.Guest("vif3.0", "10.137.0.5"));
        backend.apply(before);
        OwnedState state = backend.readBack();
        ProcessRunner breaking = (argv, stdin) -> RUNNER.run(argv,
                stdin.startsWith("*filter") && argv.contains("iptables-nft-restore")
                        ? stdin.replace("COMMIT\n", "-A NETVM-input -j DNAT --to-destination 1.2.3.4\nCOMMIT\n")
                        : stdin);
        IptablesBackend broken = new IptablesBackend(breaking, router.name(), "NETVM-", "nft");
        Plan after = Plan.merge(Plans.basePolicy(), Plans.guest(new Plans.Guest("vif3.0", "10.137.0.99")),
                Plans.guest(new Plans.Guest("vif4.0", "10.137.0.6")), Plans.dns("9.9.9.9"),
                Contribution.builder("extra").rule(Rule.in(ChainRef.of(Family.INET, "antispoof-hook"))
                        .saddr("198.51.100.0/24").drop())
                        .rule(Rule.in(Plans.INPUT).saddr("198.51.100.0/24").drop()).build());
        BackendException e = assertThrows(BackendException.class, () -> broken.apply(after));
        assertTrue(e.getMessage().contains("restored to its previous state"), e.getMessage());
        assertEquals(List.of(), state.diff(backend.readBack()));
        assertEquals(backend.expected(before), backend.readBack());
        assertEquals("REJECTED", probe("10.137.0.5"));
    }

    /** A user's own jump into a netvm chain that the new plan drops: the kernel refuses, nothing changes. */
    @Test
    void kernelRefusalLeavesPreviousState() throws Exception {
        Plan before = Plans.base(new Plans.Guest("vif3.0", "10.137.0.5"));
        backend.apply(before);
        router.ok("iptables", "-A", "OUTPUT", "-j", "NETVM-custom-input");
        OwnedState state = backend.readBack();
        Plan after = Plan.merge(Contribution.builder("only-raw")
                .chain(Chain.filter(Family.INET, "antispoof-hook", Hook.PREROUTING, Priority.RAW, Policy.ACCEPT))
                .rule(Rule.in(ChainRef.of(Family.INET, "antispoof-hook")).saddr("198.51.100.0/24").drop()).build());
        assertThrows(BackendException.class, () -> backend.apply(after));
        assertEquals(List.of(), state.diff(backend.readBack()));
        assertTrue(router.ok("iptables-save").contains("-A OUTPUT -j NETVM-custom-input"));
    }

    @Test
    void handDeletedRuleOrElementIsDriftAndApplyRepairsIt() throws Exception {
        Plan plan = Plans.base(new Plans.Guest("vif3.0", "10.137.0.5"));
        backend.apply(plan);
        assertEquals(backend.expected(plan), backend.readBack());
        router.ok("iptables", "-D", "NETVM-input", "-i", "lo", "-j", "ACCEPT");
        List<String> diff = backend.expected(plan).diff(backend.readBack());
        assertEquals(List.of("- rule ip filter/NETVM-input: -i lo -j ACCEPT"), diff);
        router.ok("ipset", "del", "NETVM-allowed.i4", "10.137.0.5,vif3.0");
        router.ok("iptables", "-D", "INPUT", "-m", "comment", "--comment", "netvm", "-j", "NETVM-input");
        OwnedState drifted = backend.readBack();
        assertNotEquals(backend.expected(plan), drifted);
        assertTrue(backend.expected(plan).diff(drifted).contains("- element ipset/NETVM-allowed.i4: 10.137.0.5,vif3.0"));
        backend.apply(plan);
        assertEquals(backend.expected(plan), backend.readBack());
        assertEquals("REJECTED", probe("10.137.0.5"));
    }

    /** Counts restore calls, passing everything to the real runner. */
    private static final class FakeCounting implements ProcessRunner {
        int writes;

        @Override
        public Result run(List<String> argv, String stdin) throws IOException {
            if (argv.stream().anyMatch(a -> a.endsWith("restore"))) {
                writes++;
            }
            return RUNNER.run(argv, stdin);
        }
    }

    /** Issue 11 part 4: an admin's rule in custom-input survives drift repair, full re-applies and a restart. */
    @Test
    void theUsersRulesInAUserOwnedChainSurviveRepairsAndRestarts() throws Exception {
        Plan plan = Plans.base(new Plans.Guest("vif3.0", "10.137.0.5"));
        backend.apply(plan);
        assertEquals("REJECTED", probe("10.137.0.5"), "input rejects what comes from a vif");
        router.ok("iptables", "-A", "NETVM-custom-input", "-s", "10.137.0.5/32", "-p", "tcp", "-j", "ACCEPT");
        assertEquals("REACHED", probe("10.137.0.5"), "the user's accept lets it in");
        assertEquals(backend.expected(plan), backend.readBack(), "the user's rule is not drift");

        router.ok("iptables", "-D", "NETVM-input", "-i", "lo", "-j", "ACCEPT");
        assertNotEquals(backend.expected(plan), backend.readBack(), "netvm's own rule deleted: drift");
        backend.apply(plan); // drift repair rewrites the table
        assertEquals(backend.expected(plan), backend.readBack());
        assertEquals("REACHED", probe("10.137.0.5"), "kept through the repair");

        IptablesBackend restarted = new IptablesBackend(RUNNER, router.name(), "NETVM-", "nft");
        restarted.apply(Plans.base(new Plans.Guest("vif3.0", "10.137.0.5"), new Plans.Guest("vif4.0", "10.137.0.6")));
        assertEquals("REACHED", probe("10.137.0.5"), "kept by a new agent's apply");
        String counted = router.ok("iptables", "-L", "NETVM-custom-input", "-v", "-x", "-n");
        assertTrue(counted.lines().anyMatch(l -> l.strip().matches("[1-9][0-9]* +[0-9]+ +ACCEPT .*10\\.137\\.0\\.5.*")),
                "still counting: " + counted);
    }
}
