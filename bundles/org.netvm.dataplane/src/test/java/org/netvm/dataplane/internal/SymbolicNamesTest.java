package org.netvm.dataplane.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;
import org.netvm.dataplane.Contribution;
import org.netvm.dataplane.Family;
import org.netvm.dataplane.Match;
import org.netvm.dataplane.OwnedState;
import org.netvm.dataplane.PacketFilterBackend;
import org.netvm.dataplane.Plan;
import org.netvm.dataplane.Rule;
import org.netvm.dataplane.Verdict;
import org.netvm.policy.internal.PolicyRules;

/**
 * {@code netvm plan}'s names: single lines against golden files, then whole plans of the base policy
 * and a firewall-like contribution as the real nftables and iptables backends render them.
 */
class SymbolicNamesTest {

    static final Path GOLDEN = Path.of("src/test/resources/golden");

    static String read(String name) throws IOException {
        return Files.readString(GOLDEN.resolve(name));
    }

    @Test
    void linesGetTheirNames() throws IOException {
        String translated = read("symbolic-names.in").lines().map(SymbolicNames::line)
                .collect(Collectors.joining("\n", "", "\n"));
        assertEquals(read("symbolic-names.golden"), translated);
    }

    @Test
    void namesStayNamesAndSpacingIsKept() throws IOException {
        read("symbolic-names.golden").lines().forEach(x -> assertEquals(x, SymbolicNames.line(x)));
        assertEquals("  ct  state\testablished ", SymbolicNames.line("  ct  state\t0x2 "), "spacing as it was");
        assertEquals("", SymbolicNames.line(""));
        assertEquals("ct state", SymbolicNames.line("ct state"));
        assertEquals("reject with icmp", SymbolicNames.line("reject with icmp"));
        assertEquals("iifname \"a b", SymbolicNames.line("iifname \"a b"), "an unclosed quote runs to the end");
    }

    /** The base policy, a guest's firewall rules in an ip chain, and DNS DNAT: every kind of number. */
    static Plan plan() {
        Contribution extra = Contribution.builder("test")
                .chain(org.netvm.dataplane.Chain.regular(Family.IP, "fw"))
                .rule(Rule.in(Family.IP, "fw").saddr("10.137.0.5").match(new Match.IcmpType(Match.Protocol.ICMP, 8, false))
                        .counter().reject(Verdict.RejectType.HOST_PROHIBITED))
                .rule(Rule.in(Family.IP, "fw").not(new Match.IcmpType(Match.Protocol.ICMP, 3, false)).accept())
                .rule(Rule.in(Family.IP, "fw").protocol(Match.Protocol.UDP).accept())
                .rule(Rule.in(Family.IP, "fw").dport(Match.Protocol.TCP, 1, 1024).accept())
                .element(org.netvm.dataplane.SetRef.of(Family.INET, "allowed"),
                        org.netvm.dataplane.SetElement.of("vif1.0", "10.137.0.3"))
                .build();
        return Plan.merge(PolicyRules.contribution(new PolicyRules.Options(true, true)), extra);
    }

    static BackendControl.DryRun dryRun(String backend, OwnedState expected, OwnedState actual) {
        return new BackendControl.DryRun(plan(), 2, Map.of(), backend, backend, true, expected, actual, null);
    }

    static PacketFilterBackend nftables() throws ReflectiveOperationException {
        return HotSwapKernelTest.backend("org.netvm.backend.nftables.internal", "NftablesBackend", "nft", "", "netvm");
    }

    static PacketFilterBackend iptables() throws ReflectiveOperationException {
        return HotSwapKernelTest.backend("org.netvm.backend.iptables.internal", "IptablesBackend", "", "NETVM-", "nft");
    }

    @Test
    void nftablesPlanShownWithNamesAndNumericAsCompared() throws Exception {
        OwnedState expected = nftables().expected(plan());
        BackendControl.DryRun d = dryRun("nftables", expected, expected);
        assertEquals(read("plan-nftables-symbolic.txt"), PlanCommand.render(d, false));
        String numeric = PlanCommand.render(d, true);
        assertEquals(read("plan-nftables-numeric.txt"), numeric);
        expected.rules().values().forEach(list -> list.forEach(r -> assertTrue(numeric.contains("    " + r + "\n"), r)));
    }

    @Test
    void iptablesPlanShownWithNames() throws Exception {
        OwnedState expected = iptables().expected(plan());
        assertEquals(read("plan-iptables-symbolic.txt"), PlanCommand.render(dryRun("iptables", expected, expected), false));
        assertEquals(read("plan-iptables-numeric.txt"), PlanCommand.render(dryRun("iptables", expected, expected), true));
    }

    /** The diff is made in the canonical form: a rule that reads the same once named still differs. */
    @Test
    void namesNeverChangeWhatDiffers() throws Exception {
        OwnedState expected = nftables().expected(plan());
        TreeMap<String, List<String>> rules = new TreeMap<>(expected.rules());
        List<String> input = new ArrayList<>(rules.get("inet netvm/input"));
        int i = input.indexOf("ct state 0x2,0x4 accept");
        input.set(i, "ct state established,related accept"); // as a read-back in another form would show it
        rules.put("inet netvm/input", input);
        OwnedState actual = new OwnedState(expected.chains(), rules, expected.sets(), expected.elements());
        BackendControl.DryRun d = dryRun("nftables", expected, actual);

        assertFalse(PlanCommand.kernelHoldsPlan(d));
        String symbolic = PlanCommand.render(d, false);
        String numeric = PlanCommand.render(d, true);
        assertTrue(symbolic.endsWith("# the kernel differs (2; - missing, + unexpected):\n"
                + "- rule inet netvm/input: ct state established,related accept\n"
                + "+ rule inet netvm/input: ct state established,related accept\n"
                + "# some lines differ only in their numeric form: netvm plan --numeric shows it\n"), symbolic);
        assertTrue(numeric.endsWith("# the kernel differs (2; - missing, + unexpected):\n"
                + "- rule inet netvm/input: ct state 0x2,0x4 accept\n"
                + "+ rule inet netvm/input: ct state established,related accept\n"), numeric);
        String json = PlanJson.render(d, false);
        assertTrue(json.contains("\"inSync\": false") && json.contains("\"numeric\": false")
                && json.contains("\"- rule inet netvm/input: ct state established,related accept\""), json);
        String jsonNumeric = PlanJson.render(d, true);
        assertTrue(jsonNumeric.contains("\"inSync\": false") && jsonNumeric.contains("\"numeric\": true")
                && jsonNumeric.contains("\"- rule inet netvm/input: ct state 0x2,0x4 accept\""), jsonNumeric);
    }
}
