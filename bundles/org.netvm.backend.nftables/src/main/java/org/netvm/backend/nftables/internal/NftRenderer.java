package org.netvm.backend.nftables.internal;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.netvm.dataplane.Chain;
import org.netvm.dataplane.ChainRef;
import org.netvm.dataplane.Family;
import org.netvm.dataplane.Match;
import org.netvm.dataplane.NamedSet;
import org.netvm.dataplane.OwnedState;
import org.netvm.dataplane.Plan;
import org.netvm.dataplane.Rule;
import org.netvm.dataplane.SetElement;
import org.netvm.dataplane.SetRef;
import org.netvm.dataplane.SetType;
import org.netvm.dataplane.Verdict;
import org.netvm.util.SortedMerge;

/**
 * Renders plans into nft scripts and into the canonical form {@code nft -n list table} prints.
 *
 * <p>Tables: {@code inet <prefix>}, {@code ip <prefix>-ip}, {@code ip6 <prefix>-ip6}. Everything else
 * in the kernel is never named by what this class renders. All values come from the validated model
 * (names, addresses, ports), so no text here comes from outside unchecked.
 */
final class NftRenderer {
    private static final Pattern PREFIX = Pattern.compile("[A-Za-z][A-Za-z0-9_-]{0,20}");

    private final String prefix;

    NftRenderer(String prefix) {
        if (prefix == null || !PREFIX.matcher(prefix).matches()) {
            throw new IllegalArgumentException("table prefix must match ^[A-Za-z][A-Za-z0-9_-]{0,20}$: " + prefix);
        }
        this.prefix = prefix;
    }

    /** The table this backend owns for {@code family}. */
    String table(Family family) {
        return switch (family) {
            case INET -> prefix;
            case IP -> prefix + "-ip";
            case IP6 -> prefix + "-ip6";
        };
    }

    /** {@code inet netvm} */
    String tableSpec(Family family) {
        return family.keyword() + " " + table(family);
    }

    /** The family of an owned table, or null if {@code family table} is not one of ours. */
    Family owned(String family, String table) {
        for (Family f : Family.values()) {
            if (f.keyword().equals(family) && table(f).equals(table)) {
                return f;
            }
        }
        return null;
    }

    /** OwnedState key of a chain or set. */
    String key(Family family, String name) {
        return tableSpec(family) + "/" + name;
    }

    /** Deletes all owned tables (whether they exist or not), one transaction. */
    String sweep() {
        StringBuilder b = new StringBuilder();
        for (Family f : Family.values()) {
            b.append("add table ").append(tableSpec(f)).append('\n');
            b.append("delete table ").append(tableSpec(f)).append('\n');
        }
        return b.toString();
    }

    /**
     * The whole plan as one transaction: every owned table is created if missing and deleted (so nothing
     * stale survives), then the tables the plan needs are defined from scratch. Each chain is written
     * once, with its header and rules, in the plan's (name) order; only a chain that a rule of a chain
     * written before it jumps to is declared empty first (the kernel resolves a jump when the rule is
     * added). With 1 000 guest chains this halves the chain messages nft sends and parses (only the
     * dispatch tree's inner chains need the early declaration, see {@link #declaredEarly}).
     */
    String full(Plan plan) {
        return full(plan, java.util.Map.of());
    }

