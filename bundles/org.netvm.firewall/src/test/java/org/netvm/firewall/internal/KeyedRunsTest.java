package org.netvm.firewall.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.netvm.dataplane.ChainRef;
import org.netvm.dataplane.Contribution;
import org.netvm.dataplane.IpAddress;
import org.netvm.dataplane.Match.Protocol;
import org.netvm.dataplane.Plan;
import org.netvm.dataplane.Rule;
import org.netvm.policy.BasePolicy;

/**
 * Property: a guest chain planned with key sets ({@link KeyedRuns}) accepts and rejects exactly the packets
 * the same rules one by one ({@link FirewallPlanner#plainRules}) do, judged by the pure evaluator
 * {@link Flow#allowedBy} on random rule lists (overlapping prefixes, ports and protocols on purpose) and
 * random packets.
 */
class KeyedRunsTest {
    private static final IpAddress V4 = IpAddress.of("10.137.0.7");
    private static final IpAddress V6 = IpAddress.of("fd09:24ef::7");
    private static final IpAddress V6B = IpAddress.of("fd09:24ef::8");
    private static final List<IpAddress> DNS = List.of(IpAddress.of("10.139.1.1"), IpAddress.of("fd00::53"));
    private static final List<List<IpAddress>> DNS_CHOICES = List.of(DNS, List.of(), List.of(IpAddress.of("10.139.1.1")));
    private static final String[] DST = {"", "", "", " dst4=10.0.0.0/8", " dst4=10.1.0.0/16", " dst4=10.1.2.3",
        " dst4=192.168.0.0/24", " dst6=2001:db8::/32", " dst6=2001:db8::1", " dsthost=h.example"};
    private static final String[] PORTS = {"", "", " dstports=80", " dstports=80-90", " dstports=85",
        " dstports=443", " dstports=1-65535", " dstports=53"};
    private static final String[] TARGETS = {"10.1.2.3", "10.1.2.4", "10.2.0.1", "192.168.0.5", "8.8.8.8",
        "10.139.1.1", "2001:db8::1", "2001:db8::2", "2001:db9::1", "fd00::53", "93.184.216.34"};
    private static final int[] DPORTS = {1, 53, 79, 80, 85, 90, 91, 443, 1000, 65535};

    @Test
    void mergedChainDecidesLikeTheRulesOneByOne() throws Exception {
        Random random = new Random(10);
        int merged = 0;
        for (int i = 0; i < 800; i++) {
            FirewallPlanner.Input in = new FirewallPlanner.Input(7, randomRules(random),
                    Map.of("h.example", List.of(IpAddress.of("93.184.216.34"), IpAddress.of("2001:db8::1"))), 0,
                    random.nextInt(4) == 0 ? List.of(V4) : List.of(V4, V6, V6B));
            Contribution withSets = FirewallPlanner.plan(in);
            Contribution dns = FirewallPlanner.dns(DNS_CHOICES.get(random.nextInt(DNS_CHOICES.size())));
            Plan.merge(withSets); // declarations, key fit, no overlapping elements
            Plan.merge(withSets, dns); // the DNS sets declared alike
            List<Rule> plain = FirewallPlanner.plainRules(in);
            ChainRef chain = plain.getFirst().chain();
            Contribution oneByOne = Contribution.builder("plain").chain(withSets.chains().getFirst()).rules(plain)
                    .build();
            assertTrue(withSets.rules().size() <= plain.size(), "never more rules than one by one");
            merged += withSets.sets().isEmpty() ? 0 : 1;
            for (int p = 0; p < 60; p++) {
                Flow f = randomFlow(random, in.addresses());
                assertEquals(f.allowedBy(chain, oneByOne, dns), f.allowedBy(chain, withSets, dns),
                        () -> f + "\nplain: " + plain + "\nmerged: " + withSets);
            }
        }
        assertTrue(merged > 400, "most random rule lists have a run to merge: " + merged);
    }

    @Test
    void aRunOfOneRuleStaysARule() throws Exception {
        Map<String, String> m = new HashMap<>(Map.of("policy", "drop", "0000", "action=accept proto=tcp dstports=80",
                "0001", "action=accept proto=icmp icmptype=8"));
        Contribution c = FirewallPlanner.plan(new FirewallPlanner.Input(3, RuleParser.parse(m), Map.of(), 0,
                List.of(V4, V6)));
        assertEquals(List.of(), c.sets(), "tcp/80 of both families: 2 lookups would not save a rule");
        assertEquals(BasePolicy.FAMILY, c.chains().getFirst().family());
    }

    private static GuestRules randomRules(Random random) throws RuleError {
        Map<String, String> m = new HashMap<>(Map.of("policy", random.nextBoolean() ? "drop" : "accept"));
        int n = 1 + random.nextInt(24);
        List<String> rules = new ArrayList<>();
        while (rules.size() < n) {
            String r = randomRule(random);
            try {
                RuleParser.parse(Map.of("policy", "drop", "0000", r));
                rules.add(r);
            } catch (RuleError e) {
                // a combination Qubes refuses: draw again
            }
        }
        for (int i = 0; i < rules.size(); i++) {
            m.put(String.format("%04d", i), rules.get(i));
        }
        return RuleParser.parse(m);
    }

    private static String randomRule(Random random) {
        StringBuilder b = new StringBuilder(random.nextInt(3) == 0 ? "action=drop" : "action=accept");
        int kind = random.nextInt(10);
        if (kind == 0) {
            return b.append(" proto=icmp").append(random.nextBoolean() ? " icmptype=8" : "")
                    .append(random.nextBoolean() ? DST[random.nextInt(DST.length)] : "").toString();
        }
        if (kind == 1) {
            return b.append(" specialtarget=dns").append(random.nextBoolean() ? " proto=udp" : "").toString();
        }
        String proto = switch (random.nextInt(4)) {
            case 0 -> "";
            case 1 -> " proto=udp";
            default -> " proto=tcp";
        };
        return b.append(proto).append(DST[random.nextInt(DST.length)]).append(PORTS[random.nextInt(PORTS.length)])
                .toString();
    }

    /** A packet from one of the guest's addresses (the dispatch sends no other to its chain). */
    private static Flow randomFlow(Random random, List<IpAddress> sources) {
        IpAddress dst;
        List<IpAddress> from;
        do {
            IpAddress d = IpAddress.of(TARGETS[random.nextInt(TARGETS.length)]);
            dst = d;
            from = sources.stream().filter(s -> s.version() == d.version()).toList();
        } while (from.isEmpty());
        Protocol p = switch (random.nextInt(3)) {
            case 0 -> Protocol.TCP;
            case 1 -> Protocol.UDP;
            default -> dst.version() == 4 ? Protocol.ICMP : Protocol.ICMPV6;
        };
        boolean ports = p == Protocol.TCP || p == Protocol.UDP;
        IpAddress src = from.get(random.nextInt(from.size()));
        return new Flow(p, src, dst, dst, ports ? DPORTS[random.nextInt(DPORTS.length)] : 0,
                ports ? -1 : random.nextBoolean() ? 8 : 0);
    }
}
