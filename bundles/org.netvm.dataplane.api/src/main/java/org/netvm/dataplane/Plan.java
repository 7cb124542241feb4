package org.netvm.dataplane;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The merged, validated desired state a backend applies as one transaction.
 *
 * <p>Everything is in a deterministic order: chains and sets sorted by family then name, rules per
 * chain in merge order (see {@link #merge}), set elements sorted. Two plans built from equal
 * contributions are equal, whatever order the contributions came in.
 *
 * <p>The constructor checks consistency: every rule's chain is declared; {@code jump}/{@code goto}
 * targets are regular chains of the same family; set matches name a set of the chain's family whose
 * type fits the key; addresses and {@code dnat} targets fit the family; elements fit their set's type.
 * It does not check what only the kernel knows (e.g. {@code dnat} outside a nat chain): the backend
 * reports that as a {@link BackendException}.
 *
 * <p>Over 400 lines: the model's merge and its checks (full, and of what {@link IncrementalMerge} changed)
 * are the plan's one contract.
 *
 * @param chains   declared chains, sorted
 * @param sets     declared sets, sorted
 * @param rules    rules by chain (a chain without rules may be absent), chains sorted
 * @param elements elements by set (a set without elements may be absent), sorted
 */
public record Plan(List<Chain> chains, List<NamedSet> sets, SortedMap<ChainRef, List<Rule>> rules,
        SortedMap<SetRef, SortedSet<SetElement>> elements) {

    /**
     * What {@link IncrementalMerge} already knows when it builds a plan: its lists are sorted and immutable,
     * its maps are immutable {@link SharedSortedMap}s with immutable values, and only the rules of
     * {@code touchedChains} and the elements of {@code touchedSets} need a check (null: check all, as when a
     * declaration went away). Bound around the constructor call only.
     */
    record Prebuilt(Map<ChainRef, Chain> chainByRef, Map<SetRef, NamedSet> setByRef, Set<ChainRef> touchedChains,
            Set<SetRef> touchedSets) {
    }

    static final ScopedValue<Prebuilt> PREBUILT = ScopedValue.newInstance();

    /** Nothing at all: applying it leaves the backend's tables empty. */
    public static final Plan EMPTY = new Plan(List.of(), List.of(), new TreeMap<>(), new TreeMap<>());

    public Plan {
        Prebuilt prebuilt = PREBUILT.isBound() ? PREBUILT.get() : null;
        if (prebuilt != null) {
            checkPrebuilt(prebuilt, rules, elements);
        } else {
            chains = sorted(chains, Comparator.comparing(Chain::ref));
            sets = sorted(sets, Comparator.comparing(NamedSet::ref));
            Map<ChainRef, Chain> chainByRef = new HashMap<>();
            for (Chain c : chains) {
                if (chainByRef.put(c.ref(), c) != null) {
                    throw new IllegalArgumentException("chain " + c.ref() + " declared twice");
                }
            }
            Map<SetRef, NamedSet> setByRef = new HashMap<>();
            for (NamedSet s : sets) {
                if (setByRef.put(s.ref(), s) != null) {
                    throw new IllegalArgumentException("set " + s.ref() + " declared twice");
                }
            }
            rules = checkedRules(rules, chainByRef, setByRef);
            elements = checkedElements(elements, setByRef);
        }
    }

    private static SortedMap<ChainRef, List<Rule>> checkedRules(SortedMap<ChainRef, List<Rule>> rules,
            Map<ChainRef, Chain> chainByRef, Map<SetRef, NamedSet> setByRef) {
        TreeMap<ChainRef, List<Rule>> r = new TreeMap<>();
        for (Map.Entry<ChainRef, List<Rule>> e : Objects.requireNonNull(rules, "rules").entrySet()) {
            List<Rule> list = List.copyOf(e.getValue());
            checkRules(e.getKey(), list, chainByRef, setByRef);
            if (!list.isEmpty()) {
                r.put(e.getKey(), list);
            }
        }
        return Collections.unmodifiableSortedMap(r);
    }

    private static void checkRules(ChainRef ref, List<Rule> list, Map<ChainRef, Chain> chainByRef,
            Map<SetRef, NamedSet> setByRef) {
        if (!chainByRef.containsKey(ref)) {
            throw new IllegalArgumentException("rules for undeclared chain " + ref);
        }
        for (Rule rule : list) {
            if (!rule.chain().equals(ref)) {
                throw new IllegalArgumentException("rule for " + rule.chain() + " listed under " + ref);
            }
            check(rule, chainByRef, setByRef);
        }
    }

    private static SortedMap<SetRef, SortedSet<SetElement>> checkedElements(
            SortedMap<SetRef, SortedSet<SetElement>> elements, Map<SetRef, NamedSet> setByRef) {
        TreeMap<SetRef, SortedSet<SetElement>> el = new TreeMap<>();
        for (Map.Entry<SetRef, SortedSet<SetElement>> e : Objects.requireNonNull(elements, "elements").entrySet()) {
            TreeSet<SetElement> values = new TreeSet<>();
            values.addAll(e.getValue());
            checkElements(e.getKey(), values, setByRef);
            if (!values.isEmpty()) {
                el.put(e.getKey(), Collections.unmodifiableSortedSet(values));
            }
        }
        return Collections.unmodifiableSortedMap(el);
    }

    private static void checkElements(SetRef ref, Collection<SetElement> values, Map<SetRef, NamedSet> setByRef) {
        NamedSet set = setByRef.get(ref);
        if (set == null) {
            throw new IllegalArgumentException("elements for undeclared set " + ref);
        }
        for (SetElement x : values) {
            if (!x.fits(set.type())) {
                throw new IllegalArgumentException("element " + x + " does not fit set " + set.ref()
                        + " of type " + set.type().keyword());
            }
        }
        if (set.type().interval()) {
            checkNoOverlap(set, values);
        }
    }

    /**
     * The elements of an interval set with the same interface name and source must not overlap (the kernel
     * refuses it); they are neighbours in the sorted set, so each group is compared pairwise (a group is one
     * guest's run: small).
     */
    private static void checkNoOverlap(NamedSet set, Collection<SetElement> values) {
        List<SetElement> group = new ArrayList<>();
        for (SetElement e : values) {
            if (!group.isEmpty() && !(Objects.equals(group.getFirst().ifname(), e.ifname())
                    && Objects.equals(group.getFirst().source(), e.source()))) {
                group.clear();
            }
            for (SetElement other : group) {
                if (other.overlaps(e)) {
                    throw new IllegalArgumentException("elements " + other + " and " + e + " of set " + set.ref()
                            + " overlap");
                }
            }
            group.add(e);
        }
    }

    /** The checks of what {@link IncrementalMerge} built (taken as it is, not copied). */
    private static void checkPrebuilt(Prebuilt p, SortedMap<ChainRef, List<Rule>> rules,
            SortedMap<SetRef, SortedSet<SetElement>> elements) {
        for (ChainRef ref : p.touchedChains() == null ? rules.keySet() : p.touchedChains()) {
            List<Rule> list = rules.get(ref);
            if (list != null) {
                checkRules(ref, list, p.chainByRef(), p.setByRef());
            }
        }
        for (SetRef ref : p.touchedSets() == null ? elements.keySet() : p.touchedSets()) {
            SortedSet<SetElement> values = elements.get(ref);
            NamedSet set = p.setByRef().get(ref);
            if (p.touchedSets() != null && values instanceof DerivedElements d && !d.derivedFrom(null) && set != null
                    && !set.type().interval()) {
                // the base set passed these checks in the previous plan, under the same declaration (none went
                // away or changed: touchedSets is set): only an added element can fail to fit
                checkElements(ref, d.added(), p.setByRef());
            } else if (values != null) {
                checkElements(ref, values, p.setByRef());
            }
        }
    }

    /**
     * The elements of a set added and removed between two plans, each sorted.
     *
     * @since 1.3
     */
    public record ElementChange(List<SetElement> added, List<SetElement> removed) {
        public ElementChange {
            added = List.copyOf(added);
            removed = List.copyOf(removed);
        }
    }

    private static final ElementChange NO_CHANGE = new ElementChange(List.of(), List.of());

    /**
     * What changed in the elements of {@code set} from {@code base} to this plan, when that is known without
     * comparing the two sets: nothing if both plans hold the very same set object (or neither has elements),
     * the change {@link IncrementalMerge} recorded if it derived this plan's set from {@code base}'s very
     * set; else null (compare the sets: {@code base.elements(set)} and {@link #elements(SetRef)}).
     *
     * @since 1.3
     */
    public ElementChange elementChange(SetRef set, Plan base) {
        SortedSet<SetElement> was = base.elements.get(set);
        SortedSet<SetElement> is = elements.get(set);
        if (was == is) {
            return NO_CHANGE;
        }
        if (is instanceof DerivedElements d && d.derivedFrom(was)) {
            return new ElementChange(d.added(), d.removed());
        }
        return null;
    }

    private static <T> List<T> sorted(List<T> in, Comparator<T> order) {
        List<T> out = new ArrayList<>(Objects.requireNonNull(in));
        out.sort(order);
        return List.copyOf(out);
    }

    private static void check(Rule rule, Map<ChainRef, Chain> chains, Map<SetRef, NamedSet> sets) {
        Family family = rule.chain().family();
        java.util.BitSet versions = new java.util.BitSet();
        for (Match m : rule.matches()) {
            switch (m) {
                case Match.Address a -> {
                    versions.set(a.prefix().version());
                    if (!family.carries(a.prefix().version())) {
                        throw new IllegalArgumentException("IPv" + a.prefix().version() + " address " + a.prefix()
                                + " in a rule of family " + family.keyword() + " (chain " + rule.chain() + ")");
                    }
                }
                case Match.InSet s -> {
                    NamedSet set = sets.get(new SetRef(family, s.set()));
                    if (set == null) {
                        throw new IllegalArgumentException("rule in " + rule.chain() + " uses undeclared set @"
                                + s.set());
                    }
                    versions.set(set.type().ipVersion());
                    if (!s.key().fits(set.type())) {
                        throw new IllegalArgumentException("set @" + s.set() + " of type " + set.type().keyword()
                                + " cannot be looked up with key " + s.key());
                    }
                }
                case Match.L4 l -> {
                    if (family == Family.IP && l.protocol() == Match.Protocol.ICMPV6
                            || family == Family.IP6 && l.protocol() == Match.Protocol.ICMP) {
                        throw new IllegalArgumentException(l.protocol().keyword() + " in a rule of family "
                                + family.keyword());
                    }
                }
                default -> {
                }
            }
        }
        if (rule.verdict() instanceof Verdict.Dnat d) {
            versions.set(d.address().version());
        }
        if (versions.get(4) && versions.get(6)) {
            throw new IllegalArgumentException("rule in " + rule.chain() + " mixes IPv4 and IPv6");
        }
        switch (rule.verdict()) {
            case Verdict.Jump j -> checkTarget(rule, j.chain(), chains);
            case Verdict.Goto g -> checkTarget(rule, g.chain(), chains);
            case Verdict.Dnat d -> {
                if (!family.carries(d.address().version())) {
                    throw new IllegalArgumentException("dnat to IPv" + d.address().version() + " in family "
                            + family.keyword());
                }
            }
            default -> {
            }
        }
    }

    private static void checkTarget(Rule rule, String target, Map<ChainRef, Chain> chains) {
        Chain c = chains.get(new ChainRef(rule.chain().family(), target));
        if (c == null) {
            throw new IllegalArgumentException("rule in " + rule.chain() + " jumps to undeclared chain " + target);
        }
        if (c.isBase()) {
            throw new IllegalArgumentException("rule in " + rule.chain() + " jumps to base chain " + target);
        }
    }

    /**
     * Merges contributions into one plan.
     *
     * <p>Chains and sets: identical declarations are merged; different declarations of the same name
     * conflict. Rules of a chain are ordered by {@link Rule#order()}, then {@link Contribution#priority()},
     * then owner id, then position within the contribution (a stable, input-order independent order).
     * Elements of a set are the union of all contributions' elements.
     *
     * @throws IllegalArgumentException on conflicts, duplicate owners, or an inconsistent result
     */
    public static Plan merge(Collection<Contribution> contributions) {
        List<Contribution> sorted = new ArrayList<>(contributions);
        sorted.sort(Comparator.comparingInt(Contribution::priority).thenComparing(Contribution::owner));
        Map<ChainRef, Chain> chains = new HashMap<>();
        Map<ChainRef, String> chainOwner = new HashMap<>();
        Map<SetRef, NamedSet> sets = new HashMap<>();
        Map<SetRef, String> setOwner = new HashMap<>();
        Set<String> owners = new java.util.HashSet<>();
        record Placed(Rule rule, int contribution, int index) {
        }
        Map<ChainRef, List<Placed>> placed = new HashMap<>();
        TreeMap<SetRef, SortedSet<SetElement>> elements = new TreeMap<>();
        for (int ci = 0; ci < sorted.size(); ci++) {
            Contribution c = sorted.get(ci);
            if (!owners.add(c.owner())) {
                throw new IllegalArgumentException("two contributions of owner " + c.owner());
            }
            for (Chain chain : c.chains()) {
                Chain old = chains.putIfAbsent(chain.ref(), chain);
                if (old != null && !old.equals(chain)) {
                    throw new IllegalArgumentException("chain " + chain.ref() + " declared differently by "
                            + chainOwner.get(chain.ref()) + " and " + c.owner());
                }
                chainOwner.putIfAbsent(chain.ref(), c.owner());
            }
            for (NamedSet set : c.sets()) {
                NamedSet old = sets.putIfAbsent(set.ref(), set);
                if (old != null && !old.equals(set)) {
                    throw new IllegalArgumentException("set " + set.ref() + " declared differently by "
                            + setOwner.get(set.ref()) + " and " + c.owner());
                }
                setOwner.putIfAbsent(set.ref(), c.owner());
            }
            List<Rule> rules = c.rules();
            for (int i = 0; i < rules.size(); i++) {
                placed.computeIfAbsent(rules.get(i).chain(), k -> new ArrayList<>()).add(new Placed(rules.get(i), ci, i));
            }
            c.elements().forEach((ref, els) -> elements.computeIfAbsent(ref, k -> new TreeSet<>()).addAll(els));
        }
        TreeMap<ChainRef, List<Rule>> rules = new TreeMap<>();
        placed.forEach((ref, list) -> {
            list.sort(Comparator.comparingInt((Placed p) -> p.rule().order())
                    .thenComparingInt(Placed::contribution).thenComparingInt(Placed::index));
            rules.put(ref, list.stream().map(Placed::rule).toList());
        });
        return new Plan(new ArrayList<>(chains.values()), new ArrayList<>(sets.values()), rules, elements);
    }

    /** Merges contributions (see {@link #merge(Collection)}). */
    public static Plan merge(Contribution... contributions) {
        return merge(List.of(contributions));
    }

    /**
     * The outcome of {@link #mergeLeavingOut}: the plan, the contributions in it and why the others were
     * left out.
     *
     * @param plan     the merged plan
     * @param merged   the contributions in the plan, by owner
     * @param leftOut  why each left-out contribution conflicts, by owner (empty when all fit)
     * @since 1.2
     */
    public record Merge(Plan plan, SortedMap<String, Contribution> merged, SortedMap<String, String> leftOut) {
        public Merge {
            Objects.requireNonNull(plan, "plan");
            merged = merged instanceof SharedSortedMap<String, Contribution> shared ? shared // immutable already
                    : Collections.unmodifiableSortedMap(new TreeMap<>(merged));
            leftOut = Collections.unmodifiableSortedMap(new TreeMap<>(leftOut));
        }
    }

    /**
     * Merges contributions like {@link #merge(Collection)}, but a conflict leaves out as few
     * contributions as it can instead of failing: the {@code established} owners (those of the previous
     * plan) are tried first, then the others by owner id, and a contribution that does not fit the ones
     * taken so far is left out whole, with the reason. The rest of the plan is unaffected, so a newcomer
     * that conflicts never evicts an established contribution. Contributions must have distinct owners.
     *
     * @since 1.2
     */
    public static Merge mergeLeavingOut(Collection<Contribution> contributions, Set<String> established) {
        try {
            return new Merge(merge(contributions), byOwner(contributions), new TreeMap<>());
        } catch (IllegalArgumentException conflict) {
            // fall through: find the contributions to leave out
        }
        List<Contribution> pending = new ArrayList<>(contributions);
        pending.sort(Comparator.comparing((Contribution c) -> !established.contains(c.owner()))
                .thenComparing(Contribution::owner));
        List<Contribution> in = new ArrayList<>();
        Plan plan = EMPTY;
        Map<String, String> out = new TreeMap<>();
        boolean progress = true;
        while (progress && !pending.isEmpty()) { // a later one may declare what an earlier one needs
            progress = false;
            out.clear();
            for (var it = pending.iterator(); it.hasNext(); ) {
                Contribution c = it.next();
                in.add(c);
                try {
                    plan = merge(in);
                    it.remove();
                    progress = true;
                } catch (IllegalArgumentException e) {
                    in.removeLast();
                    out.put(c.owner(), e.getMessage());
                }
            }
        }
        return new Merge(plan, byOwner(in), new TreeMap<>(out));
    }

    private static SortedMap<String, Contribution> byOwner(Collection<Contribution> cs) {
        TreeMap<String, Contribution> m = new TreeMap<>();
        cs.forEach(c -> m.put(c.owner(), c));
        return m;
    }

    /** The rules of {@code chain} in order (empty if none). */
    public List<Rule> rules(ChainRef chain) {
        return rules.getOrDefault(chain, List.of());
    }

    /** The elements of {@code set} in order (empty if none). */
    public SortedSet<SetElement> elements(SetRef set) {
        return elements.getOrDefault(set, Collections.emptySortedSet());
    }

    public Optional<Chain> chain(ChainRef ref) {
        return chains.stream().filter(c -> c.ref().equals(ref)).findFirst();
    }

    public Optional<NamedSet> set(SetRef ref) {
        return sets.stream().filter(s -> s.ref().equals(ref)).findFirst();
    }

    /** The families that have at least one chain or set. */
    public Set<Family> families() {
        EnumSet<Family> f = EnumSet.noneOf(Family.class);
        chains.forEach(c -> f.add(c.family()));
        sets.forEach(s -> f.add(s.family()));
        return Collections.unmodifiableSet(f);
    }

    /** This plan with no set elements. */
    public Plan withoutElements() {
        return new Plan(chains, sets, rules, new TreeMap<>());
    }

    /** Whether {@code other} differs from this plan at most in set elements. */
    public boolean sameStructure(Plan other) {
        return chains.equals(other.chains) && sets.equals(other.sets) && rules.equals(other.rules);
    }
}