    /**
     * {@link #full(Plan)}, with the user's rules of each {@link Chain#userOwned user-owned} chain
     * ({@code userRules}, as {@code nft list} printed them) after the plan's rules of that chain.
     */
    String full(Plan plan, java.util.Map<ChainRef, List<String>> userRules) {
        StringBuilder b = new StringBuilder(sweep());
        Index index = new Index(plan);
        for (Family f : Family.values()) {
            if (!plan.families().contains(f)) {
                continue;
            }
            b.append("table ").append(tableSpec(f)).append(" {\n");
            for (NamedSet s : plan.sets()) {
                if (s.family() != f) {
                    continue;
                }
                b.append("\tset ").append(s.name()).append(" {\n");
                b.append("\t\ttype ").append(s.type().keyword()).append('\n');
                if (s.type().interval()) {
                    b.append("\t\tflags interval\n");
                }
                SortedSet<SetElement> els = plan.elements(s.ref());
                if (!els.isEmpty()) {
                    b.append("\t\telements = {\n");
                    int i = 0;
                    for (SetElement e : els) {
                        b.append("\t\t\t").append(element(e, s.type())).append(++i < els.size() ? ",\n" : "\n");
                    }
                    b.append("\t\t}\n");
                }
                b.append("\t}\n");
            }
            Set<String> early = declaredEarly(plan, f, !userRules.isEmpty());
            for (Chain c : plan.chains()) {
                if (c.family() == f && early.contains(c.name())) {
                    b.append("\tchain ").append(c.name()).append(" {\n\t}\n");
                }
            }
            for (Chain c : plan.chains()) {
                List<Rule> rules = plan.rules(c.ref());
                List<String> user = c.userOwned() ? userRules.getOrDefault(c.ref(), List.of()) : List.of();
                if (c.family() == f && (c.isBase() || !early.contains(c.name()) || !rules.isEmpty() || !user.isEmpty())) {
                    b.append("\tchain ").append(c.name()).append(" {\n");
                    if (c.isBase()) {
                        b.append("\t\t").append(header(c, false)).append('\n');
                    }
                    for (Rule r : rules) {
                        b.append("\t\t").append(rule(index, r, false)).append('\n');
                    }
                    for (String u : user) {
                        b.append("\t\t").append(u).append('\n');
                    }
                    b.append("\t}\n");
                }
            }
            b.append("}\n");
        }
        return b.toString();
    }

    /**
     * The regular chains of {@code family} that must exist before the chain blocks are written: those a
     * rule of a chain written no later (plan order) jumps or goes to; all of them if the user's rules are
     * put back ({@code userRules}: they may jump anywhere). Base chains are never jump targets.
     */
    private static Set<String> declaredEarly(Plan plan, Family family, boolean userRules) {
        Set<String> early = new java.util.HashSet<>();
        Set<String> written = new java.util.HashSet<>();
        for (Chain c : plan.chains()) {
            if (c.family() != family) {
                continue;
            }
            if (userRules && !c.isBase()) {
                early.add(c.name());
            }
            written.add(c.name());
            for (Rule r : plan.rules(c.ref())) {
                String target = switch (r.verdict()) {
                    case Verdict.Jump j -> j.chain();
                    case Verdict.Goto g -> g.chain();
                    default -> null;
                };
                if (target != null && written.contains(target)) {
                    continue; // already written before this chain: exists when the jump is added
                }
                if (target != null) {
                    early.add(target);
                }
            }
        }
        return early;
    }

    /**
     * The changes from {@code before} to {@code after}, which declare the same chains: the sets only
     * {@code after} declares are added, each chain whose rules differ is flushed and refilled, then the
     * element changes, then the sets only {@code before} declared are deleted (no rule refers to them any
     * more); one transaction. A guest whose rules change touches its chain and its own key sets only. Null
     * if the rules of a {@link Chain#userOwned user-owned} chain differ (never flushed: only a full
     * transaction, which keeps the user's rules, changes netvm's rules there) or a set of the same name
     * changes its type.
     */
    String delta(Plan before, Plan after) {
        SetChanges sets = SetChanges.of(before, after);
        if (sets == null) {
            return null;
        }
        StringBuilder b = new StringBuilder();
        for (NamedSet s : sets.added()) {
            b.append("add set ").append(tableSpec(s.family())).append(' ').append(s.name()).append(" { type ")
                    .append(s.type().keyword()).append(s.type().interval() ? "; flags interval" : "").append("; }\n");
        }
        Index index = null;
        for (ChainRef ref : changedChains(before, after)) {
            Chain c = chain(after, ref);
            List<Rule> rules = after.rules(ref);
            if (c.userOwned()) {
                return null;
            }
            if (index == null) {
                index = new Index(after);
            }
            b.append("flush chain ").append(tableSpec(c.family())).append(' ').append(c.name()).append('\n');
            for (Rule r : rules) {
                b.append("add rule ").append(tableSpec(c.family())).append(' ').append(c.name()).append(' ')
                        .append(rule(index, r, false)).append('\n');
            }
        }
        b.append(elementDelta(before, after, sets.removed()));
        for (NamedSet s : sets.removed()) {
            b.append("delete set ").append(tableSpec(s.family())).append(' ').append(s.name()).append('\n');
        }
        return b.toString();
    }

