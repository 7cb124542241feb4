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

    /**
     * Fed only the changes ({@link IncrementalMerge#update(java.util.Map, Set)}), an instance gives what one fed
     * all contributions gives; the owners it names as changed are all whose merged contribution changed;
     * each set's recorded element change is the difference of the two sets, and a plan that is not the very
     * one a set was derived from gets none (the full comparison then).
     */
    @Test
    void changesOnlyGiveTheSameMergeAndTheElementChangesAreTheSetsDifference() {
        Random rnd = new Random(20261207L);
        IncrementalMerge byAll = new IncrementalMerge();
        IncrementalMerge byChanges = new IncrementalMerge();
        TreeMap<String, Contribution> all = new TreeMap<>();
        Set<String> established = Set.of();
        Plan previous = Plan.EMPTY;
        java.util.SortedMap<String, Contribution> previousMerged = new TreeMap<>();
        int recorded = 0;
        for (int step = 0; step < 800; step++) {
            java.util.Map<String, Contribution> changes = new java.util.HashMap<>();
            int n = step == 0 ? 60 : 1 + (rnd.nextInt(10) == 0 ? rnd.nextInt(4) : 0);
            for (int i = 0; i < n; i++) {
                String owner = step == 0 ? "guest/" + i : rnd.nextInt(20) == 0 ? "o/" + rnd.nextInt(3) : "guest/" + rnd.nextInt(70);
                Contribution c = switch (rnd.nextInt(8)) {
                    case 0 -> null;
                    case 1 -> owner.startsWith("o/") ? random(rnd, owner) : null;
                    case 2 -> all.get(owner); // the same again (or still none)
                    default -> owner.startsWith("o/") ? random(rnd, owner) : Contribution.builder(owner)
                            .element(V4, SetElement.of("10.3." + rnd.nextInt(3) + "." + rnd.nextInt(250))).build();
                };
                if (step % 50 == 0 && i == 0) {
                    owner = "base";
                    c = rnd.nextInt(4) == 0 ? null : base();
                }
                changes.put(owner, c);
                if (c == null) {
                    all.remove(owner);
                } else {
                    all.put(owner, c);
                }
            }
            Plan.Merge want = byAll.update(new ArrayList<>(all.values()), established);
            Plan.Merge got = byChanges.update(changes, established);
            String where = "step " + step;
            assertEquals(want.plan(), got.plan(), where);
            assertEquals(want.merged(), got.merged(), where);
            assertEquals(want.leftOut(), got.leftOut(), where);
            Set<String> named = byChanges.changedOwners();
            if (named != null) {
                Set<String> owners = new java.util.TreeSet<>(previousMerged.keySet());
                owners.addAll(got.merged().keySet());
                for (String o : owners) {
                    if (!java.util.Objects.equals(previousMerged.get(o), got.merged().get(o))) {
                        assertTrue(named.contains(o), where + ": " + o + " changed but is not named");
                    }
                }
            }
            for (SetRef ref : List.of(V4)) {
                Plan.ElementChange change = got.plan().elementChange(ref, previous);
                if (change != null) {
                    recorded++;
                    java.util.TreeSet<SetElement> added = new java.util.TreeSet<>(got.plan().elements(ref));
                    added.removeAll(previous.elements(ref));
                    java.util.TreeSet<SetElement> removed = new java.util.TreeSet<>(previous.elements(ref));
                    removed.removeAll(got.plan().elements(ref));
                    assertEquals(List.copyOf(added), change.added(), where);
                    assertEquals(List.copyOf(removed), change.removed(), where);
                }
                Plan copy = new Plan(previous.chains(), previous.sets(), previous.rules(), previous.elements());
                if (!previous.elements(ref).isEmpty() && got.plan().elements(ref) != previous.elements(ref)) {
                    assertEquals(null, got.plan().elementChange(ref, copy), where + ": not the very base set");
                }
            }
            established = got.merged().keySet();
            previous = got.plan();
            previousMerged = got.merged();
        }
        assertTrue(recorded > 300, "the element changes were mostly recorded: " + recorded);
    }

    /**
     * A set derived from derived sets, many deep, answers lookups before it is ever iterated, then iterates
     * in order; each plan's set stays what it was when later ones are derived from it.
     */
    @Test
    void aLongChainOfDerivedSetsAnswersLookupsAndIteratesExactly() {
        Random rnd = new Random(20261208L);
        IncrementalMerge inc = new IncrementalMerge();
        TreeMap<String, Contribution> all = new TreeMap<>();
        all.put("base", base());
        for (int g = 0; g < 100; g++) {
            all.put("guest/" + g, Contribution.builder("guest/" + g).element(V4, SetElement.of("10.4.0." + g)).build());
        }
        inc.update(new ArrayList<>(all.values()), Set.of());
        List<Plan> plans = new ArrayList<>();
        List<java.util.TreeSet<SetElement>> wants = new ArrayList<>();
        for (int step = 0; step < 3 * DerivedElements.MAX_DEPTH + 5; step++) {
            String owner = "guest/" + rnd.nextInt(120);
            java.util.Map<String, Contribution> change = new java.util.HashMap<>();
            change.put(owner, rnd.nextInt(3) == 0 ? null
                    : Contribution.builder(owner).element(V4, SetElement.of("10.4.1." + rnd.nextInt(200))).build());
            if (change.get(owner) == null) {
                all.remove(owner);
            } else {
                all.put(owner, change.get(owner));
            }
            Plan p = inc.update(change, Set.of()).plan();
            java.util.TreeSet<SetElement> want = new java.util.TreeSet<>(Plan.merge(all.values()).elements(V4));
            java.util.SortedSet<SetElement> got = p.elements(V4);
            assertEquals(want.size(), got.size(), "step " + step);
            for (int i = 0; i < 250; i++) { // lookups first, while it is not built
                SetElement probe = SetElement.of("10.4." + rnd.nextInt(2) + "." + rnd.nextInt(250));
                assertEquals(want.contains(probe), got.contains(probe), "step " + step + " " + probe);
            }
            plans.add(p);
            wants.add(want);
        }
        for (int i = plans.size() - 1; i >= 0; i--) { // the newest first: the older ones are built after it
            assertEquals(List.copyOf(wants.get(i)), List.copyOf(plans.get(i).elements(V4)), "plan " + i);
            assertEquals(wants.get(i).first(), plans.get(i).elements(V4).first());
            assertEquals(wants.get(i).last(), plans.get(i).elements(V4).last());
            assertEquals(wants.get(i), plans.get(i).elements(V4));
            assertEquals(wants.get(i).hashCode(), plans.get(i).elements(V4).hashCode());
        }
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
