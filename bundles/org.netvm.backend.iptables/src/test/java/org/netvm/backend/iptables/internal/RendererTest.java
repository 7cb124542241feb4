package org.netvm.backend.iptables.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.netvm.dataplane.BackendException;
import org.netvm.dataplane.Chain;
import org.netvm.dataplane.ChainRef;
import org.netvm.dataplane.Contribution;
import org.netvm.dataplane.Family;
import org.netvm.dataplane.Hook;
import org.netvm.dataplane.Match;
import org.netvm.dataplane.Match.Protocol;
import org.netvm.dataplane.NamedSet;
import org.netvm.dataplane.Plan;
import org.netvm.dataplane.Policy;
import org.netvm.dataplane.Priority;
import org.netvm.dataplane.Rule;
import org.netvm.dataplane.SetType;
import org.netvm.dataplane.Verdict.RejectType;

class RendererTest {
    private final IptRenderer renderer = new IptRenderer("NETVM-");

    private static final ChainRef IN = ChainRef.of(Family.INET, "in");
    private static final ChainRef SUB = ChainRef.of(Family.INET, "sub");

    private static Plan plan(Chain base, Rule... rules) {
        return Plan.merge(Contribution.builder("t").chain(base).chain(Chain.regular(Family.INET, "sub"))
                .set(NamedSet.of(Family.INET, "v6", SetType.IPV6_ADDR))
                .rules(List.of(rules)).build());
    }

    private static Chain input(Policy p) {
        return Chain.filter(Family.INET, "in", Hook.INPUT, Priority.FILTER, p);
    }

    private List<String> rules(Plan plan, int version, IptTable table, String chain) throws BackendException {
        return renderer.render(plan).table(new TableKey(version, table)).chains().get(chain);
    }

    @Test
    void matchesInIptablesSaveOrder() throws Exception {
        Plan p = plan(input(Policy.ACCEPT), Rule.in(IN).not(Match.iifname("vif*")).saddr("10.0.0.0/8")
                .match(new Match.Port(Protocol.TCP, Match.Side.DESTINATION, 8000, 8080, true))
                .not(Match.ct(Match.CtState.NEW, Match.CtState.INVALID)).oifgroup(7).sport(Protocol.TCP, 1).accept());
        assertEquals(List.of("-s 10.0.0.0/8 ! -i vif+ -p tcp -m tcp --sport 1 ! --dport 8000:8080 "
                + "-m conntrack ! --ctstate INVALID,NEW -m devgroup --dst-group 0x7 -j ACCEPT"),
                rules(p, 4, IptTable.FILTER, "NETVM-in"));
        assertEquals(List.of(), rules(p, 6, IptTable.FILTER, "NETVM-in"), "an IPv4 rule is not in ip6tables");
    }

    /** Qubes' IPv6-disabled rule (all IPv6 but loopback dropped): ::/0 goes to ip6tables as iptables-save prints it. */
    @Test
    void anyAddressOfOneVersionLimitsTheRuleToItAndPrintsNoAddress() throws Exception {
        Plan p = plan(input(Policy.ACCEPT), Rule.in(IN).not(Match.iifname("lo")).saddr("::/0").drop());
        assertEquals(List.of("! -i lo -j DROP"), rules(p, 6, IptTable.FILTER, "NETVM-in"));
        assertEquals(List.of(), rules(p, 4, IptTable.FILTER, "NETVM-in"), "IPv6 only");
    }

    @Test
    void familyNeutralRulesGoToBothVersionsAndSetsPickTheirs() throws Exception {
        Plan p = plan(input(Policy.ACCEPT), Rule.in(IN).iifname("eth0").accept(),
                Rule.in(IN).inSet(Match.SetKey.SOURCE_ADDRESS, "v6").reject(RejectType.PORT_UNREACHABLE));
        assertEquals(List.of("-i eth0 -j ACCEPT"), rules(p, 4, IptTable.FILTER, "NETVM-in"));
        assertEquals(List.of("-i eth0 -j ACCEPT",
                "-m set --match-set NETVM-v6.a6 src -j REJECT --reject-with icmp6-port-unreachable"),
                rules(p, 6, IptTable.FILTER, "NETVM-in"));
    }

    @Test
    void dropPolicyIsEmulatedAndCannotBeBypassedByReturnOrGoto() throws Exception {
        Plan p = plan(input(Policy.DROP), Rule.in(IN).iifname("a").returns(), Rule.in(IN).iifname("b").goTo("sub"),
                Rule.in(SUB).returns());
        assertEquals(List.of("-i a -j DROP", "-i b -j NETVM-sub", "-i b -j DROP", IptRenderer.POLICY_DROP),
                rules(p, 4, IptTable.FILTER, "NETVM-in"));
        assertEquals(List.of("-j RETURN"), rules(p, 4, IptTable.FILTER, "NETVM-sub"));
        Plan accept = plan(input(Policy.ACCEPT), Rule.in(IN).iifname("a").returns(), Rule.in(IN).goTo("sub"));
        assertEquals(List.of("-i a -j RETURN", "-g NETVM-sub"), rules(accept, 4, IptTable.FILTER, "NETVM-in"));
    }

