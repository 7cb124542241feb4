package org.netvm.dataplane;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.function.Function;

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
 * <p>A little over 400 lines: the index, the incremental step and its fallbacks are one invariant (the index
 * describes the last plan), easier to check in one place than split.
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
    private final Map<ChainRef, Chain> chainByRef = new HashMap<>();
    private final Map<SetRef, NamedSet> setByRef = new HashMap<>();
    private final Map<ChainRef, List<Placed>> placed = new HashMap<>();
    private final Map<SetRef, Map<SetElement, Integer>> elementCounts = new HashMap<>();
    /** How many contributions name each set for elements (even none: the full merge refuses that for an undeclared set). */
    private final Map<SetRef, Integer> mentions = new HashMap<>();
    /** Declarations an update removed and has not put back equal (during {@link #incremental} only). */
    private final Map<Object, Object> undeclared = new HashMap<>();
    /** Declarations an update added that the last plan did not have (during {@link #incremental} only). */
    private final Map<Object, Object> declared = new HashMap<>();
    /**
     * Elements whose count went from or to zero, by set, with how often (during {@link #incremental} only): each
     * time the element came into the plan or went out of it, so an odd number means it changed.
     */
    private final Map<SetRef, Map<SetElement, Integer>> flipped = new HashMap<>();
    // the last plan's own structures: an update replaces only what it touches, the rest is shared
    private List<Chain> chainList = List.of();
    private List<NamedSet> setList = List.of();
    private SharedSortedMap<ChainRef, List<Rule>> rules = SharedSortedMap.empty();
    private SharedSortedMap<SetRef, SortedSet<SetElement>> elements = SharedSortedMap.empty();
    private SharedSortedMap<String, Contribution> merged = SharedSortedMap.empty();
    private int fullMerges;
    private Set<String> changedOwners = Set.of();

    /** The outcome of the last {@link #update}. */
    public Plan.Merge last() {
        return last;
    }

    /** How many updates needed the full merge (for tests and status). */
    public int fullMerges() {
        return fullMerges;
    }

    /**
     * The owners whose contribution the last {@link #update} added, replaced or took away, when that is all
     * that changed in {@link Plan.Merge#merged} (an incremental update, or none at all); null after a full
     * merge (it may also have taken in or left out others).
     *
     * @since 1.3
     */
    public Set<String> changedOwners() {
        return changedOwners;
    }

    /**
     * The merge of {@code contributions} (distinct owners), as {@link Plan#mergeLeavingOut}{@code
     * (contributions, established)} returns it.
     */
    public Plan.Merge update(Collection<Contribution> contributions, Set<String> established) {
        Map<String, Contribution> now = new HashMap<>(contributions.size() * 2);
        List<Contribution> added = new ArrayList<>();
        for (Contribution c : contributions) {
            if (now.put(c.owner(), c) != null) {
                throw new IllegalArgumentException("two contributions of owner " + c.owner());
            }
            Contribution old = given.get(c.owner());
            if (old == null || c != old && !c.equals(old)) {
                added.add(c);
            }
        }
        List<Contribution> gone = new ArrayList<>();
        if (!added.isEmpty() || now.size() != given.size()) {
            for (Contribution old : given.values()) {
                Contribution c = now.get(old.owner());
                if (c == null || c != old && !c.equals(old)) {
                    gone.add(old);
                }
            }
        }
        given = now;
        return update(gone, added, established);
    }

    /**
     * The merge of the contributions of the last {@link #update} with {@code changes} made to them: an owner
     * mapped to its contribution now, or to null for none (any other owner's stays as it was); the same as
     * {@link #update(Collection, Set)} with all of them, at a cost that grows with the change.
     *
     * @since 1.3
     */
    public Plan.Merge update(Map<String, Contribution> changes, Set<String> established) {
        List<Contribution> added = new ArrayList<>();
        List<Contribution> gone = new ArrayList<>();
        changes.forEach((owner, c) -> {
            if (c != null && !c.owner().equals(owner)) {
                throw new IllegalArgumentException("contribution of " + c.owner() + " given for owner " + owner);
            }
        });
        changes.forEach((owner, c) -> {
            Contribution old = c == null ? given.remove(owner) : given.put(owner, c);
            if (old != c && (old == null || c == null || !c.equals(old))) {
                if (old != null) {
                    gone.add(old);
                }
                if (c != null) {
                    added.add(c);
                }
            }
        });
        return update(gone, added, established);
    }

    /** Replaces {@code gone} by {@code added} ({@link #given} holds the outcome already). */
    private Plan.Merge update(List<Contribution> gone, List<Contribution> added, Set<String> established) {
        if (gone.isEmpty() && added.isEmpty()) {
            changedOwners = Set.of();
            return last;
        }
        Plan.Merge m = indexed && gone.size() + added.size() <= MAX_INCREMENTAL ? incremental(gone, added) : null;
        if (m == null) {
            m = full(given.values(), established);
            changedOwners = null;
        } else {
            Set<String> owners = new HashSet<>();
            gone.forEach(c -> owners.add(c.owner()));
            added.forEach(c -> owners.add(c.owner()));
            changedOwners = Collections.unmodifiableSet(owners);
        }
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
            chainList = m.plan().chains();
            setList = m.plan().sets();
            rules = SharedSortedMap.copyOf(m.plan().rules());
            elements = SharedSortedMap.copyOf(m.plan().elements());
            merged = SharedSortedMap.copyOf(m.merged());
        }
        undeclared.clear();
        declared.clear();
        flipped.clear();
        return m;
    }

    private void clearIndex() {
        chains.clear();
        sets.clear();
        chainByRef.clear();
        setByRef.clear();
        placed.clear();
        elementCounts.clear();
        mentions.clear();
        chainList = List.of();
        setList = List.of();
        rules = SharedSortedMap.empty();
        elements = SharedSortedMap.empty();
        merged = SharedSortedMap.empty();
    }

    /** Replaces {@code gone} by {@code added}; null when only the full merge can tell the outcome. */
    private Plan.Merge incremental(List<Contribution> gone, List<Contribution> added) {
        Set<ChainRef> touchedChains = new HashSet<>();
        Set<SetRef> touchedSets = new HashSet<>();
        undeclared.clear();
        declared.clear();
        flipped.clear();
        for (Contribution c : gone) {
            remove(c, touchedChains);
            merged = merged.without(c.owner());
        }
        for (Contribution c : added) {
            if (!add(c)) {
                indexed = false; // half updated: the full merge rebuilds it
                return null;
            }
            c.rules().forEach(r -> touchedChains.add(r.chain()));
            merged = merged.with(c.owner(), c);
        }
        if (elementsForUndeclaredSets(added)) {
            indexed = false;
            return null;
        }
        touchedChains.forEach(this::reorder);
        touchedSets.addAll(flipped.keySet());
        flipped.forEach(this::refill);
        if (!undeclared.isEmpty() || !declared.isEmpty()) {
            chainList = redeclared(chainList, Chain.class, Chain::ref);
            setList = redeclared(setList, NamedSet.class, NamedSet::ref);
        }
        // rules of untouched chains were checked against the same declarations (if none went away or
        // changed): the plan checks only the touched chains' rules and sets' elements
        boolean same = undeclared.isEmpty();
        Plan.Prebuilt prebuilt = new Plan.Prebuilt(chainByRef, setByRef, same ? touchedChains : null,
                same ? touchedSets : null);
        Plan plan;
        try {
            plan = ScopedValue.where(Plan.PREBUILT, prebuilt).call(() -> new Plan(chainList, setList, rules, elements));
        } catch (IllegalArgumentException inconsistent) {
            indexed = false;
            return null;
        }
        return new Plan.Merge(plan, merged, new TreeMap<>());
    }

    /** Whether a set an update added elements for, or took the declaration of, is named by one but declared by none. */
    private boolean elementsForUndeclaredSets(List<Contribution> added) {
        Set<SetRef> check = new HashSet<>();
        added.forEach(c -> check.addAll(c.elementSets()));
        undeclared.keySet().forEach(ref -> {
            if (ref instanceof SetRef s) {
                check.add(s);
            }
        });
        for (SetRef ref : check) {
            if (mentions.getOrDefault(ref, 0) > 0 && !setByRef.containsKey(ref)) {
                return true;
            }
        }
        return false;
    }

    /** Puts the rules of {@code ref} in merge order into the plan's map (the same list if equal). */
    private void reorder(ChainRef ref) {
        List<Placed> list = placed.get(ref);
        if (list == null || list.isEmpty()) {
            rules = rules.without(ref);
            placed.remove(ref);
            return;
        }
        list.sort(ORDER);
        List<Rule> ordered = new ArrayList<>(list.size());
        list.forEach(p -> ordered.add(p.rule()));
        if (!ordered.equals(rules.get(ref))) { // an equal list stays the same object
            rules = rules.with(ref, List.copyOf(ordered)); // the plan keeps this very list (no copy)
        }
    }

    /**
     * Puts the elements of {@code ref} into the plan's map: the last ones with those of {@code flips} that
     * flipped an odd number of times added (now counted) or removed (no longer) — the same set object if none
     * did — remembering what changed ({@link DerivedElements}). The last plan's set holds exactly the elements
     * counted before this update, so no lookup in it is needed.
     */
    private void refill(SetRef ref, Map<SetElement, Integer> flips) {
        Map<SetElement, Integer> counts = elementCounts.get(ref);
        if (counts == null || counts.isEmpty()) {
            elements = elements.without(ref);
            elementCounts.remove(ref);
            return;
        }
        List<SetElement> in = new ArrayList<>();
        List<SetElement> out = new ArrayList<>();
        flips.forEach((e, times) -> {
            if (times % 2 == 1) {
                (counts.containsKey(e) ? in : out).add(e);
            }
        });
        if (in.isEmpty() && out.isEmpty()) {
            return; // elements that went and came back: the same set
        }
        in.sort(null);
        out.sort(null);
        elements = elements.with(ref, new DerivedElements(elements.get(ref), in, out)); // not copied until iterated
    }

    /** {@code list} (sorted by ref) without the undeclared and with the newly declared of {@code type}. */
    private <T, R extends Comparable<R>> List<T> redeclared(List<T> list, Class<T> type, Function<T, R> ref) {
        List<T> out = new ArrayList<>(list);
        Comparator<T> order = Comparator.comparing(ref);
        for (Object x : undeclared.values()) {
            if (type.isInstance(x)) {
                int i = Collections.binarySearch(out, type.cast(x), order);
                out.remove(i);
            }
        }
        for (Object x : declared.values()) {
            if (type.isInstance(x)) {
                int i = Collections.binarySearch(out, type.cast(x), order);
                out.add(-i - 1, type.cast(x));
            }
        }
        return List.copyOf(out);
    }

    /** Indexes {@code c}; false on a declaration conflict. */
    private boolean add(Contribution c) {
        for (Chain chain : c.chains()) {
            if (!declare(chains, chainByRef, chain.ref(), chain)) {
                return false;
            }
        }
        for (NamedSet set : c.sets()) {
            if (!declare(sets, setByRef, set.ref(), set)) {
                return false;
            }
        }
        List<Rule> rs = c.rules();
        for (int i = 0; i < rs.size(); i++) {
            placed.computeIfAbsent(rs.get(i).chain(), k -> new ArrayList<>())
                    .add(new Placed(rs.get(i), c.priority(), c.owner(), i));
        }
        c.elements().forEach((ref, els) -> {
            mentions.merge(ref, 1, Integer::sum);
            Map<SetElement, Integer> counts = elementCounts.computeIfAbsent(ref, k -> new HashMap<>());
            els.forEach(e -> {
                if (counts.merge(e, 1, Integer::sum) == 1) {
                    flipped.computeIfAbsent(ref, k -> new HashMap<>()).merge(e, 1, Integer::sum);
                }
            });
        });
        return true;
    }

    /** Counts one more declaration of {@code ref}; false if it differs from the one in force. */
    private <R, T> boolean declare(Map<R, Declared<T>> counts, Map<R, T> byRef, R ref, T value) {
        Declared<T> d = counts.computeIfAbsent(ref, k -> new Declared<>(value));
        if (!d.value.equals(value)) {
            return false;
        }
        if (d.count++ == 0) {
            byRef.put(ref, value);
            if (!undeclared.remove(ref, value)) { // not merely put back as it was
                declared.put(ref, value);
            }
        }
        return true;
    }

    /** Takes one declaration of {@code ref} back. */
    private <R, T> void undeclare(Map<R, Declared<T>> counts, Map<R, T> byRef, R ref) {
        Declared<T> d = counts.get(ref);
        if (--d.count == 0) {
            counts.remove(ref);
            byRef.remove(ref);
            if (declared.remove(ref) == null) { // not one this update added
                undeclared.put(ref, d.value);
            }
        }
    }

    private void remove(Contribution c, Set<ChainRef> touchedChains) {
        c.chains().forEach(chain -> undeclare(chains, chainByRef, chain.ref()));
        c.sets().forEach(set -> undeclare(sets, setByRef, set.ref()));
        Set<ChainRef> into = new HashSet<>();
        c.rules().forEach(r -> into.add(r.chain()));
        for (ChainRef ref : into) {
            placed.get(ref).removeIf(p -> p.owner().equals(c.owner()));
        }
        touchedChains.addAll(into);
        c.elements().forEach((ref, els) -> {
            mentions.computeIfPresent(ref, (k, n) -> n == 1 ? null : n - 1);
            Map<SetElement, Integer> counts = elementCounts.get(ref);
            els.forEach(e -> {
                if (counts.computeIfPresent(e, (k, n) -> n == 1 ? null : n - 1) == null) {
                    flipped.computeIfAbsent(ref, k -> new HashMap<>()).merge(e, 1, Integer::sum);
                }
            });
        });
    }
}