    /**
     * The sets declared only before and only after (one walk over both sorted lists), or null if a set of
     * the same name changed its declaration.
     */
    record SetChanges(List<NamedSet> added, List<NamedSet> removed) {
        static SetChanges of(Plan before, Plan after) {
            List<NamedSet> added = new ArrayList<>();
            List<NamedSet> removed = new ArrayList<>();
            if (before.sets() == after.sets()) {
                return new SetChanges(added, removed);
            }
            boolean same = SortedMerge.walk(before.sets(), after.sets(), Comparator.comparing(NamedSet::ref), (x, y) -> {
                if (x != null && y != null) {
                    return x.equals(y); // a set of the same name must keep its declaration
                }
                (x == null ? added : removed).add(x == null ? y : x);
                return true;
            });
            if (!same) {
                return null;
            }
            return new SetChanges(added, removed);
        }
    }

    /** The declaration of {@code ref} in {@code plan} (its chains are sorted by ref; rules only for declared chains). */
    private static Chain chain(Plan plan, ChainRef ref) {
        List<Chain> chains = plan.chains();
        int lo = 0;
        int hi = chains.size() - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            int order = chains.get(mid).ref().compareTo(ref);
            if (order == 0) {
                return chains.get(mid);
            }
            if (order < 0) {
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        throw new IllegalArgumentException("no chain " + ref); // a plan never has rules for an undeclared chain
    }

    /**
     * The chains whose rules differ, in the plans' order: one walk over both rule maps (sorted alike), where
     * a list an incremental merge left alone is the very same object and compares at once.
     */
    private static List<ChainRef> changedChains(Plan before, Plan after) {
        List<ChainRef> changed = new ArrayList<>();
        SortedMerge.walk(before.rules().entrySet(), after.rules().entrySet(), Map.Entry.comparingByKey(), (x, y) -> {
            if (x == null || y == null || !x.getValue().equals(y.getValue())) {
                changed.add(x == null ? y.getKey() : x.getKey());
            }
            return true;
        });
        return changed;
    }

    /**
     * Only the element changes from {@code before} to {@code after} (which must have the same structure):
     * deletions first, then additions, one transaction. Empty if nothing changed.
     */
    String elementDelta(Plan before, Plan after) {
        return elementDelta(before, after, List.of());
    }

    /** {@link #elementDelta(Plan, Plan)} leaving out the sets {@code deleted} (the transaction deletes them). */
    private String elementDelta(Plan before, Plan after, List<NamedSet> deleted) {
        StringBuilder b = new StringBuilder();
        TreeSet<SetRef> refs = new TreeSet<>(before.elements().keySet());
        refs.addAll(after.elements().keySet());
        refs.removeIf(ref -> before.elements(ref) == after.elements(ref)); // untouched by an incremental merge
        deleted.forEach(s -> refs.remove(s.ref()));
        StringBuilder adds = new StringBuilder();
        for (SetRef ref : refs) {
            List<SetElement> gone = new ArrayList<>();
            List<SetElement> added = new ArrayList<>();
            NetlinkElements.difference(before.elements(ref), after.elements(ref), gone, added);
            SetType type = type(before, after, ref);
            elementLine(b, "delete", ref, gone, type);
            elementLine(adds, "add", ref, added, type);
        }
        return b.append(adds).toString();
    }

    private void elementLine(StringBuilder b, String verb, SetRef ref, List<SetElement> els, SetType type) {
        if (!els.isEmpty()) {
            b.append(verb).append(" element ").append(tableSpec(ref.family())).append(' ').append(ref.name())
                    .append(" { ").append(els.stream().map(e -> element(e, type)).collect(Collectors.joining(", ")))
                    .append(" }\n");
        }
    }

    /** The type of set {@code ref}, declared in {@code after} or else in {@code before}. */
    private static SetType type(Plan before, Plan after, SetRef ref) {
        return after.set(ref).or(() -> before.set(ref)).orElseThrow().type();
    }

    /**
     * What {@code nft -n list table} shows right after applying {@code plan}, the user's rules in
     * user-owned chains left out (as {@link #withoutUserRules} leaves them out of a listing).
     */
    OwnedState expected(Plan plan) {
        TreeMap<String, String> chains = new TreeMap<>();
        TreeMap<String, List<String>> rules = new TreeMap<>();
        TreeMap<String, String> sets = new TreeMap<>();
        TreeMap<String, SortedSet<String>> elements = new TreeMap<>();
        Index index = new Index(plan);
        for (Chain c : plan.chains()) {
            String k = key(c.family(), c.name());
            chains.put(k, c.isBase() ? header(c, true) : "");
            List<String> texts = new ArrayList<>();
            for (Rule r : plan.rules(c.ref())) {
                texts.add(rule(index, r, true));
            }
            rules.put(k, texts);
        }
        for (NamedSet s : plan.sets()) {
            String k = key(s.family(), s.name());
            sets.put(k, "type " + s.type().keyword() + (s.type().interval() ? "; flags interval" : ""));
            elements.put(k, plan.elements(s.ref()).stream().map(e -> element(e, s.type()))
                    .collect(Collectors.toCollection(TreeSet::new)));
        }
        return new OwnedState(chains, rules, sets, elements);
    }

    /**
     * {@link #expected(Plan)} of {@code plan}, from {@code state}, the expectation of {@code before}: when
     * both declare the same chains and sets, only the chains whose rules and the sets whose elements differ
     * are rendered again (a plan of an incremental merge shares the rest with the one before: a guest's change
     * renders its chain or its elements, not 1 000 guests' rules); else all of it.
     */
    OwnedState expected(Plan before, OwnedState state, Plan plan) {
        if (!before.chains().equals(plan.chains()) || !before.sets().equals(plan.sets())) {
            return expected(plan);
        }
        TreeMap<String, List<String>> rules = new TreeMap<>(state.rules());
        Index index = null;
        for (ChainRef ref : changedChains(before, plan)) {
            if (index == null) {
                index = new Index(plan);
            }
            List<String> texts = new ArrayList<>();
            for (Rule r : plan.rules(ref)) {
                texts.add(rule(index, r, true));
            }
            rules.put(key(ref.family(), ref.name()), texts); // an empty list: none (OwnedState drops it)
        }
        TreeMap<String, SortedSet<String>> elements = new TreeMap<>(state.elements());
        for (NamedSet s : plan.sets()) {
            SortedSet<SetElement> now = plan.elements(s.ref());
            if (now != before.elements(s.ref())) { // an incremental merge keeps an unchanged set's very object
                elements.put(key(s.family(), s.name()), now.stream().map(e -> element(e, s.type()))
                        .collect(Collectors.toCollection(TreeSet::new)));
            }
        }
        return new OwnedState(state.chains(), rules, state.sets(), elements);
    }

    /** {@code state} without the rules netvm did not write in the chains user-owned in {@code plan}. */
    OwnedState withoutUserRules(OwnedState state, Plan plan) {
        TreeMap<String, List<String>> rules = new TreeMap<>(state.rules());
        for (Chain c : plan.chains()) {
            String k = key(c.family(), c.name());
            if (c.userOwned() && rules.containsKey(k)) {
                rules.put(k, rules.get(k).stream().filter(UserRules::isNetvms).toList());
            }
        }
        return new OwnedState(state.chains(), rules, state.sets(), state.elements());
    }

    static String header(Chain c, boolean numeric) {
        Chain.Base base = c.base();
        String prio = numeric || base.priority().standardName() == null
                ? Integer.toString(base.priority().value()) : base.priority().standardName();
        return "type " + base.type().keyword() + " hook " + base.hook().keyword() + " priority " + prio
                + "; policy " + base.policy().keyword() + ";";
    }

    /**
     * One element of a set of {@code type}, as {@code nft -n list} prints it: {@code 10.137.0.5},
     * {@code "vif3.0" . 10.137.0.5}, a key tuple {@code 10.137.0.5 . 10.0.0.0/8 . 6 . 80-90} (protocol by number, any
     * protocol {@code 0-255}, a host without /32).
     */
    static String element(SetElement e, SetType type) {
        if (e.ifname() != null) {
            return "\"" + e.ifname() + "\" . " + e.address().text();
        }
        if (!type.withProtocol()) {
            return e.address().text();
        }
        return e.source().text() + " . " + e.prefix() + " . "
                + (e.protocol() == null ? "0-255" : protocolNumber(e.protocol()))
                + (e.hasPorts() ? " . " + (e.firstPort() == e.lastPort() ? e.firstPort() + ""
                        : e.firstPort() + "-" + e.lastPort()) : "");
    }

    private static String protocolNumber(Match.Protocol p) {
        return protocol(p, true);
    }

    /** What rendering a rule looks up in its plan, by key (a plan's own lookups are linear). */
    private record Index(java.util.Set<ChainRef> userOwned, java.util.Map<SetRef, NamedSet> sets) {
        Index(Plan plan) {
            this(plan.chains().stream().filter(Chain::userOwned).map(Chain::ref).collect(Collectors.toSet()),
                    plan.sets().stream().collect(Collectors.toMap(NamedSet::ref, s -> s)));
        }
    }

    /** One rule; {@code numeric} as {@code nft -n} prints it, else readable. */
    private static String rule(Index plan, Rule rule, boolean numeric) {
        Family family = rule.chain().family();
        List<String> parts = new ArrayList<>();
        for (Match m : rule.matches()) {
            String text = match(plan, rule.chain(), rule, m, numeric);
            if (text != null) {
                parts.add(text);
            }
        }
        if (rule.counter()) {
            parts.add("counter");
        }
        parts.add(verdict(family, rule.verdict(), numeric));
        if (plan.userOwned().contains(rule.chain())) {
            parts.add(UserRules.MARK);
        }
        return String.join(" ", parts);
    }

    private static String op(boolean negated) {
        return negated ? " != " : " ";
    }

    private static String match(Index plan, ChainRef chain, Rule rule, Match m, boolean numeric) {
        return switch (m) {
            case Match.Interface i -> (i.direction() == Match.Direction.INPUT ? "iifname" : "oifname")
                    + op(i.negated()) + "\"" + i.name() + "\"";
            case Match.InterfaceGroup g -> (g.direction() == Match.Direction.INPUT ? "iifgroup" : "oifgroup")
                    + op(g.negated()) + g.group();
            case Match.Address a -> (a.prefix().version() == 4 ? "ip " : "ip6 ")
                    + (a.side() == Match.Side.SOURCE ? "saddr" : "daddr") + op(a.negated()) + a.prefix();
            case Match.L4 l -> {
                // nft drops "meta l4proto tcp" in front of a tcp (icmp) header match; so do we
                boolean implied = !l.negated() && rule.matches().stream()
                        .anyMatch(x -> x instanceof Match.Port p && p.protocol() == l.protocol()
                                || x instanceof Match.IcmpType t && t.protocol() == l.protocol());
                yield implied ? null : "meta l4proto" + op(l.negated()) + protocol(l.protocol(), numeric);
            }
            case Match.Port p -> p.protocol().keyword() + (p.side() == Match.Side.SOURCE ? " sport" : " dport")
                    + op(p.negated()) + (p.first() == p.last() ? p.first() + "" : p.first() + "-" + p.last());
            case Match.IcmpType t -> (t.protocol() == Match.Protocol.ICMP ? "icmp" : "icmpv6") + " type"
                    + op(t.negated()) + t.type();
            case Match.Conntrack c -> {
                List<String> states = c.states().stream().map(s -> numeric ? ctBit(s) : s.keyword()).toList();
                yield "ct state" + op(c.negated()) + String.join(c.negated() ? " | " : ",", states);
            }
            case Match.InSet s -> {
                NamedSet set = java.util.Objects.requireNonNull(plan.sets().get(SetRef.of(chain.family(), s.set())));
                String ip = set.type().ipVersion() == 4 ? "ip" : "ip6";
                String key = switch (s.key()) {
                    case SOURCE_ADDRESS -> ip + " saddr";
                    case DESTINATION_ADDRESS -> ip + " daddr";
                    case IIFNAME_SOURCE_ADDRESS -> "iifname . " + ip + " saddr";
                    case OIFNAME_DESTINATION_ADDRESS -> "oifname . " + ip + " daddr";
                    case SOURCE_DESTINATION_PROTOCOL -> ip + " saddr . " + ip + " daddr . meta l4proto";
                    case SOURCE_DESTINATION_PROTOCOL_PORT -> ip + " saddr . " + ip + " daddr . meta l4proto . th dport";
                };
                yield key + op(s.negated()) + "@" + s.set();
            }
        };
    }

    private static String protocol(Match.Protocol p, boolean numeric) {
        return switch (p) {
            case TCP -> numeric ? "6" : "tcp";
            case UDP -> numeric ? "17" : "udp";
            case ICMP -> numeric ? "1" : "icmp";
            case ICMPV6 -> numeric ? "58" : "ipv6-icmp";
        };
    }

    private static String ctBit(Match.CtState s) {
        return switch (s) {
            case INVALID -> "0x1";
            case ESTABLISHED -> "0x2";
            case RELATED -> "0x4";
            case NEW -> "0x8";
        };
    }

    private static String verdict(Family family, Verdict v, boolean numeric) {
        return switch (v) {
            case Verdict.Accept a -> "accept";
            case Verdict.Drop d -> "drop";
            case Verdict.Return r -> "return";
            case Verdict.Masquerade m -> "masquerade";
            case Verdict.Jump j -> "jump " + j.chain();
            case Verdict.Goto g -> "goto " + g.chain();
            case Verdict.Reject r -> switch (r.type()) {
                case PORT_UNREACHABLE -> "reject";
                case TCP_RESET -> "reject with tcp reset";
                case HOST_PROHIBITED -> switch (family) {
                    case IP -> numeric ? "reject with icmp 10" : "reject with icmp host-prohibited";
                    case IP6 -> numeric ? "reject with icmpv6 1" : "reject with icmpv6 admin-prohibited";
                    case INET -> numeric ? "reject with icmpx 3" : "reject with icmpx admin-prohibited";
                };
                case ADMIN_PROHIBITED -> switch (family) {
                    case IP -> numeric ? "reject with icmp 13" : "reject with icmp admin-prohibited";
                    case IP6 -> numeric ? "reject with icmpv6 1" : "reject with icmpv6 admin-prohibited";
                    case INET -> numeric ? "reject with icmpx 3" : "reject with icmpx admin-prohibited";
                };
            };
            case Verdict.Dnat d -> {
                boolean v6 = d.address().version() == 6;
                String to = d.port() == 0 ? d.address().text()
                        : (v6 ? "[" + d.address().text() + "]" : d.address().text()) + ":" + d.port();
                yield "dnat " + (family == Family.INET ? (v6 ? "ip6 " : "ip ") : "") + "to " + to;
            }
        };
    }

}