    @Test
    void regularChainIsRenderedInEveryTableItIsReachedFrom() throws Exception {
        Plan p = Plan.merge(Contribution.builder("t")
                .chain(Chain.filter(Family.INET, "raw", Hook.PREROUTING, Priority.RAW, Policy.ACCEPT))
                .chain(input(Policy.ACCEPT)).chain(Chain.regular(Family.INET, "sub"))
                .rule(Rule.in(IN).jump("sub")).rule(Rule.in(Family.INET, "raw").jump("sub"))
                .rule(Rule.in(SUB).drop()).build());
        Snapshot s = renderer.render(p);
        assertEquals(List.of("-j DROP"), s.table(new TableKey(4, IptTable.RAW)).chains().get("NETVM-sub"));
        assertEquals(List.of("-j DROP"), s.table(new TableKey(6, IptTable.FILTER)).chains().get("NETVM-sub"));
        assertEquals(List.of("PREROUTING -m comment --comment netvm -j NETVM-raw"),
                s.table(new TableKey(4, IptTable.RAW)).hooks());
    }

    @Test
    void rejectTypesFollowTheNftablesMeaning() throws Exception {
        Plan ip = Plan.merge(Contribution.builder("t")
                .chain(Chain.filter(Family.IP, "in", Hook.INPUT, Priority.FILTER, Policy.ACCEPT))
                .rule(Rule.in(Family.IP, "in").reject(RejectType.HOST_PROHIBITED))
                .rule(Rule.in(Family.IP, "in").protocol(Protocol.TCP).reject(RejectType.TCP_RESET)).build());
        assertEquals(List.of("-j REJECT --reject-with icmp-host-prohibited", "-p tcp -j REJECT --reject-with tcp-reset"),
                rules(ip, 4, IptTable.FILTER, "NETVM-4-in"));
        Plan inet = plan(input(Policy.ACCEPT), Rule.in(IN).reject(RejectType.HOST_PROHIBITED));
        assertEquals(List.of("-j REJECT --reject-with icmp-admin-prohibited"), rules(inet, 4, IptTable.FILTER, "NETVM-in"));
        assertEquals(List.of("-j REJECT --reject-with icmp6-adm-prohibited"), rules(inet, 6, IptTable.FILTER, "NETVM-in"));
    }

    @Test
    void dnatToIpv6WithPortUsesBrackets() throws Exception {
        Plan p = Plan.merge(Contribution.builder("t")
                .chain(Chain.nat(Family.IP6, "pre", Hook.PREROUTING, Priority.DSTNAT))
                .rule(Rule.in(Family.IP6, "pre").dport(Protocol.UDP, 53).dnat("fd00::2", 5353)).build());
        assertEquals(List.of("-p udp -m udp --dport 53 -j DNAT --to-destination [fd00::2]:5353"),
                rules(p, 6, IptTable.NAT, "NETVM-6-pre"));
    }

    @Test
    void longNamesAreShortenedToFit() {
        String name = renderer.chainName(Family.IP6, "a-chain-name-of-thirty-one-chr");
        assertTrue(name.length() <= 28, name);
        assertTrue(name.startsWith("NETVM-6-a-chain"), name);
        String set = renderer.setName(NamedSet.of(Family.INET, "a-set-name-of-thirty-one-chars1", SetType.IPV4_ADDR));
        assertTrue(set.length() <= 31, set);
    }

    @Test
    void whatIptablesCannotExpressIsRefusedBeforeRunningAnything() {
        FakeRunner runner = new FakeRunner();
        IptablesBackend backend = new IptablesBackend(runner, "", "NETVM-", "nft");
        List<Plan> bad = List.of(
                plan(input(Policy.ACCEPT), Rule.in(IN).saddr("10.0.0.1").not(Match.saddr("10.0.0.2")).drop()),
                plan(input(Policy.ACCEPT), Rule.in(IN).iifname("vif*").not(Match.iifname("vif3.0")).drop()),
                plan(input(Policy.ACCEPT), Rule.in(IN).protocol(Protocol.UDP).dport(Protocol.TCP, 1).drop()),
                plan(Chain.filter(Family.INET, "in", Hook.PREROUTING, Priority.RAW, Policy.ACCEPT),
                        Rule.in(IN).reject(RejectType.PORT_UNREACHABLE)),
                plan(Chain.filter(Family.INET, "in", Hook.INPUT, Priority.of(10), Policy.ACCEPT)),
                plan(Chain.filter(Family.INET, "in", Hook.PREROUTING, Priority.FILTER, Policy.ACCEPT)),
                plan(input(Policy.ACCEPT), Rule.in(IN).masquerade()),
                plan(input(Policy.ACCEPT), Rule.in(IN).protocol(Protocol.ICMP).saddr("fd00::1").drop()));
        for (Plan p : bad) {
            BackendException e = assertThrows(BackendException.class, () -> backend.apply(p), p.rules().toString());
            assertTrue(e.getMessage().length() > 20, e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> backend.expected(p));
        }
        assertEquals(List.of(), runner.calls, "nothing was run");
    }
}
