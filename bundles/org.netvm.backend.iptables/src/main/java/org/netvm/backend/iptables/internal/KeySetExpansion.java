package org.netvm.backend.iptables.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeMap;
import org.netvm.dataplane.BackendException;
import org.netvm.dataplane.ChainRef;
import org.netvm.dataplane.IpAddress;
import org.netvm.dataplane.IpPrefix;
import org.netvm.dataplane.Match;
import org.netvm.dataplane.NamedSet;
import org.netvm.dataplane.Plan;
import org.netvm.dataplane.Rule;
import org.netvm.dataplane.SetElement;
import org.netvm.dataplane.SetRef;
import org.netvm.dataplane.Verdict;

/**
 * Pure: a plan whose lookups in key sets ({@link org.netvm.dataplane.SetType#withProtocol()}: source .
 * destination prefix . protocol [. port range]) are written out as one rule per element, in the lookup's
 * place, and the key sets left out. iptables has no set type for these tuples with "any protocol" and port
 * ranges (ipset's hash:net,port expands a range into one entry per port, and hash:ip,net,port would still
 * need one set per kind), and iptables is not the backend meant for speed: the plain rules are the simplest
 * exact equivalent (same verdict for each element, so their order does not matter). Element changes become
 * rule changes of the chains that look the set up, which the backend already rewrites chain by chain.
 *
 * <p>Key sets are shared by many guests (their elements keyed by each guest's source address). A chain
 * that every jump reaches with an {@code ip saddr <host>} match (a guest's chain under the firewall's
 * dispatch) gets only the elements of those sources: an element of another source could never match
 * there, and writing them all out in every guest's chain made 1 000 guests x 20 rules a million rules.
 */
final class KeySetExpansion {
    private KeySetExpansion() {
    }

    /** {@code plan} itself if it has no key set, else the expanded plan. */
    static Plan expand(Plan plan) throws BackendException {
        if (plan.sets().stream().noneMatch(s -> s.type().withProtocol())) {
            return plan;
        }
        Map<SetRef, NamedSet> keySets = new TreeMap<>();
        plan.sets().stream().filter(s -> s.type().withProtocol()).forEach(s -> keySets.put(s.ref(), s));
        Map<String, java.util.Set<IpAddress>> reachedFrom = hostSources(plan);
        Map<SetRef, Map<IpAddress, List<SetElement>>> bySource = new java.util.HashMap<>();
        keySets.keySet().forEach(ref -> {
            Map<IpAddress, List<SetElement>> m = new java.util.HashMap<>();
            plan.elements(ref).forEach(x -> m.computeIfAbsent(x.source(), k -> new ArrayList<>()).add(x));
            bySource.put(ref, m);
        });
        TreeMap<ChainRef, List<Rule>> rules = new TreeMap<>();
        for (Map.Entry<ChainRef, List<Rule>> e : plan.rules().entrySet()) {
            List<Rule> out = new ArrayList<>();
            java.util.Set<IpAddress> sources = reachedFrom.get(e.getKey().family() + " " + e.getKey().name());
            for (Rule r : e.getValue()) {
                expand(plan, keySets, bySource, r, sources, out);
            }
            rules.put(e.getKey(), out);
        }
        TreeMap<SetRef, SortedSet<SetElement>> elements = new TreeMap<>(plan.elements());
        keySets.keySet().forEach(elements::remove);
        return new Plan(plan.chains(), plan.sets().stream().filter(s -> !keySets.containsKey(s.ref())).toList(),
                rules, elements);
    }

    /**
     * For each chain (family and name) that every jump or goto reaches with a host source match: those
     * sources. A chain reached otherwise too, or not by a jump, is absent: all elements apply there.
     */
    static Map<String, java.util.Set<IpAddress>> hostSources(Plan plan) {
        Map<String, java.util.Set<IpAddress>> sources = new java.util.HashMap<>();
        java.util.Set<String> unrestricted = new java.util.HashSet<>();
        for (List<Rule> chain : plan.rules().values()) {
            for (Rule r : chain) {
                String target = r.verdict() instanceof Verdict.Jump j ? j.chain()
                        : r.verdict() instanceof Verdict.Goto g ? g.chain() : null;
                if (target == null) {
                    continue;
                }
                String key = r.chain().family() + " " + target;
                IpAddress host = null;
                for (Match m : r.matches()) {
                    if (m instanceof Match.Address a && a.side() == Match.Side.SOURCE && !a.negated()
                            && a.prefix().isHost()) {
                        host = a.prefix().address();
                    }
                }
                if (host == null) {
                    unrestricted.add(key);
                } else {
                    sources.computeIfAbsent(key, k -> new java.util.HashSet<>()).add(host);
                }
            }
        }
        unrestricted.forEach(sources::remove);
        return sources;
    }

    private static void expand(Plan plan, Map<SetRef, NamedSet> keySets,
            Map<SetRef, Map<IpAddress, List<SetElement>>> bySource, Rule r, java.util.Set<IpAddress> sources,
            List<Rule> out) throws BackendException {
        Match.InSet lookup = null;
        List<Match> others = new ArrayList<>();
        for (Match m : r.matches()) {
            if (m instanceof Match.InSet s && keySets.containsKey(SetRef.of(r.chain().family(), s.set()))) {
                if (s.negated() || lookup != null) {
                    throw new BackendException("iptables: a rule in " + r.chain() + " negates a key set lookup or "
                            + "looks up two (@" + s.set() + "); only one plain lookup can be written out");
                }
                lookup = s;
            } else {
                others.add(m);
            }
        }
        if (lookup == null) {
            out.add(r);
            return;
        }
        SetRef ref = SetRef.of(r.chain().family(), lookup.set());
        for (SetElement e : elementsFor(plan, bySource.get(ref), ref, sources)) {
            List<Match> matches = new ArrayList<>(others);
            matches.add(new Match.Address(Match.Side.SOURCE, IpPrefix.host(e.source()), false));
            matches.add(new Match.Address(Match.Side.DESTINATION, e.prefix(), false));
            if (e.hasPorts() && !(e.firstPort() <= 1 && e.lastPort() == 65535)) {
                if (e.lastPort() == 0) {
                    continue; // port 0 only: no TCP/UDP packet a guest may send (iptables cannot name it)
                }
                matches.add(new Match.Port(e.protocol(), Match.Side.DESTINATION, Math.max(1, e.firstPort()),
                        e.lastPort(), false));
            } else if (e.protocol() != null) {
                matches.add(new Match.L4(e.protocol(), false));
            }
            out.add(new Rule(r.chain(), r.order(), matches, r.counter(), r.verdict()));
        }
    }

    /**
     * The elements of key set {@code ref} in order, only those of {@code sources} if not null (another
     * guest's element: no packet from its source reaches that chain). Found by source, not by scanning
     * the whole set for each guest's chain (1 000 guests x 17 000 elements).
     */
    private static java.util.Collection<SetElement> elementsFor(Plan plan, Map<IpAddress, List<SetElement>> bySource,
            SetRef ref, java.util.Set<IpAddress> sources) {
        if (sources == null) {
            return plan.elements(ref);
        }
        if (sources.size() == 1) {
            return bySource.getOrDefault(sources.iterator().next(), List.of()); // in order already
        }
        java.util.TreeSet<SetElement> out = new java.util.TreeSet<>();
        for (IpAddress s : sources) {
            out.addAll(bySource.getOrDefault(s, List.of()));
        }
        return out;
    }
}
