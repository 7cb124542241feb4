package org.netvm.firewall.internal;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.netvm.dataplane.ChainRef;
import org.netvm.dataplane.Contribution;
import org.netvm.dataplane.IpAddress;
import org.netvm.dataplane.IpPrefix;
import org.netvm.dataplane.Match;
import org.netvm.dataplane.NamedSet;
import org.netvm.dataplane.Rule;
import org.netvm.dataplane.SetElement;
import org.netvm.dataplane.SetType;
import org.netvm.dataplane.Verdict;

/**
 * Pure: a guest chain's rules with runs of consecutive rules of one verdict turned into lookups in key sets
 * shared by all guests, keyed by the guest's own addresses. nft parses and evaluates a rule at several times
 * the cost of a set element, so a run of n rules becomes at most 4 rules (one per set kind: IPv4/IPv6 ×
 * with/without ports) and n elements per guest address:
 *
 * <pre>
 * ip daddr 192.168.1.0/24 tcp dport 443 accept        ip saddr . ip daddr . meta l4proto . th dport @fwk-0-4p-a-3 accept
 * tcp dport 8000-8080 accept                    →     ip6 saddr . ip6 daddr . meta l4proto . th dport @fwk-0-6p-a-3 accept
 * ip daddr 10.0.0.1 accept                            ip saddr . ip daddr . meta l4proto @fwk-0-4-a-3 accept
 *   fwk-0-4p-a-3 += { 10.137.0.5 . 192.168.1.0/24 . tcp . 443, 10.137.0.5 . 0.0.0.0/0 . tcp . 8000-8080 }
 *   fwk-0-6p-a-3 += { fd09::5 . ::/0 . tcp . 8000-8080 }   fwk-0-4-a-3 += { 10.137.0.5 . 10.0.0.1 . any }
 * </pre>
 *
 * Sets are named by run number, kind, verdict ({@code a} accept, {@code x} reject admin-prohibited) and a
 * shard ({@code domid % 16}, so a guest's change touches sets of ~1/16 of the guests); every guest declares
 * the sets it uses (identical declarations merge). Thousands of per-guest sets would cost the kernel more
 * than they save: it finds a set by name in a list, for every set and every lookup added. A guest's chain is
 * only reached for its own addresses (the dispatch), so only its elements can match there.
 *
 * <p>First match wins, so only consecutive rules with the same verdict merge, and the order inside a run does
 * not matter. A rule merges only if all its matches are set keys: a destination prefix, a protocol, a
 * destination port range (not negated); any other rule (ICMP type, ...) is kept as it is and ends the run. A
 * rule without a destination goes into both IPv4 and IPv6 sets (/0). An element that would overlap one already
 * in its set (the kernel refuses overlapping intervals of a concatenation) ends the run too. A run is kept as
 * plain rules when the lookups would not be fewer than its rules.
 */
final class KeyedRuns {
    static final int SHARDS = 16;

    private final int domid;
    private final ChainRef chain;
    private final List<IpAddress> sources;
    private final Contribution.Builder out;
    private final List<Rule> run = new ArrayList<>();
    private final List<Set<SetElement>> buckets = new ArrayList<>(); // by Bucket ordinal
    private Verdict verdict;
    private int runs;

    /** Which set of a run: IPv4/IPv6, with/without ports, in the order the lookups are written. */
    private enum Bucket {
        V4_PORT("4p", SetType.IPV4_SRC_DST_PROTO_PORT, Match.SetKey.SOURCE_DESTINATION_PROTOCOL_PORT),
        V4("4", SetType.IPV4_SRC_DST_PROTO, Match.SetKey.SOURCE_DESTINATION_PROTOCOL),
        V6_PORT("6p", SetType.IPV6_SRC_DST_PROTO_PORT, Match.SetKey.SOURCE_DESTINATION_PROTOCOL_PORT),
        V6("6", SetType.IPV6_SRC_DST_PROTO, Match.SetKey.SOURCE_DESTINATION_PROTOCOL);

        final String suffix;
        final SetType type;
        final Match.SetKey key;

        Bucket(String suffix, SetType type, Match.SetKey key) {
            this.suffix = suffix;
            this.type = type;
            this.key = key;
        }

        static Bucket of(int version, boolean ports) {
            return version == 4 ? (ports ? V4_PORT : V4) : (ports ? V6_PORT : V6);
        }
    }

    /** One element of a rule's keys (one per guest address of the key's IP version). */
    record Key(Bucket bucket, SetElement element) {
    }

    private KeyedRuns(int domid, ChainRef chain, List<IpAddress> sources, Contribution.Builder out) {
        this.domid = domid;
        this.chain = chain;
        this.sources = sources;
        this.out = out;
        for (int i = 0; i < Bucket.values().length; i++) {
            buckets.add(new LinkedHashSet<>());
        }
    }

