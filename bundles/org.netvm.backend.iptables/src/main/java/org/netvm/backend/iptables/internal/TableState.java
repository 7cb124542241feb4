package org.netvm.backend.iptables.internal;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * What netvm owns in one table of one IP version, in {@code iptables-save} syntax.
 *
 * @param chains owned chains by iptables name, each with its rule specs (the text after
 *               {@code -A <chain> }), in kernel order
 * @param hooks  netvm's jumps from built-in chains, each as {@code <BUILTIN> <spec>} (e.g.
 *               {@code INPUT -m comment --comment netvm -j NETVM-input}), in kernel order
 */
record TableState(SortedMap<String, List<String>> chains, List<String> hooks) {

    static final TableState EMPTY = new TableState(new TreeMap<>(), List.of());

    TableState {
        TreeMap<String, List<String>> c = new TreeMap<>();
        Objects.requireNonNull(chains, "chains").forEach((k, v) -> c.put(k, List.copyOf(v)));
        chains = Collections.unmodifiableSortedMap(c);
        hooks = List.copyOf(hooks);
    }

    boolean isEmpty() {
        return chains.isEmpty() && hooks.isEmpty();
    }

    /**
     * Whether this equals {@code other} for the purpose of skipping a write: same chains and rules,
     * same hooks regardless of their order among themselves.
     */
    boolean sameAs(TableState other) {
        return chains.equals(other.chains) && count(hooks).equals(count(other.hooks));
    }

    private static Map<String, Integer> count(List<String> list) {
        Map<String, Integer> m = new HashMap<>();
        list.forEach(x -> m.merge(x, 1, Integer::sum));
        return m;
    }

    /**
     * The {@code iptables-restore --noflush} input turning {@code current} into {@code desired} for
     * {@code table}, committed by the kernel as one transaction. Empty if nothing differs.
     *
     * <p>In {@code --noflush} mode, declaring {@code :CHAIN - [0:0]} creates the chain or flushes it
     * if it exists, so every desired chain is declared and then refilled whole. Chains that are no
     * longer desired are declared too (which flushes them, so they stop referring to other chains),
     * their hooks deleted and then the chains removed with {@code -X}. Hooks are inserted at the top
     * of their built-in chain ({@code -I BUILTIN 1}) only if missing, and surplus copies are deleted,
     * so a hook is never duplicated. Nothing outside netvm's chains and hooks is named.
     */
    static String restoreInput(IptTable table, TableState current, TableState desired) {
        if (current.sameAs(desired)) {
            return "";
        }
        StringBuilder b = new StringBuilder();
        b.append('*').append(table.keyword()).append('\n');
        List<String> stale = new ArrayList<>();
        for (String chain : desired.chains.keySet()) {
            b.append(':').append(chain).append(" - [0:0]\n");
        }
        for (String chain : current.chains.keySet()) {
            if (!desired.chains.containsKey(chain)) {
                stale.add(chain);
                b.append(':').append(chain).append(" - [0:0]\n");
            }
        }
        Map<String, Integer> wanted = count(desired.hooks);
        Map<String, Integer> seen = new HashMap<>();
        for (String hook : current.hooks) {
            int n = seen.merge(hook, 1, Integer::sum);
            if (n > wanted.getOrDefault(hook, 0)) {
                b.append("-D ").append(hook).append('\n');
            }
        }
        desired.chains.forEach((chain, rules) -> rules
                .forEach(rule -> b.append("-A ").append(chain).append(' ').append(rule).append('\n')));
        List<String> missing = new ArrayList<>();
        for (String hook : desired.hooks) {
            if (!current.hooks.contains(hook)) {
                missing.add(hook);
            }
        }
        // inserted at position 1 in reverse, so they end up in the desired order, ahead of others' rules
        for (String hook : missing.reversed()) {
            int space = hook.indexOf(' ');
            b.append("-I ").append(hook, 0, space).append(" 1").append(hook.substring(space)).append('\n');
        }
        for (String chain : stale) {
            b.append("-X ").append(chain).append('\n');
        }
        return b.append("COMMIT\n").toString();
    }

    /**
     * The {@code iptables-restore --noflush} input that rewrites only the chains whose rules differ
     * between {@code current} and {@code desired} (same chains and hooks): each is declared, which
     * flushes it, and refilled. Empty if no chain differs.
     */
    static String changedChainsInput(IptTable table, TableState current, TableState desired) {
        StringBuilder declare = new StringBuilder();
        StringBuilder fill = new StringBuilder();
        desired.chains.forEach((chain, rules) -> {
            if (!rules.equals(current.chains.get(chain))) {
                declare.append(':').append(chain).append(" - [0:0]\n");
                rules.forEach(rule -> fill.append("-A ").append(chain).append(' ').append(rule).append('\n'));
            }
        });
        if (declare.isEmpty()) {
            return "";
        }
        return "*" + table.keyword() + "\n" + declare + fill + "COMMIT\n";
    }
}
