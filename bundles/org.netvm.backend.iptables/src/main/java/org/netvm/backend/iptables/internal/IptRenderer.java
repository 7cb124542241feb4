package org.netvm.backend.iptables.internal;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.netvm.dataplane.BackendException;
import org.netvm.dataplane.Chain;
import org.netvm.dataplane.ChainRef;
import org.netvm.dataplane.Family;
import org.netvm.dataplane.Hook;
import org.netvm.dataplane.Match;
import org.netvm.dataplane.NamedSet;
import org.netvm.dataplane.Plan;
import org.netvm.dataplane.Policy;
import org.netvm.dataplane.Priority;
import org.netvm.dataplane.Rule;
import org.netvm.dataplane.SetElement;
import org.netvm.dataplane.SetRef;
import org.netvm.dataplane.SetType;
import org.netvm.dataplane.Verdict;

/**
 * Renders a {@link Plan} into what netvm owns in iptables terms: per IP version and table the owned
 * chains with their rules and the hooks into them, plus the ipsets, all in the exact text
 * {@code iptables-save} and {@code ipset save} print (so rendering and reading back compare equal).
 *
 * <h2>Sets: ipset, not per-set chains</h2>
 * A model set becomes one ipset ({@code hash:ip} for addresses, {@code hash:net,iface} for
 * interface . address pairs, matched with {@code -m set --match-set NAME src,src}). The alternative,
 * a chain {@code NETVM-SET-name} with one rule per element, needs no second tool and would be applied
 * inside the same atomic {@code iptables-restore} as the rules, but every packet from a guest walks
 * that chain linearly (10 000 rules for 10 000 guests, on the hot path of all forwarded traffic), and
 * every guest that comes or goes rewrites the whole chain: measured in a namespace (BenchmarkTest, on a
 * loaded 2-vCPU machine) 18 / 43 / 233 ms for 100 / 1 000 / 10 000 elements and growing linearly, while
 * the ipset path is one {@code ipset restore} with one or two lines (23-45 ms here, almost all of it
 * process start, independent of the set size) and a hash lookup per packet. The price of ipset is a
 * second tool, so the apply is not one kernel transaction; {@link IptablesBackend#apply} orders the
 * steps so that in the windows between them a set holds the union of its old and new elements and no
 * rule refers to a missing set.
 *
 * <h2>Chains and tables</h2>
 * There is no table per family as in nftables: a base chain lands in the iptables table its type and
 * priority select (filter at raw priority: {@code raw}; at mangle priority: {@code mangle}; at filter
 * priority: {@code filter}; nat at dstnat/srcnat: {@code nat}; route: {@code mangle OUTPUT}); other
 * priorities have no iptables equivalent and are refused. A chain of family {@code inet} exists in
 * both iptables and ip6tables; each rule goes to the IP version(s) its addresses, sets, ICMP protocol or
 * dnat target imply. A regular chain is rendered into every table (and version) from whose base
 * chains it is reachable by jump/goto. Chain names are {@code <prefix><name>} ({@code inet}),
 * {@code <prefix>4-<name>} ({@code ip}), {@code <prefix>6-<name>} ({@code ip6}), shortened with a hash
 * when longer than iptables' 28 characters.
 *
 * <h2>Base chain policy without touching built-in policies</h2>
 * iptables has one built-in chain per table and hook, owned by whoever set its policy (the admin,
 * Docker, firewalld): netvm never changes it. A netvm base chain is a user chain entered by one jump
 * from the built-in chain, inserted at its top. Its policy is emulated at the end of the chain: policy
 * drop appends {@code -m comment --comment netvm-policy -j DROP}; policy accept appends nothing, so the
 * packet returns to the built-in chain and the remaining (foreign) rules and built-in policy decide,
 * just as the next nftables base chain would. Two constructs would otherwise bypass an emulated drop
 * policy by returning into the built-in chain, and are rewritten: {@code return} in a base chain
 * becomes the policy verdict, and {@code goto X} in a base chain with policy drop becomes
 * {@code -j X} followed by a rule with the same matches and {@code -j DROP} (in nftables, a goto from a
 * base chain ends in its policy). Difference left: an {@code accept} in a netvm chain ends the
 * built-in chain of that table, so foreign rules further down that same built-in chain do not see the
 * packet (with nftables they would, in their own base chain). Drop is final in both.
 *
 * <h2>What cannot be expressed</h2>
 * Refused with {@link BackendException} before anything is run: two address (or interface) matches on
 * the same side in one rule, contradicting protocols, reject reachable from prerouting/postrouting,
 * dnat outside nat prerouting/output, masquerade outside nat postrouting, a rule whose matches need
 * both IPv4 and IPv6. Counters: every iptables rule counts, so the model's counter flag changes
 * nothing.
 */
