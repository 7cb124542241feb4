package org.netvm.dataplane;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The whole desired state of one contributor (a feature, a guest, a policy), replaced as a whole
 * whenever it changes. Contributions are merged into a {@link Plan} by {@link Plan#merge}.
 *
 * <p>A contribution may declare chains and sets (identical declarations from several contributions
 * are allowed and merged; different ones conflict), add rules to any chain of the plan (by
 * {@link ChainRef}), and add elements to any set of the plan (by {@link SetRef}); elements from
 * several contributions are united.
 *
 * @param owner    who contributes, {@code ^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}$}, unique among the
 *                 merged contributions
 * @param priority orders this contribution's rules against others' with the same
 *                 {@link Rule#order()} (lower first)
 * @param chains   chains this contribution declares
 * @param sets     sets this contribution declares
 * @param rules    rules, in the order they should appear within a chain (for equal order keys)
 * @param elements set elements by set
 */
public record Contribution(String owner, int priority, List<Chain> chains, List<NamedSet> sets,
        List<Rule> rules, Map<SetRef, SortedSet<SetElement>> elements) {

    public Contribution {
        Names.owner(owner);
        chains = List.copyOf(Objects.requireNonNull(chains, "chains"));
        sets = List.copyOf(Objects.requireNonNull(sets, "sets"));
        rules = List.copyOf(Objects.requireNonNull(rules, "rules"));
        Objects.requireNonNull(elements, "elements");
        Map<ChainRef, Chain> seenChains = new HashMap<>();
        for (Chain c : chains) {
            Chain old = seenChains.putIfAbsent(c.ref(), c);
            if (old != null && !old.equals(c)) {
                throw new IllegalArgumentException(owner + ": chain " + c.ref() + " declared twice, differently");
            }
        }
        Map<SetRef, NamedSet> seenSets = new HashMap<>();
        for (NamedSet s : sets) {
            NamedSet old = seenSets.putIfAbsent(s.ref(), s);
            if (old != null && !old.equals(s)) {
                throw new IllegalArgumentException(owner + ": set " + s.ref() + " declared twice, differently");
            }
        }
        TreeMap<SetRef, SortedSet<SetElement>> copy = new TreeMap<>();
        for (Map.Entry<SetRef, ? extends Collection<SetElement>> e : elements.entrySet()) {
            TreeSet<SetElement> values = new TreeSet<>();
            for (SetElement el : e.getValue()) {
                values.add(Objects.requireNonNull(el, "set element"));
            }
            copy.put(Objects.requireNonNull(e.getKey(), "set"), Collections.unmodifiableSortedSet(values));
        }
        elements = Collections.unmodifiableSortedMap(copy);
    }

    /** Starts a contribution of {@code owner} with priority 0. */
    public static Builder builder(String owner) {
        return new Builder(owner);
    }

    /** An empty contribution (withdraws everything {@code owner} contributed). */
    public static Contribution empty(String owner) {
        return builder(owner).build();
    }

    /** Collects a contribution. Not thread safe. */
    public static final class Builder {
        private final String owner;
        private int priority;
        private final List<Chain> chains = new ArrayList<>();
        private final List<NamedSet> sets = new ArrayList<>();
        private final List<Rule> rules = new ArrayList<>();
        private final Map<SetRef, SortedSet<SetElement>> elements = new LinkedHashMap<>();

        private Builder(String owner) {
            this.owner = owner;
        }

        public Builder priority(int priority) {
            this.priority = priority;
            return this;
        }

        public Builder chain(Chain chain) {
            chains.add(Objects.requireNonNull(chain, "chain"));
            return this;
        }

        public Builder set(NamedSet set) {
            sets.add(Objects.requireNonNull(set, "set"));
            return this;
        }

        public Builder rule(Rule rule) {
            rules.add(Objects.requireNonNull(rule, "rule"));
            return this;
        }

        public Builder rules(Collection<Rule> more) {
            more.forEach(this::rule);
            return this;
        }

        /** Adds an element to set {@code set} (declared here or by another contribution). */
        public Builder element(SetRef set, SetElement element) {
            elements.computeIfAbsent(Objects.requireNonNull(set, "set"), k -> new TreeSet<>())
                    .add(Objects.requireNonNull(element, "element"));
            return this;
        }

        public Builder elements(SetRef set, Collection<SetElement> more) {
            elements.computeIfAbsent(Objects.requireNonNull(set, "set"), k -> new TreeSet<>());
            more.forEach(e -> element(set, e));
            return this;
        }

        public Contribution build() {
            return new Contribution(owner, priority, chains, sets, rules, elements);
        }
    }

    /** The sets this contribution puts elements into. */
    public Set<SetRef> elementSets() {
        return elements.keySet();
    }
}
