package org.netvm.dataplane;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

class MergeTest {
    static final ChainRef INPUT = ChainRef.of(Family.INET, "input");
    static final SetRef ALLOWED = SetRef.of(Family.INET, "allowed");
    static final Chain INPUT_CHAIN = Chain.filter(Family.INET, "input", Hook.INPUT, Priority.FILTER, Policy.DROP);

    static Contribution base() {
        return Contribution.builder("base").priority(0)
                .chain(INPUT_CHAIN)
                .set(NamedSet.of(Family.INET, "allowed", SetType.IFNAME_IPV4_ADDR))
                .rule(Rule.in(INPUT).ct(Match.CtState.INVALID).drop())
                .rule(Rule.in(INPUT).ct(Match.CtState.ESTABLISHED, Match.CtState.RELATED).accept())
                .rule(Rule.in(INPUT).order(Rule.LAST).iifname("vif*").reject(Verdict.RejectType.HOST_PROHIBITED))
                .build();
    }

    static Contribution ssh() {
        return Contribution.builder("ssh").priority(10)
                .rule(Rule.in(INPUT).dport(Match.Protocol.TCP, 22).accept()).build();
    }

    static Contribution early() {
        return Contribution.builder("early").priority(50)
                .rule(Rule.in(INPUT).order(Rule.FIRST).iifname("lo").accept()).build();
    }

    static Contribution guest(String vif, String ip) {
        return Contribution.builder("vif/" + vif).element(ALLOWED, SetElement.of(vif, ip)).build();
    }

    @Test
    void ordersRulesByOrderThenPriorityThenOwnerThenPosition() {
        Plan plan = Plan.merge(ssh(), base(), early());
        List<String> verdicts = plan.rules(INPUT).stream().map(r -> r.matches().get(0).toString()).toList();
        assertEquals(List.of(
                Match.iifname("lo").toString(),
                Match.ct(Match.CtState.INVALID).toString(),
                Match.ct(Match.CtState.ESTABLISHED, Match.CtState.RELATED).toString(),
                Match.dport(Match.Protocol.TCP, 22).toString(),
                Match.iifname("vif*").toString()), verdicts);
    }

    @Test
    void sameResultWhateverTheArrivalOrder() {
        List<Contribution> all = new ArrayList<>(List.of(base(), ssh(), early(), guest("vif3.0", "10.137.0.5"),
                guest("vif4.0", "10.137.0.6"), Contribution.builder("ssh2").priority(10)
                        .rule(Rule.in(INPUT).dport(Match.Protocol.TCP, 2222).accept()).build()));
        Plan first = Plan.merge(all);
        for (int i = 0; i < 20; i++) {
            Collections.shuffle(all, new java.util.Random(i));
            assertEquals(first, Plan.merge(all));
        }
        // equal priority: owner id decides (ssh before ssh2)
        assertEquals(22, ((Match.Port) first.rules(INPUT).get(3).matches().get(0)).first());
        assertEquals(2222, ((Match.Port) first.rules(INPUT).get(4).matches().get(0)).first());
    }

    @Test
    void elementsAreUnitedAndSorted() {
        Plan plan = Plan.merge(base(), guest("vif4.0", "10.137.0.6"), guest("vif3.0", "10.137.0.5"));
        assertEquals(List.of(SetElement.of("vif3.0", "10.137.0.5"), SetElement.of("vif4.0", "10.137.0.6")),
                List.copyOf(plan.elements(ALLOWED)));
        assertTrue(plan.sameStructure(Plan.merge(base())));
        assertEquals(Plan.merge(base()), plan.withoutElements());
    }

    @Test
    void identicalDeclarationsMergeDifferentOnesConflict() {
        Contribution again = Contribution.builder("other").chain(INPUT_CHAIN).build();
        assertEquals(Plan.merge(base()), Plan.merge(base(), again));
        Contribution different = Contribution.builder("other")
                .chain(Chain.filter(Family.INET, "input", Hook.INPUT, Priority.FILTER, Policy.ACCEPT)).build();
        var e = assertThrows(IllegalArgumentException.class, () -> Plan.merge(base(), different));
        assertTrue(e.getMessage().contains("base") && e.getMessage().contains("other"), e.getMessage());
    }

    @Test
    void refusesDuplicateOwners() {
        assertThrows(IllegalArgumentException.class, () -> Plan.merge(ssh(), ssh()));
    }

    @Test
    void refusesDanglingReferences() {
        assertThrows(IllegalArgumentException.class, () -> Plan.merge(ssh()));                  // no chain
        assertThrows(IllegalArgumentException.class, () -> Plan.merge(guest("vif3.0", "10.0.0.1"))); // no set
        assertThrows(IllegalArgumentException.class, () -> Plan.merge(base(),
                Contribution.builder("x").rule(Rule.in(INPUT).jump("missing")).build()));
        assertThrows(IllegalArgumentException.class, () -> Plan.merge(base(),
                Contribution.builder("x").rule(Rule.in(INPUT).jump("input")).build())); // base chain
        assertThrows(IllegalArgumentException.class, () -> Plan.merge(base(),
                Contribution.builder("x").rule(Rule.in(INPUT).inSet(Match.SetKey.SOURCE_ADDRESS, "allowed")
                        .drop()).build())); // key does not fit type
        assertThrows(IllegalArgumentException.class, () -> Plan.merge(base(),
                Contribution.builder("x").element(ALLOWED, SetElement.of("10.0.0.1")).build()));
        assertThrows(IllegalArgumentException.class, () -> Plan.merge(base(),
                Contribution.builder("x").element(ALLOWED, SetElement.of("vif3.0", "fd00::1")).build()));
    }