final class IptRenderer {
    static final int CHAIN_MAX = 28;
    static final int SET_MAX = 31;
    static final String POLICY_DROP = "-m comment --comment netvm-policy -j DROP";
    private static final int MAXELEM = 1048576;
    private static final Pattern PREFIX = Pattern.compile("[A-Za-z][A-Za-z0-9_-]{0,11}");

    private final String prefix;
    private final IptRules rules = new IptRules(this);

    IptRenderer(String prefix) {
        if (prefix == null || !PREFIX.matcher(prefix).matches()) {
            throw new IllegalArgumentException("chain prefix must match ^[A-Za-z][A-Za-z0-9_-]{0,11}$: " + prefix);
        }
        this.prefix = prefix;
    }

    String prefix() {
        return prefix;
    }

    /** The iptables name of chain {@code name} of {@code family}. */
    String chainName(Family family, String name) {
        return fit(prefix + tag(family) + name, CHAIN_MAX);
    }

    /** The ipset name of {@code set}; the type is part of it, so a type change makes a new set. */
    String setName(NamedSet set) {
        String code = switch (set.type()) {
            case IPV4_ADDR -> "a4";
            case IPV6_ADDR -> "a6";
            case IFNAME_IPV4_ADDR -> "i4";
            case IFNAME_IPV6_ADDR -> "i6";
            case IPV4_SRC_DST_PROTO, IPV6_SRC_DST_PROTO, IPV4_SRC_DST_PROTO_PORT, IPV6_SRC_DST_PROTO_PORT ->
                    throw new IllegalArgumentException("a key set is written out as rules, not an ipset: "
                            + set.name());
        };
        return fit(prefix + tag(set.family()) + set.name() + "." + code, SET_MAX);
    }

    private static String tag(Family family) {
        return switch (family) {
            case INET -> "";
            case IP -> "4-";
            case IP6 -> "6-";
        };
    }

