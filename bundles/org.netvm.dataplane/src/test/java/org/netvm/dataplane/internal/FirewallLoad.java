package org.netvm.dataplane.internal;

import java.lang.reflect.Constructor;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.netvm.dataplane.Contribution;
import org.netvm.dataplane.IpAddress;

/**
 * The per-guest firewall of {@code tests/bench/firewall.sh} for the swap benchmark: each guest's 20 Qubes
 * rules (the same entries as {@code FirewallBenchmark.rules(d, 0)} of org.netvm.firewall), put through the
 * real firewall's parser, planner and dispatch ({@code RuleParser.parse}, {@code FirewallPlanner.plan},
 * {@code FirewallPlanner.closed}, {@code FirewallPlanner.dns}, {@code FirewallDispatch.plan}), so the kernel rule count follows the
 * planner as it changes. Reached by reflection (like {@code PolicyRules}): this module does not compile
 * against the firewall's internals; a changed signature there is reported as a skipped benchmark.
 */
final class FirewallLoad {
    private static final String PKG = "org.netvm.firewall.internal.";
    private static final List<IpAddress> DNS = List.of(IpAddress.of("192.168.0.1"), IpAddress.of("9.9.9.9"));

    private final Method parse;
    private final Constructor<?> input;
    private final Method plan;
    private final Method closed;
    private final Method dns;
    private final Method dispatch;

    FirewallLoad() throws ReflectiveOperationException {
        ClassLoader cl = FirewallLoad.class.getClassLoader();
        Class<?> planner = Class.forName(PKG + "FirewallPlanner", true, cl);
        Class<?> in = Class.forName(PKG + "FirewallPlanner$Input", true, cl);
        parse = accessible(Class.forName(PKG + "RuleParser", true, cl).getDeclaredMethod("parse", Map.class));
        input = in.getDeclaredConstructors()[0];
        input.setAccessible(true);
        plan = accessible(planner.getDeclaredMethod("plan", in));
        closed = accessible(planner.getDeclaredMethod("closed"));
        dns = accessible(planner.getDeclaredMethod("dns", List.class));
        dispatch = accessible(Class.forName(PKG + "FirewallDispatch", true, cl).getDeclaredMethod("plan", Map.class));
    }

    private static Method accessible(Method m) {
        m.setAccessible(true);
        return m;
    }

    /** Guest {@code domid}'s xenstore entries {@code qubes-firewall/<domid>/...}: policy drop and 20 rules. */
    static Map<String, String> entries(int domid, int variant) {
        int d = domid;
        Map<String, String> m = new HashMap<>(Map.of("policy", "drop"));
        String[] r = {
            "action=accept proto=tcp dst4=192.168." + d % 250 + ".0/24 dstports=443",
            "action=accept proto=tcp dstports=" + (8000 + variant) + "-8080",
            "action=accept specialtarget=dns",
            "action=accept proto=icmp icmptype=8",
            "action=drop dst6=2001:db8::/32",
            "action=accept proto=udp dst4=10.20." + d % 250 + ".1 dstports=123",
        };
        for (int i = 0; i < 20; i++) {
            m.put(String.format("%04d", i), i < r.length ? r[i]
                    : "action=accept proto=tcp dst4=172.16." + i + "." + d % 250 + " dstports=" + (1000 + i));
        }
        return m;
    }

    /** The guest's contribution {@code firewall/<domid>} for its {@code addresses}, as the firewall component would put it. */
    Contribution guest(int domid, int variant, List<IpAddress> addresses) throws ReflectiveOperationException {
        Object rules = parse.invoke(null, entries(domid, variant));
        return (Contribution) plan.invoke(null, input.newInstance(domid, rules, Map.of(), 0L, addresses));
    }

    /**
     * Every contribution of an enabled firewall for {@code guests} (domid → addresses): catch-all, the DNS
     * servers' sets, chains, dispatch.
     */
    List<Contribution> contributions(Map<Integer, List<IpAddress>> guests) throws ReflectiveOperationException {
        List<Contribution> all = new ArrayList<>();
        all.add((Contribution) closed.invoke(null));
        all.add((Contribution) dns.invoke(null, DNS));
        for (int domid : guests.keySet()) {
            all.add(guest(domid, 0, guests.get(domid)));
        }
        all.add((Contribution) dispatch.invoke(null, guests)); // last: it jumps to the guests' chains
        return all;
    }
}
