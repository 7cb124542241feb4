package org.netvm.backend.iptables.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import org.netvm.dataplane.BackendException;
import org.netvm.dataplane.ChainRef;
import org.netvm.dataplane.IpPrefix;
import org.netvm.dataplane.Match;
import org.netvm.dataplane.NamedSet;
import org.netvm.dataplane.Plan;
import org.netvm.dataplane.Rule;
import org.netvm.dataplane.SetElement;
import org.netvm.dataplane.SetRef;

/**
 * Pure: a plan whose lookups in key sets ({@link org.netvm.dataplane.SetType#withProtocol()}: source .
 * destination prefix . protocol [. port range]) are written out as one rule per element, in the lookup's
 * place, and the key sets left out. iptables has no set type for these tuples with "any protocol" and port
 * ranges (ipset's hash:net,port expands a range into one entry per port, and hash:ip,net,port would still
 * need one set per kind), and iptables is not the backend meant for speed: the plain rules are the simplest
 * exact equivalent (same verdict for each element, so their order does not matter). Element changes become
 * rule changes of the chains that look the set up, which the backend already rewrites chain by chain.
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
        TreeMap<ChainRef, List<Rule>> rules = new TreeMap<>();
        for (Map.Entry<ChainRef, List<Rule>> e : plan.rules().entrySet()) {
            List<Rule> out = new ArrayList<>();
            for (Rule r : e.getValue()) {
                expand(plan, keySets, r, out);
            }
            rules.put(e.getKey(), out);
        }
        TreeMap<SetRef, SortedSet<SetElement>> elements = new TreeMap<>(plan.elements());
        keySets.keySet().forEach(elements::remove);
        return new Plan(plan.chains(), plan.sets().stream().filter(s -> !keySets.containsKey(s.ref())).toList(),
                rules, elements);
    }

    private static void expand(Plan plan, Map<SetRef, NamedSet> keySets, Rule r, List<Rule> out)
            throws BackendException {
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
        SortedMap<SetRef, SortedSet<SetElement>> all = plan.elements();
        for (SetElement e : all.getOrDefault(SetRef.of(r.chain().family(), lookup.set()),
                java.util.Collections.emptySortedSet())) {
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
}
