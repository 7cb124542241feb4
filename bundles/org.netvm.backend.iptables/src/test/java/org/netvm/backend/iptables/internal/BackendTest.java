package org.netvm.backend.iptables.internal;

import org.netvm.util.ProcessRunner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.netvm.dataplane.BackendException;
import org.netvm.dataplane.Plan;

class BackendTest {
    private final FakeRunner runner = new FakeRunner();

    @Test
    void namespaceIsSeparateArgvElements() throws Exception {
        new IptablesBackend(runner, "netvmtest-x", "NETVM-", "nft").readBack();
        assertEquals(List.of("ip", "netns", "exec", "netvmtest-x", "iptables-nft-save"), runner.calls.get(0).argv());
        assertEquals(List.of("ip", "netns", "exec", "netvmtest-x", "ipset", "save"), runner.calls.get(2).argv());
        assertThrows(IllegalArgumentException.class, () -> new IptablesBackend(runner, "a b", "NETVM-", "nft"));
        assertThrows(IllegalArgumentException.class, () -> new IptablesBackend(runner, "", "-bad", "nft"));
        assertEquals("ip6tables-legacy-restore", new IptablesBackend(runner, "", "NETVM-", "legacy").program(6, "restore"));
    }

    /** ip6tables refuses its filter table: the v4 tables committed before are put back, new sets destroyed. */
    @Test
    void refusalRollsBackCommittedTablesAndNewSets() {
        runner.answer = (argv, stdin) -> argv.contains("ip6tables-nft-restore") && stdin.startsWith("*filter")
                ? new ProcessRunner.Result(4, "", "line 3: RULE_APPEND failed")
                : new ProcessRunner.Result(0, "", "");
        IptablesBackend backend = new IptablesBackend(runner, "", "NETVM-", "nft");
        Plan plan = Plans.base(new Plans.Guest("vif3.0", "10.137.0.5"));
        BackendException e = assertThrows(BackendException.class, () -> backend.apply(plan));
        assertTrue(e.getMessage().contains("RULE_APPEND failed"), e.getMessage());
        List<FakeRunner.Call> w = runner.writes();
        List<String> programs = w.stream().map(c -> c.argv().getFirst() + " " + c.stdin().lines().findFirst().orElse(""))
                .toList();
        assertEquals(List.of("ipset create NETVM-allowed.i4 hash:net,iface family inet maxelem 1048576",
                "iptables-nft-restore *raw", "iptables-nft-restore *nat", "iptables-nft-restore *filter",
                "ip6tables-nft-restore *raw", "ip6tables-nft-restore *filter",
                // rollback, newest first
                "ip6tables-nft-restore *raw", "iptables-nft-restore *filter", "iptables-nft-restore *nat",
                "iptables-nft-restore *raw", "ipset destroy NETVM-allowed.i4"), programs);
        assertTrue(w.get(7).stdin().contains("-D INPUT -m comment --comment netvm -j NETVM-input"));
        assertTrue(w.get(7).stdin().contains("-X NETVM-input"));
    }

    @Test
    void sweepOnEmptyKernelWritesNothing() throws Exception {
        new IptablesBackend(runner, "", "NETVM-", "nft").sweep();
        assertEquals(List.of(), runner.writes());
    }

    /** The sweep removes netvm's hooks and chains of every table it finds with one restore per IP version. */
    @Test
    void sweepRemovesEveryTableWithOneRestorePerIpVersion() throws Exception {
        String save = String.join("\n", "*raw", ":PREROUTING ACCEPT [0:0]", ":NETVM-raw - [0:0]",
                "-A PREROUTING -m comment --comment netvm -j NETVM-raw", "-A NETVM-raw -j ACCEPT", "COMMIT",
                "*filter", ":INPUT ACCEPT [0:0]", ":NETVM-input - [0:0]",
                "-A INPUT -m comment --comment netvm -j NETVM-input", "-A NETVM-input -j ACCEPT", "COMMIT", "");
        runner.answer = (argv, stdin) -> new ProcessRunner.Result(0,
                argv.getFirst().equals("iptables-nft-save") ? save : "", "");
        new IptablesBackend(runner, "", "NETVM-", "nft").sweep();
        List<FakeRunner.Call> w = runner.writes();
        assertEquals(List.of("iptables-nft-restore"), w.stream().map(FakeRunner.Call::program).toList(),
                "one process for both tables, none for IPv6 (nothing there): " + w);
        List<String> lines = w.getFirst().stdin().lines().toList();
        assertEquals(List.of("*raw", "*filter"), lines.stream().filter(l -> l.startsWith("*")).toList());
        assertEquals(2, lines.stream().filter("COMMIT"::equals).count(), "each table its own transaction");
        assertTrue(lines.contains("-D PREROUTING -m comment --comment netvm -j NETVM-raw"), lines.toString());
        assertTrue(lines.contains("-X NETVM-raw") && lines.contains("-X NETVM-input"), lines.toString());
    }

    /** expected() of the plan just applied reuses that rendering: the same state as rendering it afresh. */
    @Test
    void expectedOfTheAppliedPlanEqualsAFreshRendering() throws Exception {
        IptablesBackend backend = new IptablesBackend(runner, "", "NETVM-", "nft");
        Plan plan = withGuestChain(22);
        backend.apply(plan);
        Plan same = withGuestChain(22); // equal, not the same object
        assertEquals(new IptablesBackend(runner, "", "NETVM-", "nft").expected(same), backend.expected(same));
        assertEquals(new IptablesBackend(runner, "", "NETVM-", "nft").expected(withGuestChain(23)),
                backend.expected(withGuestChain(23)), "another plan is rendered");
        backend.sweep();
        assertEquals(new IptablesBackend(runner, "", "NETVM-", "nft").expected(same), backend.expected(same));
    }

    /** One guest's chain changed: one restore per IP version naming only that chain; nothing read back. */
    @Test
    void aChangeOfOneChainRewritesOnlyThatChain() throws Exception {
        IptablesBackend backend = new IptablesBackend(runner, "", "NETVM-", "nft");
        backend.apply(withGuestChain(22));
        runner.calls.clear();
        backend.apply(withGuestChain(2222));
        assertEquals(List.of("iptables-nft-restore", "ip6tables-nft-restore"),
                runner.calls.stream().map(FakeRunner.Call::program).toList(), "no save, no ipset: " + runner.calls);
        for (FakeRunner.Call c : runner.calls) {
            assertEquals(List.of("*filter", ":NETVM-fw-5 - [0:0]",
                    "-A NETVM-fw-5 -p tcp -m tcp --dport 2222 -j ACCEPT", "COMMIT"), c.stdin().lines().toList());
        }
    }

    private static Plan withGuestChain(int port) {
        org.netvm.dataplane.ChainRef fw = org.netvm.dataplane.ChainRef.of(org.netvm.dataplane.Family.INET, "fw-5");
        return Plan.merge(Plans.basePolicy(), org.netvm.dataplane.Contribution.builder("firewall/5")
                .chain(org.netvm.dataplane.Chain.regular(fw.family(), fw.name()))
                .rule(org.netvm.dataplane.Rule.in(fw).dport(org.netvm.dataplane.Match.Protocol.TCP, port).accept())
                .rule(org.netvm.dataplane.Rule.in(org.netvm.dataplane.Family.INET, "forward").iifname("vif5.0")
                        .jump("fw-5"))
                .build());
    }
}
