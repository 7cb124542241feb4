package org.netvm.backend.iptables.internal;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import org.netvm.dataplane.OwnedState;

/**
 * Everything netvm owns, per table and IP version plus its ipsets: either rendered from a plan or
 * parsed from {@code iptables-save}, {@code ip6tables-save} and {@code ipset save}. Both sides use
 * the exact text those tools print, so they compare with {@code equals}.
 *
 * @param tables owned chains and hooks per table (tables without any are absent)
 * @param sets   owned ipsets by name
 */
record Snapshot(SortedMap<TableKey, TableState> tables, SortedMap<String, SetState> sets) {

    static final Snapshot EMPTY = new Snapshot(new TreeMap<>(), new TreeMap<>());

    /** The comment that marks netvm's jumps from built-in chains. */
    static final String HOOK_COMMENT = "netvm";

    Snapshot {
        TreeMap<TableKey, TableState> t = new TreeMap<>();
        tables.forEach((k, v) -> {
            if (!v.isEmpty()) {
                t.put(k, v);
            }
        });
        tables = Collections.unmodifiableSortedMap(t);
        sets = Collections.unmodifiableSortedMap(new TreeMap<>(sets));
    }

    /**
     * Put in front of the target of every rule netvm writes into a user-owned chain; rules there without
     * it are the user's.
     */
    static final String USER_CHAIN_MARK = "-m comment --comment netvm ";

    /** This snapshot without the user's rules (unmarked) in the chains named in {@code userChains}. */
    Snapshot withoutUserRules(java.util.Set<String> userChains) {
        return mapUserChains(userChains, (key, chain, specs) -> specs.stream()
                .filter(x -> x.contains(USER_CHAIN_MARK)).toList());
    }

    /**
     * This (rendered) snapshot with the user's rules found in {@code current} appended to each chain named
     * in {@code userChains}, so that rewriting the chain puts them back (their counters restart at zero).
     */
    Snapshot keepingUserRules(Snapshot current, java.util.Set<String> userChains) {
        return mapUserChains(userChains, (key, chain, specs) -> {
            List<String> out = new ArrayList<>(specs);
            current.table(key).chains().getOrDefault(chain, List.of()).stream()
                    .filter(x -> !x.contains(USER_CHAIN_MARK)).forEach(out::add);
            return out;
        });
    }

    private interface ChainMapper {
        List<String> map(TableKey key, String chain, List<String> specs);
    }

    private Snapshot mapUserChains(java.util.Set<String> userChains, ChainMapper mapper) {
        TreeMap<TableKey, TableState> t = new TreeMap<>();
        tables.forEach((key, state) -> {
            TreeMap<String, List<String>> chains = new TreeMap<>(state.chains());
            chains.replaceAll((chain, specs) -> userChains.contains(chain) ? mapper.map(key, chain, specs) : specs);
            t.put(key, new TableState(chains, state.hooks()));
        });
        return new Snapshot(t, sets);
    }

    TableState table(TableKey key) {
        return tables.getOrDefault(key, TableState.EMPTY);
    }

    /** The hook spec for a jump from {@code builtin} to {@code chain}. */
    static String hook(String builtin, String chain) {
        return builtin + " -m comment --comment " + HOOK_COMMENT + " -j " + chain;
    }

    /**
     * Parses {@code iptables-save} (or {@code ip6tables-save}) output: chains named with
     * {@code prefix}, their rules, and hooks (rules of built-in chains of exactly the form
     * {@link #hook}, jumping to an owned chain). Everything else is ignored.
     */
    static Map<TableKey, TableState> parseSave(int version, String save, String prefix) {
        Map<TableKey, TableState> out = new TreeMap<>();
        IptTable table = null;
        Map<String, List<String>> chains = null;
        List<String> hooks = null;
        for (String raw : save.split("\n")) {
            String line = raw.strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            if (line.startsWith("*")) {
                table = IptTable.of(line.substring(1));
                chains = new LinkedHashMap<>();
                hooks = new ArrayList<>();
            } else if (table == null) {
                continue;
            } else if (line.equals("COMMIT")) {
                out.put(new TableKey(version, table), new TableState(new TreeMap<>(chains), hooks));
                table = null;
            } else if (line.startsWith(":")) {
                String name = line.substring(1, line.indexOf(' ') < 0 ? line.length() : line.indexOf(' '));
                if (name.startsWith(prefix)) {
                    chains.putIfAbsent(name, new ArrayList<>());
                }
            } else if (line.startsWith("-A ")) {
                int space = line.indexOf(' ', 3);
                if (space < 0) {
                    continue;
                }
                String chain = line.substring(3, space);
                String spec = line.substring(space + 1);
                if (chain.startsWith(prefix)) {
                    chains.computeIfAbsent(chain, k -> new ArrayList<>()).add(spec);
                } else if (table.isBuiltin(chain)) {
                    String target = spec.substring(spec.lastIndexOf(' ') + 1);
                    if (target.startsWith(prefix) && line.substring(3).equals(hook(chain, target))) {
                        hooks.add(line.substring(3));
                    }
                }
            }
        }
        return out;
    }

    /** Parses {@code ipset save}: the sets named with {@code prefix}, their type and elements. */
    static SortedMap<String, SetState> parseIpset(String save, String prefix) {
        Map<String, String> headers = new LinkedHashMap<>();
        Map<String, SortedSet<String>> elements = new LinkedHashMap<>();
        for (String raw : save.split("\n")) {
            String[] w = raw.strip().split(" +");
            if (w.length < 3 || !w[1].startsWith(prefix)) {
                continue;
            }
            if (w[0].equals("create")) {
                String family = "";
                for (int i = 3; i + 1 < w.length; i++) {
                    if (w[i].equals("family")) {
                        family = " family " + w[i + 1];
                    }
                }
                headers.put(w[1], w[2] + family);
                elements.putIfAbsent(w[1], new TreeSet<>());
            } else if (w[0].equals("add")) {
                elements.computeIfAbsent(w[1], k -> new TreeSet<>()).add(w[2]);
            }
        }
        TreeMap<String, SetState> out = new TreeMap<>();
        headers.forEach((name, header) -> out.put(name, new SetState(header, elements.get(name))));
        return out;
    }

    /**
     * The API's canonical view. Chain keys are {@code ip filter/NETVM-input}; a chain's header lists
     * the built-in chains whose netvm hook jumps to it ({@code hook INPUT}; empty if none); rules are
     * {@code iptables-save} specs. Set keys are {@code ipset/NAME}, their header type and family.
     */
    OwnedState toOwnedState() {
        TreeMap<String, String> chains = new TreeMap<>();
        TreeMap<String, List<String>> rules = new TreeMap<>();
        TreeMap<String, String> setHeaders = new TreeMap<>();
        TreeMap<String, SortedSet<String>> elements = new TreeMap<>();
        tables.forEach((key, state) -> state.chains().forEach((chain, specs) -> {
            List<String> from = new ArrayList<>();
            for (String hook : state.hooks()) {
                if (hook.endsWith(" -j " + chain)) {
                    from.add(hook.substring(0, hook.indexOf(' ')));
                }
            }
            Collections.sort(from);
            String k = key + "/" + chain;
            chains.put(k, from.isEmpty() ? "" : "hook " + String.join(",", from));
            rules.put(k, specs);
        }));
        sets.forEach((name, set) -> {
            setHeaders.put("ipset/" + name, set.header());
            elements.put("ipset/" + name, set.elements());
        });
        return new OwnedState(chains, rules, setHeaders, elements);
    }
}