    /** {@code name} if short enough, else its head plus 6 hex digits of its SHA-256. */
    private static String fit(String name, int max) {
        if (name.length() <= max) {
            return name;
        }
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(name.getBytes(StandardCharsets.UTF_8));
            return name.substring(0, max - 7) + "-" + HexFormat.of().formatHex(h, 0, 3);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static String setHeader(SetType type) {
        return switch (type) {
            case IPV4_ADDR -> "hash:ip family inet";
            case IPV6_ADDR -> "hash:ip family inet6";
            case IFNAME_IPV4_ADDR -> "hash:net,iface family inet";
            case IFNAME_IPV6_ADDR -> "hash:net,iface family inet6";
            // written out as rules (KeySetExpansion), never an ipset
            case IPV4_SRC_DST_PROTO, IPV6_SRC_DST_PROTO, IPV4_SRC_DST_PROTO_PORT, IPV6_SRC_DST_PROTO_PORT ->
                    throw new IllegalArgumentException("a key set is not an ipset: " + type);
        };
    }

    /** The {@code ipset restore} line creating set {@code name}. */
    static String createLine(String name, SetState set) {
        return "create " + name + " " + set.header() + " maxelem " + MAXELEM;
    }

    /** An element as {@code ipset save} prints it: {@code 10.137.0.5} or {@code 10.137.0.5,vif3.0}. */
    static String element(SetElement e) {
        return e.ifname() == null ? e.address().text() : e.address().text() + "," + e.ifname();
    }

    private static Set<Integer> versions(Family family) {
        return switch (family) {
            case IP -> Set.of(4);
            case IP6 -> Set.of(6);
            case INET -> Set.of(4, 6);
        };
    }

    /** Where a base chain goes in iptables. */
    record Attachment(IptTable table, Hook hook) {
    }

    static Attachment attachment(Chain chain) throws BackendException {
        Chain.Base b = chain.base();
        Priority p = b.priority();
        Hook h = b.hook();
        IptTable t = switch (b.type()) {
            case FILTER -> p.equals(Priority.RAW) ? IptTable.RAW
                    : p.equals(Priority.MANGLE) ? IptTable.MANGLE
                    : p.equals(Priority.FILTER) ? IptTable.FILTER : null;
            case NAT -> (h == Hook.PREROUTING || h == Hook.OUTPUT) && p.equals(Priority.DSTNAT)
                    || (h == Hook.POSTROUTING || h == Hook.INPUT) && p.equals(Priority.SRCNAT) ? IptTable.NAT : null;
            case ROUTE -> h == Hook.OUTPUT && p.equals(Priority.MANGLE) ? IptTable.MANGLE : null;
        };
        if (t == null || !t.has(h)) {
            throw new BackendException("base chain " + chain.ref() + " (type " + b.type().keyword() + " hook "
                    + h.keyword() + " priority " + p.value() + ") has no iptables equivalent: iptables offers "
                    + "filter chains at raw (-300, prerouting/output), mangle (-150) and filter (0, input/forward/"
                    + "output) priority, nat chains at dstnat (-100, prerouting/output) and srcnat (100, "
                    + "postrouting/input), route chains at mangle priority on output");
        }
        return new Attachment(t, h);
    }

    /** The iptables names of the plan's {@link Chain#userOwned user-owned} chains. */
    Set<String> userChains(Plan plan) {
        Set<String> out = new java.util.TreeSet<>();
        plan.chains().stream().filter(Chain::userOwned).forEach(c -> out.add(chainName(c.family(), c.name())));
        return out;
    }

    /** Renders {@code plan}; throws if some part of it cannot be expressed with iptables and ipset. */
    Snapshot render(Plan given) throws BackendException {
        Plan plan = KeySetExpansion.expand(given);
        // 1. place chains: base chains by attachment, regular chains wherever they are reachable from
        Map<TableKey, Map<ChainRef, EnumSet<Hook>>> placed = new TreeMap<>();
        ArrayDeque<Object[]> work = new ArrayDeque<>();
        Map<ChainRef, Attachment> attachments = new LinkedHashMap<>();
        for (Chain c : plan.chains()) {
            if (c.isBase()) {
                Attachment a = attachment(c);
                attachments.put(c.ref(), a);
                for (int v : versions(c.family())) {
                    TableKey key = new TableKey(v, a.table());
                    placed.computeIfAbsent(key, k -> new TreeMap<>()).put(c.ref(), EnumSet.of(a.hook()));
                    work.add(new Object[] {key, c.ref()});
                }
            }
        }
        propagate(plan, placed, work);
        for (Chain c : plan.chains()) {
            if (c.isBase()) {
                continue;
            }
            for (int v : versions(c.family())) {
                boolean somewhere = placed.entrySet().stream()
                        .anyMatch(e -> e.getKey().version() == v && e.getValue().containsKey(c.ref()));
                if (!somewhere) {
                    // not reachable from any base chain: keep it where its verdicts are valid
                    boolean nat = plan.rules(c.ref()).stream().anyMatch(r -> r.verdict() instanceof Verdict.Dnat
                            || r.verdict() instanceof Verdict.Masquerade);
                    TableKey key = new TableKey(v, nat ? IptTable.NAT : IptTable.FILTER);
                    placed.computeIfAbsent(key, k -> new TreeMap<>()).put(c.ref(), EnumSet.noneOf(Hook.class));
                    work.add(new Object[] {key, c.ref()});
                    propagate(plan, placed, work);
                }
            }
        }
        // 2. render every placed chain (chains found by a map: Plan.chain searches the list, and with a
        // chain per guest that made rendering quadratic, seconds for 1 000 guests)
        Map<ChainRef, Chain> byRef = new java.util.HashMap<>();
        plan.chains().forEach(c -> byRef.put(c.ref(), c));
        TreeMap<TableKey, TableState> tables = new TreeMap<>();
        for (Map.Entry<TableKey, Map<ChainRef, EnumSet<Hook>>> e : placed.entrySet()) {
            TableKey key = e.getKey();
            TreeMap<String, List<String>> chains = new TreeMap<>();
            List<String> hooks = new ArrayList<>();
            for (Map.Entry<ChainRef, EnumSet<Hook>> ce : e.getValue().entrySet()) {
                ChainRef ref = ce.getKey();
                Chain chain = byRef.get(ref);
                String name = chainName(ref.family(), ref.name());
                List<String> specs = new ArrayList<>();
                for (Rule r : plan.rules(ref)) {
                    if (IptRules.appliesTo(plan, r, key.version())) {
                        specs.addAll(rules.rule(plan, r, chain, key, ce.getValue()));
                    }
                }
                if (chain.isBase()) {
                    if (chain.base().policy() == Policy.DROP) {
                        specs.add(POLICY_DROP);
                    }
                    hooks.add(Snapshot.hook(IptTable.builtin(attachments.get(ref).hook()), name));
                }
                if (chains.put(name, specs) != null) {
                    throw new BackendException("two chains map to the iptables chain name " + name);
                }
            }
            tables.put(key, new TableState(chains, hooks));
        }
        // 3. sets
        TreeMap<String, SetState> sets = new TreeMap<>();
        for (NamedSet s : plan.sets()) {
            TreeSet<String> els = new TreeSet<>();
            plan.elements(s.ref()).forEach(x -> els.add(element(x)));
            if (sets.put(setName(s), new SetState(setHeader(s.type()), els)) != null) {
                throw new BackendException("two sets map to the ipset name " + setName(s));
            }
        }
        return new Snapshot(tables, sets);
    }

    /** Spreads placement (and the hooks a chain is reachable from) along jump/goto edges. */
    private static void propagate(Plan plan, Map<TableKey, Map<ChainRef, EnumSet<Hook>>> placed,
            ArrayDeque<Object[]> work) throws BackendException {
        while (!work.isEmpty()) {
            Object[] item = work.poll();
            TableKey key = (TableKey) item[0];
            ChainRef ref = (ChainRef) item[1];
            Map<ChainRef, EnumSet<Hook>> inTable = placed.get(key);
            EnumSet<Hook> hooks = inTable.get(ref);
            for (Rule r : plan.rules(ref)) {
                String target = switch (r.verdict()) {
                    case Verdict.Jump j -> j.chain();
                    case Verdict.Goto g -> g.chain();
                    default -> null;
                };
                if (target == null || !IptRules.appliesTo(plan, r, key.version())) {
                    continue;
                }
                ChainRef to = new ChainRef(ref.family(), target);
                EnumSet<Hook> have = inTable.get(to);
                if (have == null) {
                    inTable.put(to, EnumSet.copyOf(hooks));
                    work.add(new Object[] {key, to});
                } else if (!have.containsAll(hooks)) {
                    have.addAll(hooks);
                    work.add(new Object[] {key, to});
                }
            }
        }
    }
}
