package org.netvm.firewall.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.netvm.dataplane.Contribution;
import org.netvm.dataplane.IpAddress;
import org.netvm.dataplane.Match;
import org.netvm.dataplane.Plan;
import org.netvm.dataplane.Rule;
import org.netvm.dataplane.Verdict;
import org.netvm.policy.BasePolicy;

/**
 * The planned contributions, as nft-like text, compared with src/test/resources/golden/*.txt; regenerate
 * with {@code -Dgolden.update=true} and review the diff.
 */
class FirewallPlannerTest {
    private static final List<IpAddress> GUEST = List.of(IpAddress.of("10.137.0.5"), IpAddress.of("fd09:24ef::5"));
    private static final List<IpAddress> DNS = List.of(IpAddress.of("192.168.0.1"), IpAddress.of("9.9.9.9"));

    static void assertGolden(String name, String actual) throws IOException {
        Path file = Path.of("src/test/resources/golden", name);
        if (Boolean.getBoolean("golden.update")) {
            Files.writeString(file, actual);
        }
        assertEquals(Files.readString(file), actual, "golden file " + file);
    }

    private static GuestRules rules(String policy, String... rules) throws RuleError {
        java.util.HashMap<String, String> m = new java.util.HashMap<>(Map.of("policy", policy));
        for (int i = 0; i < rules.length; i++) {
            m.put(String.format("%04d", i), rules[i]);
        }
        return RuleParser.parse(m);
    }

    @Test
    void everyRuleKind() throws Exception {
        GuestRules g = rules("drop",
                "action=accept proto=tcp dst4=192.168.1.0/24 dstports=443",
                "action=accept dstports=8000-8080",
                "action=drop dst6=2001:db8::/32",
                "action=accept dsthost=example.com",
                "action=accept proto=icmp icmptype=8",
                "action=accept proto=icmp dst6=fd00::/8",
                "action=accept specialtarget=dns",
                "action=accept proto=udp specialtarget=dns dst4=9.9.9.0/24",
                "action=accept specialtarget=dns dstports=80",
                "action=accept proto=tcp dstports=22 expire=100",
                "action=accept proto=tcp dstports=23 expire=300");
        Contribution c = FirewallPlanner.plan(new FirewallPlanner.Input(3, g,
                Map.of("example.com", List.of(IpAddress.of("93.184.216.34"), IpAddress.of("2606:2800:220:1::1"))), 200, GUEST));
        assertGolden("every-rule-kind.txt", dump(c));
        assertEquals(300, FirewallPlanner.nextExpiry(g, 200));
        Plan.merge(org.netvm.policy.internal.PolicyRules.contribution(org.netvm.policy.internal.PolicyRules.Options.DEFAULT), c, FirewallPlanner.closed(),
                FirewallPlanner.dns(DNS)); // merges
    }

    @Test
    void blockedGuestRejectsEverything() throws IOException {
        Contribution c = FirewallPlanner.plan(new FirewallPlanner.Input(7, null, Map.of(), 0, GUEST));
        assertGolden("blocked.txt", dump(c));
    }

    @Test
    void policyAccept() throws Exception {
        Contribution c = FirewallPlanner.plan(new FirewallPlanner.Input(4, rules("accept", "action=drop proto=tcp dstports=25", "action=drop specialtarget=dns"),
                Map.of(), 0, GUEST));
        assertGolden("policy-accept.txt", dump(c));
    }

    @Test
    void theDnsServersAreTheElementsOfTheirOwnSets() throws IOException {
        assertGolden("dns.txt", dump(FirewallPlanner.dns(DNS)) + dump(FirewallPlanner.dns(List.of())));
        Contribution none = FirewallPlanner.plan(new FirewallPlanner.Input(5, null, Map.of(), 0, GUEST));
        assertEquals(List.of(), none.sets(), "a guest without a dns rule declares no DNS set");
    }