    /**
     * Adds {@code rules} (of chain {@code chain}, in order) to {@code out}, runs merged into key sets with
     * elements for each of {@code sources} (the guest's addresses).
     */
    static void merge(int domid, ChainRef chain, List<IpAddress> sources, List<Rule> rules, Contribution.Builder out) {
        KeyedRuns k = new KeyedRuns(domid, chain, sources, out);
        for (Rule r : rules) {
            k.add(r);
        }
        k.flush();
    }

    /** The name of a run's set: {@code fwk-<run>-<4|4p|6|6p>-<a|x>-<shard>}. */
    static String setName(int run, String suffix, Verdict verdict, int domid) {
        return "fwk-" + run + "-" + suffix + "-" + (verdict instanceof Verdict.Accept ? "a" : "x") + "-"
                + domid % SHARDS;
    }

    /** The verdicts a run may have: accept and reject admin-prohibited (what Qubes' rules say). */
    private static boolean mergeable(Verdict v) {
        return v instanceof Verdict.Accept
                || v instanceof Verdict.Reject r && r.type() == Verdict.RejectType.ADMIN_PROHIBITED;
    }

    private void add(Rule r) {
        List<Key> keys = mergeable(r.verdict()) ? keys(r, sources) : null;
        if (keys == null || !r.verdict().equals(verdict) || overlaps(keys)) {
            flush();
        }
        if (keys == null) {
            out.rule(r);
            return;
        }
        verdict = r.verdict();
        run.add(r);
        keys.forEach(k -> buckets.get(k.bucket().ordinal()).add(k.element()));
    }

    private boolean overlaps(List<Key> keys) {
        for (Key k : keys) {
            for (SetElement e : buckets.get(k.bucket().ordinal())) {
                if (!e.equals(k.element()) && e.overlaps(k.element())) {
                    return true;
                }
            }
        }
        return false;
    }

    private void flush() {
        long lookups = buckets.stream().filter(b -> !b.isEmpty()).count();
        if (lookups >= run.size()) {
            run.forEach(out::rule);
        } else {
            for (Bucket b : Bucket.values()) {
                Set<SetElement> els = buckets.get(b.ordinal());
                if (!els.isEmpty()) {
                    NamedSet set = NamedSet.of(chain.family(), setName(runs, b.suffix, verdict, domid), b.type);
                    out.set(set).elements(set.ref(), els);
                    out.rule(Rule.in(chain).inSet(b.key, set.name()).verdict(verdict));
                }
            }
            runs++;
        }
        run.clear();
        buckets.forEach(Set::clear);
        verdict = null;
    }

    /** The set keys a rule is made of for {@code sources}, or null if it has a match no key expresses. */
    static List<Key> keys(Rule r, List<IpAddress> sources) {
        IpPrefix dst = null;
        Match.Protocol protocol = null;
        Match.Port port = null;
        for (Match m : r.matches()) {
            if (m instanceof Match.Address a && a.side() == Match.Side.DESTINATION && !a.negated() && dst == null) {
                dst = a.prefix();
            } else if (m instanceof Match.L4 l && !l.negated() && (protocol == null || protocol == l.protocol())) {
                protocol = l.protocol();
            } else if (m instanceof Match.Port p && p.side() == Match.Side.DESTINATION && !p.negated()
                    && port == null && (protocol == null || protocol == p.protocol())) {
                port = p;
                protocol = p.protocol();
            } else {
                return null;
            }
        }
        int[] versions = versions(dst, protocol);
        if (versions == null) {
            return null;
        }
        List<Key> keys = new ArrayList<>(2);
        for (int version : versions) {
            IpPrefix prefix = dst != null ? dst : new IpPrefix(IpAddress.of(version == 4 ? "0.0.0.0" : "::"), 0);
            for (IpAddress source : sources) {
                if (source.version() == version) {
                    SetElement e = port != null ? SetElement.key(source, prefix, protocol, port.first(), port.last())
                            : SetElement.key(source, prefix, protocol);
                    keys.add(new Key(Bucket.of(version, port != null), e));
                }
            }
        }
        return keys;
    }

    private static int[] versions(IpPrefix dst, Match.Protocol protocol) {
        int only = dst != null ? dst.version() : protocol == Match.Protocol.ICMP ? 4
                : protocol == Match.Protocol.ICMPV6 ? 6 : 0;
        if (dst != null && (protocol == Match.Protocol.ICMP && only == 6 || protocol == Match.Protocol.ICMPV6
                && only == 4)) {
            return null; // never matches (not planned so): kept as it is
        }
        return only == 0 ? new int[] {4, 6} : new int[] {only};
    }
}
