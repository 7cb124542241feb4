package org.netvm.dataplane;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * What a backend owns in the kernel, in the backend's canonical text form, so that desired and actual
 * state compare with {@link #equals}: {@link PacketFilterBackend#expected(Plan)} renders a plan this
 * way, {@link PacketFilterBackend#readBack()} reads the kernel this way. Counters' values are not part
 * of it.
 *
 * <p>Keys name an object within the backend ({@code inet netvm/input} for a chain,
 * {@code inet netvm/allowed} for a set); values are single-line canonical texts.
 *
 * @param chains   chain header by chain key ({@code type filter hook input priority filter; policy drop;},
 *                 empty for a regular chain)
 * @param rules    canonical rule texts by chain key, in kernel order
 * @param sets     set header (its type) by set key
 * @param elements canonical element texts by set key
 */
public record OwnedState(SortedMap<String, String> chains, SortedMap<String, List<String>> rules,
        SortedMap<String, String> sets, SortedMap<String, SortedSet<String>> elements) {

    public static final OwnedState EMPTY = new OwnedState(new TreeMap<>(), new TreeMap<>(), new TreeMap<>(),
            new TreeMap<>());

    public OwnedState {
        chains = Collections.unmodifiableSortedMap(new TreeMap<>(Objects.requireNonNull(chains, "chains")));
        TreeMap<String, List<String>> r = new TreeMap<>();
        Objects.requireNonNull(rules, "rules").forEach((k, v) -> {
            if (!v.isEmpty()) {
                r.put(k, List.copyOf(v));
            }
        });
        rules = Collections.unmodifiableSortedMap(r);
        sets = Collections.unmodifiableSortedMap(new TreeMap<>(Objects.requireNonNull(sets, "sets")));
        TreeMap<String, SortedSet<String>> e = new TreeMap<>();
        Objects.requireNonNull(elements, "elements").forEach((k, v) -> {
            if (!v.isEmpty()) {
                e.put(k, Collections.unmodifiableSortedSet(new TreeSet<>(v)));
            }
        });
        elements = Collections.unmodifiableSortedMap(e);
    }

    /** Whether nothing is owned. */
    public boolean isEmpty() {
        return chains.isEmpty() && sets.isEmpty() && rules.isEmpty() && elements.isEmpty();
    }

    /**
     * Human-readable differences, taking this as desired and {@code actual} as found; empty when equal.
     * Lines start with {@code -} (missing in actual) or {@code +} (unexpected in actual).
     */
    public List<String> diff(OwnedState actual) {
        List<String> out = new ArrayList<>();
        diffMap("chain", chains, actual.chains, out);
        diffMap("set", sets, actual.sets, out);
        for (String key : union(rules, actual.rules)) {
            List<String> want = rules.getOrDefault(key, List.of());
            List<String> got = actual.rules.getOrDefault(key, List.of());
            if (!want.equals(got)) {
                want.stream().filter(x -> !got.contains(x)).forEach(x -> out.add("- rule " + key + ": " + x));
                got.stream().filter(x -> !want.contains(x)).forEach(x -> out.add("+ rule " + key + ": " + x));
                if (new TreeSet<>(want).equals(new TreeSet<>(got))) {
                    out.add("~ rules of " + key + " in a different order");
                }
            }
        }
        for (String key : union(elements, actual.elements)) {
            SortedSet<String> want = elements.getOrDefault(key, Collections.emptySortedSet());
            SortedSet<String> got = actual.elements.getOrDefault(key, Collections.emptySortedSet());
            want.stream().filter(x -> !got.contains(x)).forEach(x -> out.add("- element " + key + ": " + x));
            got.stream().filter(x -> !want.contains(x)).forEach(x -> out.add("+ element " + key + ": " + x));
        }
        return out;
    }

    private static void diffMap(String what, Map<String, String> want, Map<String, String> got, List<String> out) {
        for (String key : union(want, got)) {
            String w = want.get(key);
            String g = got.get(key);
            if (!Objects.equals(w, g)) {
                if (w != null) {
                    out.add("- " + what + " " + key + ": " + w);
                }
                if (g != null) {
                    out.add("+ " + what + " " + key + ": " + g);
                }
            }
        }
    }

    private static TreeSet<String> union(Map<String, ?> a, Map<String, ?> b) {
        TreeSet<String> keys = new TreeSet<>(a.keySet());
        keys.addAll(b.keySet());
        return keys;
    }
}