    @Test
    void refusesAddressesOfTheWrongFamily() {
        Contribution nat = Contribution.builder("dns")
                .chain(Chain.nat(Family.IP, "dnat-dns", Hook.PREROUTING, Priority.DSTNAT)).build();
        ChainRef dns = ChainRef.of(Family.IP, "dnat-dns");
        assertThrows(IllegalArgumentException.class, () -> Plan.merge(nat,
                Contribution.builder("x").rule(Rule.in(dns).daddr("fd00::1").drop()).build()));
        assertThrows(IllegalArgumentException.class, () -> Plan.merge(nat,
                Contribution.builder("x").rule(Rule.in(dns).dnat("fd00::1")).build()));
        Plan ok = Plan.merge(nat, Contribution.builder("x").rule(Rule.in(dns).daddr("10.139.1.1")
                .dport(Match.Protocol.UDP, 53).dnat("9.9.9.9")).build());
        assertEquals(1, ok.rules(dns).size());
    }

    @Test
    void contributionsAreImmutable() {
        Contribution c = base();
        assertThrows(UnsupportedOperationException.class, () -> c.rules().clear());
        Plan p = Plan.merge(c);
        assertThrows(UnsupportedOperationException.class, () -> p.rules().clear());
    }

    @Test
    void refusesRulesMixingIpVersions() {
        var e = assertThrows(IllegalArgumentException.class, () -> Plan.merge(base(),
                Contribution.builder("x").rule(Rule.in(INPUT).saddr("10.0.0.0/8").daddr("fd00::1").drop()).build()));
        assertTrue(e.getMessage().contains("mixes IPv4 and IPv6"), e.getMessage());
    }

    @Test
    void dnatToAPortNeedsTcpOrUdp() {
        ChainRef dns = ChainRef.of(Family.IP, "dnat-dns");
        assertThrows(IllegalArgumentException.class, () -> Rule.in(dns).daddr("10.139.1.1").dnat("9.9.9.9", 53));
        assertEquals(53, ((Verdict.Dnat) Rule.in(dns).dport(Match.Protocol.UDP, 53).dnat("9.9.9.9", 53).verdict()).port());
    }

    @Test
    void mergeLeavingOutKeepsEverythingThatFits() {
        Plan.Merge m = Plan.mergeLeavingOut(List.of(base(), ssh(), guest("vif3.0", "10.137.0.5")), java.util.Set.of());
        assertEquals(Plan.merge(base(), ssh(), guest("vif3.0", "10.137.0.5")), m.plan());
        assertEquals(java.util.Set.of("base", "ssh", "vif/vif3.0"), m.merged().keySet());
        assertTrue(m.leftOut().isEmpty());
    }

    @Test
    void aConflictLeavesOutTheNewcomerWholeNotTheEstablishedOne() {
        Contribution other = Contribution.builder("aaa-other")
                .chain(Chain.filter(Family.INET, "input", Hook.INPUT, Priority.FILTER, Policy.ACCEPT))
                .rule(Rule.in(INPUT).dport(Match.Protocol.TCP, 80).accept()).build();
        Plan.Merge m = Plan.mergeLeavingOut(List.of(other, base(), ssh()), java.util.Set.of("base", "ssh"));
        assertEquals(Plan.merge(base(), ssh()), m.plan(), "the established ones stay, though aaa-other sorts first");
        assertEquals(java.util.Set.of("aaa-other"), m.leftOut().keySet());
        assertTrue(m.leftOut().get("aaa-other").contains("declared differently"), m.leftOut().toString());

        Plan.Merge fresh = Plan.mergeLeavingOut(List.of(other, base(), ssh()), java.util.Set.of());
        assertEquals(java.util.Set.of("aaa-other", "ssh"), fresh.merged().keySet(), "nothing established: by owner id");
        assertEquals(java.util.Set.of("base"), fresh.leftOut().keySet());
    }

    @Test
    void aContributionNeedingALaterDeclarationIsTakenInALaterRound() {
        Contribution rules = Contribution.builder("aaa-rules").rule(Rule.in(INPUT).dport(Match.Protocol.TCP, 22).accept())
                .build();
        Plan.Merge m = Plan.mergeLeavingOut(List.of(rules, base(), Contribution.builder("zzz").chain(
                Chain.filter(Family.INET, "input", Hook.INPUT, Priority.FILTER, Policy.ACCEPT)).build()),
                java.util.Set.of());
        assertTrue(m.merged().containsKey("aaa-rules"), "taken once base declared its chain");
        assertEquals(java.util.Set.of("zzz"), m.leftOut().keySet());
    }
}
