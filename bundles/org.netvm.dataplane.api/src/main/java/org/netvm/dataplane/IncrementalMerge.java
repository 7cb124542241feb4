package org.netvm.dataplane;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * {@link Plan#mergeLeavingOut} kept up to date one contribution at a time: it keeps the merged plan and
 * an index of which contribution declares which chain and set, which rules it placed where and which
 * elements it added. When a few contributions change, only their declarations, rules and elements are
 * replaced; the rule lists of untouched chains and the element sets of untouched sets are the very
 * objects of the previous plan, so a backend comparing the two plans finds the changed chains at once.
 *
 * <p>The result is always the one {@link Plan#mergeLeavingOut} gives for the same input: whenever the
 * incremental step meets anything but a conflict-free merge (a declaration conflict, a rule for an
 * undeclared chain, a previous merge that left contributions out, many changes at once), it falls back
 * to the full merge and rebuilds its index from it. Contributions are compared by identity first, then
 * by equality. Not thread-safe; one instance per reconciler.
 *
 * @since 1.2
 */
public final class IncrementalMerge {
    /** Above this many changed owners a full merge is as quick. */
    private static final int MAX_INCREMENTAL = 64;

    private record Placed(Rule rule, int priority, String owner, int index) {
    }

    private static final Comparator<Placed> ORDER = Comparator.comparingInt((Placed p) -> p.rule().order())
            .thenComparingInt(Placed::priority).thenComparing(Placed::owner).thenComparingInt(Placed::index);

    /** A chain or set declaration and how many contributions declare it. */
    private static final class Declared<T> {
        final T value;
        int count;

        Declared(T value) {
            this.value = value;
        }
    }

    private Plan.Merge last = new Plan.Merge(Plan.EMPTY, new TreeMap<>(), new TreeMap<>());
    private Map<String, Contribution> given = new HashMap<>();
    private boolean indexed = true; // the index below describes last (false after a merge that left some out)
    private final Map<ChainRef, Declared<Chain>> chains = new HashMap<>();
    private final Map<SetRef, Declared<NamedSet>> sets = new HashMap<>();
    private final Map<ChainRef, List<Placed>> placed = new HashMap<>();
    private final Map<SetRef, Map<SetElement, Integer>> elementCounts = new HashMap<>();
    /** Declarations an update removed and has not put back equal (during {@link #incremental} only). */
    private final Map<Object, Object> undeclared = new HashMap<>();
    private final TreeMap<ChainRef, List<Rule>> rules = new TreeMap<>();
    private final TreeMap<SetRef, SortedSet<SetElement>> elements = new TreeMap<>();
    private int fullMerges;

    /** The outcome of the last {@link #update}. */
    public Plan.Merge last() {
        return last;
    }

    /** How many updates needed the full merge (for tests and status). */
    public int fullMerges() {
        return fullMerges;
    }

    /**
     * The merge of {@code contributions} (distinct owners), as {@link Plan#mergeLeavingOut}{@code
     * (contributions, established)} returns it.
     */
    public Plan.Merge update(Collection<Contribution> contributions, Set<String> established) {
        Map<String, Contribution> now = new HashMap<>(contributions.size() * 2);
        for (Contribution c : contributions) {
            if (now.put(c.owner(), c) != null) {
                throw new IllegalArgumentException("two contributions of owner " + c.owner());
            }
        }
        List<Contribution> gone = new ArrayList<>();
        List<Contribution> added = new ArrayList<>();
        for (Contribution old : given.values()) {
            Contribution c = now.get(old.owner());
            if (c == null || c != old && !c.equals(old)) {
                gone.add(old);
            }
        }
        for (Contribution c : contributions) {
            Contribution old = given.get(c.owner());
            if (old == null || c != old && !c.equals(old)) {
                added.add(c);
            }
        }
        if (gone.isEmpty() && added.isEmpty()) {
            given = now;
            return last;
        }
        Plan.Merge m = indexed && gone.size() + added.size() <= MAX_INCREMENTAL ? incremental(gone, added, now) : null;
        if (m == null) {
            m = full(contributions, established);
        }
        given = now;
        last = m;
        return m;
    }

    private Plan.Merge full(Collection<Contribution> contributions, Set<String> established) {
        fullMerges++;
        Plan.Merge m = Plan.mergeLeavingOut(contributions, established);
        clearIndex();
        indexed = m.leftOut().isEmpty();
        if (indexed) {
            m.merged().values().forEach(this::add);
            // the plan's own lists and sets, so the next incremental plan shares what it does not touch
            rules.putAll(m.plan().rules());
            elements.putAll(m.plan().elements());
        }
        return m;
    }

    private void clearIndex() {
        chains.clear();
        sets.clear();
        placed.clear();
        elementCounts.clear();
        rules.clear();
        elements.clear();
    }

    /** Replaces {@code gone} by {@code added}; null when only the full merge can tell the outcome. */
    private Plan.Merge incremental(List<Contribution> gone, List<Contribution> added, Map<String, Contribution> now) {
        Set<ChainRef> touchedChains = new HashSet<>();
        Set<SetRef> touchedSets = new HashSet<>();
        undeclared.clear();
        gone.forEach(c -> remove(c, touchedChains, touchedSets));
        for (Contribution c : added) {
            if (!add(c)) {
                indexed = false; // half updated: the full merge rebuilds it
                return null;
            }
            c.rules().forEach(r -> touchedChains.add(r.chain()));
            touchedSets.addAll(c.elementSets());
        }
        for (ChainRef ref : touchedChains) {
            List<Placed> list = placed.get(ref);
            if (list == null || list.isEmpty()) {
                rules.remove(ref);
                placed.remove(ref);
            } else {
                list.sort(ORDER);
                List<Rule> ordered = new ArrayList<>(list.size());
                list.forEach(p -> ordered.add(p.rule()));
                if (!ordered.equals(rules.get(ref))) { // an equal list stays the same object
                    rules.put(ref, List.copyOf(ordered)); // the plan keeps this very list (no copy)
                }
            }
        }
        for (SetRef ref : touchedSets) {
            Map<SetElement, Integer> counts = elementCounts.get(ref);
            if (counts == null || counts.isEmpty()) {
                elements.remove(ref);
                elementCounts.remove(ref);
            } else {
                TreeSet<SetElement> fresh = new TreeSet<>(counts.keySet());
                if (!fresh.equals(elements.get(ref))) {
                    elements.put(ref, java.util.Collections.unmodifiableSortedSet(fresh));
                }
            }
        }
        // rules of untouched chains were checked against the same declarations (if none went away or
        // changed): the plan checks only the touched chains' rules
        java.util.function.Predicate<ChainRef> checked = undeclared.isEmpty() ? ref -> !touchedChains.contains(ref)
                : ref -> false;
        Plan plan;
        try {
            plan = ScopedValue.where(Plan.CHECKED, checked).call(() -> new Plan(
                    chains.values().stream().map(d -> d.value).toList(),
                    sets.values().stream().map(d -> d.value).toList(), rules, elements));
        } catch (IllegalArgumentException inconsistent) {
            indexed = false;
            return null;
        }
        return new Plan.Merge(plan, new TreeMap<>(now), new TreeMap<>());
    }

    /** Indexes {@code c}; false on a declaration conflict. */
    private boolean add(Contribution c) {
        for (Chain chain : c.chains()) {
            Declared<Chain> d = chains.computeIfAbsent(chain.ref(), k -> new Declared<>(chain));
            if (!d.value.equals(chain)) {
                return false;
            }
            d.count++;
            undeclared.remove(chain.ref(), chain);
        }
        for (NamedSet set : c.sets()) {
            Declared<NamedSet> d = sets.computeIfAbsent(set.ref(), k -> new Declared<>(set));
            if (!d.value.equals(set)) {
                return false;
            }
            d.count++;
            undeclared.remove(set.ref(), set);
        }
        List<Rule> rs = c.rules();
        for (int i = 0; i < rs.size(); i++) {
            placed.computeIfAbsent(rs.get(i).chain(), k -> new ArrayList<>())
                    .add(new Placed(rs.get(i), c.priority(), c.owner(), i));
        }
        c.elements().forEach((ref, els) -> {
            Map<SetElement, Integer> counts = elementCounts.computeIfAbsent(ref, k -> new HashMap<>());
            els.forEach(e -> counts.merge(e, 1, Integer::sum));
        });
        return true;
    }

    private void remove(Contribution c, Set<ChainRef> touchedChains, Set<SetRef> touchedSets) {
        for (Chain chain : c.chains()) {
            Declared<Chain> d = chains.get(chain.ref());
            if (--d.count == 0) {
                chains.remove(chain.ref());
                undeclared.put(chain.ref(), chain);
            }
        }
        for (NamedSet set : c.sets()) {
            Declared<NamedSet> d = sets.get(set.ref());
            if (--d.count == 0) {
                sets.remove(set.ref());
                undeclared.put(set.ref(), set);
            }
        }
        Set<ChainRef> into = new HashSet<>();
        c.rules().forEach(r -> into.add(r.chain()));
        for (ChainRef ref : into) {
            placed.get(ref).removeIf(p -> p.owner().equals(c.owner()));
        }
        touchedChains.addAll(into);
        c.elements().forEach((ref, els) -> {
            touchedSets.add(ref);
            Map<SetElement, Integer> counts = elementCounts.get(ref);
            els.forEach(e -> counts.computeIfPresent(e, (k, n) -> n == 1 ? null : n - 1));
        });
    }
}
