package org.netvm.vif.internal;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Refuses guest addresses a vif may not have (pure, part of the planner): an address another online
 * guest holds (issue 15 #3). The first holder keeps working; the newcomer fails, and its error names
 * the holder.
 *
 * <p>vif-route-qubes accepts a duplicate: it adds a second host route with metric {@code 32752 - domid},
 * so the newer domain silently takes the older one's traffic, and both are in the anti-spoof rules.
 * netvm refuses it instead. A Qubes restart of one VM is not affected: the old domain's device is gone
 * (and its vif torn down) before the new domain's backend comes online.
 */
final class AddressGuard {

    private AddressGuard() {
    }

    /**
     * Checks the plans of one pass (sorted by vif) against each other and against the vifs programmed
     * outside it ({@code applied}); a refused plan is failed and torn down, without purging the
     * conntrack entries of the address it collided on (they belong to the holder).
     */
    static void refuse(List<VifPlan> plans, Map<String, Applied> applied) {
        Set<String> planned = new HashSet<>();
        plans.forEach(p -> planned.add(p.name()));
        Map<InetAddress, String> held = new HashMap<>();
        applied.forEach((name, a) -> {
            if (!planned.contains(name)) {
                addresses(a.spec()).forEach(x -> held.putIfAbsent(x, name));
            }
        });
        // vifs that keep the addresses they were programmed with go first (they are online), then the rest
        List<VifPlan> order = new ArrayList<>(plans.stream().filter(AddressGuard::keeps).toList());
        plans.stream().filter(p -> !keeps(p)).forEach(order::add);
        for (VifPlan p : order) {
            if (p.spec == null || p.failed) {
                continue;
            }
            String why = duplicate(p, held);
            if (why != null) {
                p.refuse(why);
            } else if (p.program) {
                addresses(p.spec).forEach(x -> held.put(x, p.name()));
            }
        }
    }

    private static String duplicate(VifPlan p, Map<InetAddress, String> held) {
        for (InetAddress a : addresses(p.spec)) {
            String holder = held.get(a);
            if (holder != null && !holder.equals(p.name())) {
                p.keepConntrack.add(a);
                return p.name() + ": ip " + VifSpec.text(a) + " is already held by " + holder + " (online)";
            }
        }
        return null;
    }

    /** Programmed before with the same addresses. */
    private static boolean keeps(VifPlan p) {
        return p.spec != null && p.before != null && p.before.spec().ipv4().equals(p.spec.ipv4())
                && Objects.equals(p.before.spec().ipv6(), p.spec.ipv6());
    }

    static List<InetAddress> addresses(VifSpec s) {
        return s.ipv6() == null ? List.of(s.ipv4()) : List.of(s.ipv4(), s.ipv6());
    }
}
