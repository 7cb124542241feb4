package org.netvm.firewall.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.netvm.dataplane.Contribution;
import org.netvm.dataplane.IpAddress;
import org.netvm.dataplane.Match;
import org.netvm.dataplane.Plan;
import org.netvm.dataplane.Rule;
import org.netvm.dataplane.Verdict;
import org.netvm.policy.internal.PolicyRules;

class FirewallDispatchTest {

    /** Guest d has 10.137.(d/200).(10 + d%200) (as the e2e topology), and every 7th an IPv6 address too. */
    private static Map<Integer, List<IpAddress>> guests(int n) {
        Map<Integer, List<IpAddress>> out = new HashMap<>();
        for (int d = 1; d <= n; d++) {
            List<IpAddress> a = new ArrayList<>(List.of(IpAddress.of("10.137." + d / 200 + "." + (10 + d % 200))));
            if (d % 7 == 0) {
                a.add(IpAddress.of("fd09:24ef:4179::a89:" + Integer.toHexString(d)));
            }
            out.put(d, a);
        }
        return out;
    }

    /** Follows the dispatch for {@code a}: the guest chain it ends in, and how many rules were looked at. */
    private static String[] walk(Contribution c, IpAddress a) {
        String chain = FirewallDispatch.ROOT;
        int looked = 0;
        while (true) {
            String at = chain;
            String next = null;
            for (Rule r : c.rules().stream().filter(r -> r.chain().name().equals(at)).toList()) {
                looked++;
                Match.Address m = (Match.Address) r.matches().getFirst();
                if (m.prefix().version() == a.version() && Flow.contains(m.prefix(), a)) {
                    next = ((Verdict.Jump) r.verdict()).chain();
                    break;
                }
            }
            if (next == null || !next.startsWith(FirewallDispatch.ROOT)) {
                return new String[] {next, Integer.toString(looked)};
            }
            chain = next;
        }
    }

    @Test
    void everyAddressReachesItsGuestInFewRules() {
        Map<Integer, List<IpAddress>> guests = guests(1000);
        Contribution c = FirewallDispatch.plan(guests);
        int worst = 0;
        for (Map.Entry<Integer, List<IpAddress>> g : guests.entrySet()) {
            for (IpAddress a : g.getValue()) {
                String[] end = walk(c, a);
                assertEquals("fw-" + g.getKey(), end[0], a.toString());
                worst = Math.max(worst, Integer.parseInt(end[1]));
            }
        }
        assertTrue(worst <= 64, "worst case " + worst + " rules");
        assertEquals(null, walk(c, IpAddress.of("10.137.9.9"))[0], "unknown address: falls through");
        assertEquals(1, c.rules().stream().filter(r -> r.chain().equals(FirewallPlanner.FORWARD)).count());
    }

    @Test
    void mergesWithThePolicyAndTheGuestsChains() throws Exception {
        Map<Integer, List<IpAddress>> guests = guests(40);
        List<Contribution> all = new ArrayList<>(List.of(PolicyRules.contribution(PolicyRules.Options.DEFAULT),
                FirewallPlanner.closed(), FirewallDispatch.plan(guests)));
        guests.keySet().forEach(d -> all.add(FirewallPlanner.plan(new FirewallPlanner.Input(d, null, Map.of(), 0,
                guests.get(d)))));
        Plan.merge(all);
    }

    @Test
    void smallSetGolden() throws Exception {
        Map<Integer, List<IpAddress>> guests = guests(20);
        guests.put(3, List.of(IpAddress.of("10.137.0.13"), IpAddress.of("10.137.0.250")));
        FirewallPlannerTest.assertGolden("dispatch.txt", FirewallPlannerTest.dump(FirewallDispatch.plan(guests)));
    }
}
