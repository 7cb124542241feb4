package org.netvm.dataplane;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** {@link IncrementalMerge} against the reference, {@link Plan#mergeLeavingOut}, on random change sequences. */
class IncrementalMergeTest {
    private static final Chain FORWARD = Chain.filter(Family.INET, "forward", Hook.FORWARD, Priority.FILTER,
            Policy.DROP);
    private static final SetRef V4 = SetRef.of(Family.INET, "v4");
    private static final List<String> CHAINS = List.of("forward", "a", "b", "c", "nowhere");

    /** Declares forward, a, b and the set v4: what the others build on. */
    private static Contribution base() {
        return Contribution.builder("base").chain(FORWARD).chain(Chain.regular(Family.INET, "a"))
                .chain(Chain.regular(Family.INET, "b")).set(NamedSet.of(Family.INET, "v4", SetType.IPV4_ADDR))
                .rule(Rule.in(Family.INET, "forward").order(Rule.LAST).drop()).build();
    }

    /** A random contribution: a few rules (sometimes into an undeclared chain), elements, declarations. */
    private static Contribution random(Random rnd, String owner) {
        Contribution.Builder b = Contribution.builder(owner).priority(rnd.nextInt(3));
        int kind = rnd.nextInt(10);
        if (kind == 0) {
            b.chain(Chain.regular(Family.INET, "c")); // declared by several, identically
        } else if (kind == 1) { // "c" declared differently: a conflict
            b.chain(Chain.filter(Family.INET, "c", Hook.INPUT, Priority.FILTER, Policy.ACCEPT));
        } else if (kind == 2) {
            b.chain(Chain.regular(Family.INET, "own-" + owner.replace('/', '-')));
            b.rule(Rule.in(Family.INET, "own-" + owner.replace('/', '-')).dport(Match.Protocol.TCP, 1 + rnd.nextInt(9))
                    .accept());
        }
        int n = rnd.nextInt(4);
        for (int i = 0; i < n; i++) {
            String chain = CHAINS.get(rnd.nextInt(kind == 3 ? CHAINS.size() : CHAINS.size() - 1));
            Rule.Builder r = Rule.in(Family.INET, chain).order(rnd.nextInt(3) - 1);
            if (rnd.nextInt(5) == 0) {
                b.rule(r.jump(rnd.nextBoolean() ? "a" : "c"));
            } else {
                b.rule(r.dport(Match.Protocol.UDP, 1 + rnd.nextInt(4)).accept());
            }
        }
        for (int i = rnd.nextInt(3); i > 0; i--) {
            b.element(V4, SetElement.of("10.0.0." + rnd.nextInt(6)));
        }
        return b.build();
    }

    @Test
    void randomChangeSequencesGiveTheFullMergesResult() {
        Random rnd = new Random(20261205L);
        for (int run = 0; run < 40; run++) {
            IncrementalMerge inc = new IncrementalMerge();
            TreeMap<String, Contribution> all = new TreeMap<>();
            if (run % 4 != 0) {
                all.put("base", base());
            }
            Set<String> established = Set.of();
            for (int step = 0; step < 60; step++) {
                int changes = 1 + (rnd.nextInt(8) == 0 ? rnd.nextInt(5) : 0);
                for (int i = 0; i < changes; i++) {
                    String owner = "o/" + rnd.nextInt(12);
                    switch (rnd.nextInt(6)) {
                        case 0 -> all.remove(owner);
                        case 1 -> all.put("base", base()); // equal, another instance: no change
                        default -> all.put(owner, random(rnd, owner));
                    }
                }
                List<Contribution> input = new ArrayList<>(all.values());
                java.util.Collections.shuffle(input, rnd);
                Plan.Merge want = Plan.mergeLeavingOut(input, established);
                Plan.Merge got = inc.update(input, established);
                String where = "run " + run + " step " + step;
                assertEquals(want.plan(), got.plan(), where);
                assertEquals(want.merged(), got.merged(), where);
                assertEquals(want.leftOut(), got.leftOut(), where);
                established = got.merged().keySet();
            }
        }
    }

    /** One instance through many successive updates: what it keeps between updates stays exact. */
    @Test
    void manySuccessiveUpdatesOfOneInstanceGiveTheFullMergesResult() {
        Random rnd = new Random(20261206L);
        IncrementalMerge inc = new IncrementalMerge();
        TreeMap<String, Contribution> all = new TreeMap<>();
        all.put("base", base());
        for (int g = 0; g < 80; g++) {
            all.put("guest/" + g, guest(g, 1));
        }
        Set<String> established = Set.of();
        for (int step = 0; step < 600; step++) {
            int g = rnd.nextInt(100);
            switch (rnd.nextInt(10)) {
                case 0 -> all.remove("guest/" + g);
                case 1 -> { // now and then a conflict or a rule for an undeclared chain: full merges until it goes
                    String owner = "o/" + rnd.nextInt(3);
                    all.put(owner, random(rnd, owner));
                }
                case 2, 7 -> all.remove("o/" + rnd.nextInt(3));
                case 3 -> all.put("base", base());
                case 4 -> { // a guest's elements only
                    all.put("guest/" + g, Contribution.builder("guest/" + g).chain(Chain.regular(Family.INET, "g" + g))
                            .element(V4, SetElement.of("10.2." + rnd.nextInt(4) + "." + rnd.nextInt(4))).build());
                }
                case 5 -> all.put("guest/" + g, Contribution.builder("guest/" + g).elements(V4, List.of()).build());
                default -> all.put("guest/" + g, guest(g, 1 + rnd.nextInt(3)));
            }
            if (step % 97 == 0) {
                all.remove("base");
            }
            List<Contribution> input = new ArrayList<>(all.values());
            java.util.Collections.shuffle(input, rnd);
            Plan.Merge want = Plan.mergeLeavingOut(input, established);
            Plan.Merge got = inc.update(input, established);
            String where = "step " + step;
            assertEquals(want.plan(), got.plan(), where);
            assertEquals(got.plan(), want.plan(), where);
            assertEquals(want.plan().hashCode(), got.plan().hashCode(), where);
            assertEquals(want.plan().chains(), got.plan().chains(), where);
            assertEquals(List.copyOf(want.plan().rules().entrySet()), List.copyOf(got.plan().rules().entrySet()), where);
            assertEquals(want.merged(), got.merged(), where);
            assertEquals(want.leftOut(), got.leftOut(), where);
            established = got.merged().keySet();
        }
        System.out.println("IncrementalMergeTest: 600 successive updates, " + inc.fullMerges() + " full merges");
        assertTrue(inc.fullMerges() < 600 / 2, "mostly incremental: " + inc.fullMerges() + " full merges");
    }

    @Test
    void oneGuestsChangeIsIncrementalAndSharesEveryOtherChainsRules() {
        List<Contribution> all = new ArrayList<>(List.of(base()));
        for (int g = 0; g < 50; g++) {
            all.add(guest(g, 1));
        }
        IncrementalMerge inc = new IncrementalMerge();
        Plan before = inc.update(all, Set.of()).plan();
        int full = inc.fullMerges();
        all.set(8, guest(7, 2));
        Plan after = inc.update(all, Set.of()).plan();
        assertEquals(full, inc.fullMerges(), "no full merge for one guest's change");
        assertEquals(Plan.merge(all), after);
        for (var e : after.rules().entrySet()) { // forward too: its content did not change
            if (!e.getKey().name().equals("g7")) {
                assertSame(before.rules(e.getKey()), e.getValue(), e.getKey().toString());
            }
        }
        assertTrue(inc.update(all, Set.of()) == inc.last(), "no change: the same outcome");
    }

    private static Contribution guest(int g, int port) {
        return Contribution.builder("guest/" + g).chain(Chain.regular(Family.INET, "g" + g))
                .rule(Rule.in(Family.INET, "g" + g).dport(Match.Protocol.TCP, port).accept())
                .rule(Rule.in(Family.INET, "forward").saddr("10.1.0." + g).jump("g" + g))
                .element(V4, SetElement.of("10.1.0." + g)).build();
    }
}