    @Test
    void aDnsChangeWithAThousandGuestsChangesTheDnsSetElementsOnly() throws Exception {
        List<Contribution> all = new java.util.ArrayList<>(List.of(
                org.netvm.policy.internal.PolicyRules.contribution(org.netvm.policy.internal.PolicyRules.Options.DEFAULT),
                FirewallPlanner.closed(), FirewallPlanner.dns(DNS)));
        Map<Integer, List<IpAddress>> addresses = new java.util.HashMap<>();
        for (int d = 1; d <= 1000; d++) {
            addresses.put(d, FirewallBenchmark.address(d));
            all.add(FirewallBenchmark.guest(d, 0)); // 20 rules, one of them specialtarget=dns
        }
        all.add(FirewallDispatch.plan(addresses));
        org.netvm.dataplane.IncrementalMerge merger = new org.netvm.dataplane.IncrementalMerge();
        Plan before = merger.update(all, java.util.Set.of()).plan();
        assertEquals(List.of(), merger.last().leftOut().keySet().stream().toList());

        all.set(2, FirewallPlanner.dns(List.of(IpAddress.of("192.168.0.2"), IpAddress.of("fd00::53"))));
        Plan after = merger.update(all, merger.last().merged().keySet()).plan();

        assertTrue(after.sameStructure(before), "no chain, set or rule changes");
        java.util.Set<org.netvm.dataplane.SetRef> changed = new java.util.HashSet<>(before.elements().keySet());
        changed.addAll(after.elements().keySet());
        changed.removeIf(ref -> before.elements(ref).equals(after.elements(ref)));
        assertEquals(java.util.Set.of(FirewallPlanner.DNS4.ref(), FirewallPlanner.DNS6.ref()), changed);
        assertEquals("[192.168.0.2]", after.elements(FirewallPlanner.DNS4.ref()).toString());
    }

    @Test
    void catchAllComesBeforeTheGenericVifAccept() throws IOException {
        assertGolden("closed.txt", dump(FirewallPlanner.closed()));
    }

    /** nft-like text of a contribution's chains and rules. */
    static String dump(Contribution c) {
        StringBuilder b = new StringBuilder("# owner ").append(c.owner()).append('\n');
        c.chains().forEach(ch -> b.append("chain ").append(ch.name()).append('\n'));
        c.sets().forEach(s -> b.append("set ").append(s.name()).append(" ").append(s.type().keyword()).append(" { ")
                .append(c.elements().getOrDefault(s.ref(), java.util.Collections.emptySortedSet()).stream()
                        .map(Object::toString).collect(Collectors.joining(", "))).append(" }\n"));
        for (Rule r : c.rules()) {
            b.append(r.chain().name()).append(" [").append(r.order()).append("] ")
                    .append(r.matches().stream().map(FirewallPlannerTest::match).collect(Collectors.joining(" ")))
                    .append(r.matches().isEmpty() ? "" : " ").append(r.counter() ? "counter " : "")
                    .append(verdict(r.verdict())).append('\n');
        }
        return b.toString();
    }

    private static String match(Match m) {
        String not = m instanceof Match.Address a && a.negated() || m instanceof Match.InterfaceGroup g && g.negated()
                ? "!= " : "";
        return switch (m) {
            case Match.Address a -> (a.prefix().version() == 4 ? "ip " : "ip6 ")
                    + (a.side() == Match.Side.SOURCE ? "saddr " : "daddr ") + not + a.prefix();
            case Match.InterfaceGroup g -> (g.direction() == Match.Direction.INPUT ? "iifgroup " : "oifgroup ")
                    + not + g.group();
            case Match.L4 l -> "meta l4proto " + l.protocol().keyword();
            case Match.Port p -> p.protocol().keyword() + " dport " + p.first()
                    + (p.first() == p.last() ? "" : "-" + p.last());
            case Match.IcmpType t -> t.protocol().keyword() + " type " + t.type();
            case Match.InSet s -> switch (s.key()) {
                case SOURCE_DESTINATION_PROTOCOL -> "saddr . daddr . l4proto";
                case SOURCE_DESTINATION_PROTOCOL_PORT -> "saddr . daddr . l4proto . dport";
                case DESTINATION_ADDRESS -> "daddr";
                default -> s.key().toString();
            } + " @" + s.set();
            default -> m.toString();
        };
    }

    private static String verdict(Verdict v) {
        return switch (v) {
            case Verdict.Accept a -> "accept";
            case Verdict.Reject r -> "reject " + r.type();
            case Verdict.Jump j -> "jump " + j.chain();
            default -> v.toString();
        };
    }
}
