package org.netvm.vif.internal;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;

/**
 * Refuses guest addresses a vif may not have (pure, part of the planner):
 * <ul>
 * <li>one of the netvm's own (issue 15 #4): its uplink addresses and routers, the gateway, gateway6,
 * DNS1/DNS2 ({@code reserved}). This is checked for online guests too, on every pass: a guest whose
 * address collides after an uplink change is cut off (torn down, failed with the reason);</li>
 * <li>an address another online guest holds (issue 15 #3). The first holder keeps working; the
 * newcomer fails, and its error names the holder.</li>
 * </ul>
 * A refused vif's conntrack entries for the colliding address are not purged (they are not its own).
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
     * outside it ({@code holders}: the vifs whose applied spec holds each address); a refused plan is
     * failed and torn down, without purging the conntrack entries of the address it collided on (they
     * belong to the holder). Costs in proportion to the plans, not to the vifs programmed.
     */
    static void refuse(List<VifPlan> plans, Map<InetAddress, Set<String>> holders, Map<InetAddress, String> reserved,
            KernelObjects kernel) {
        Set<String> planned = new HashSet<>();
        plans.forEach(p -> planned.add(p.name()));
        // the addresses claimed in this pass, else the holder outside it
        Map<InetAddress, String> claimed = new HashMap<>();
        Function<InetAddress, String> held = a -> {
            String c = claimed.get(a);
            return c != null ? c : holders.getOrDefault(a, Set.of()).stream().filter(n -> !planned.contains(n))
                    .findFirst().orElse(null);
        };
        // vifs that keep the addresses they were programmed with go first (they are online; after a
        // restart: their routes are in the kernel), then the rest
        List<VifPlan> order = new ArrayList<>(plans.stream().filter(p -> keeps(p, kernel)).toList());
        plans.stream().filter(p -> !keeps(p, kernel)).forEach(order::add);
        for (VifPlan p : order) {
            if (p.spec == null || p.failed) {
                continue;
            }
            String why = reserved(p, reserved);
            if (why == null) {
                why = duplicate(p, held);
            }
            if (why != null) {
                p.refuse(why);
            } else if (p.program) {
                addresses(p.spec).forEach(x -> claimed.put(x, p.name()));
            }
        }
    }

    private static String reserved(VifPlan p, Map<InetAddress, String> reserved) {
        for (InetAddress a : addresses(p.spec)) {
            String what = reserved.get(a);
            if (what != null) {
                p.keepConntrack.add(a);
                return p.name() + ": ip " + VifSpec.text(a) + " is " + what;
            }
        }
        return null;
    }

    /** The netvm's own addresses: {@code raw} (text from xenstore) parsed where valid, plus the uplink's. */
    static Map<InetAddress, String> reserved(Map<String, String> raw, Map<InetAddress, String> uplink) {
        Map<InetAddress, String> out = new HashMap<>(uplink);
        raw.forEach((text, what) -> {
            try {
                out.put(org.netvm.kernel.IpPrefix.parseAddress(text), what);
            } catch (IllegalArgumentException e) {
                // not an address: VifSpec reports an invalid gateway; DNS keys only reserve what they name
            }
        });
        return out;
    }

    private static String duplicate(VifPlan p, Function<InetAddress, String> held) {
        for (InetAddress a : addresses(p.spec)) {
            String holder = held.apply(a);
            if (holder != null && !holder.equals(p.name())) {
                p.keepConntrack.add(a);
                return p.name() + ": ip " + VifSpec.text(a) + " is already held by " + holder + " (online)";
            }
        }
        return null;
    }

    /** Programmed before with the same addresses, or (after a restart) its host route is in the kernel. */
    private static boolean keeps(VifPlan p, KernelObjects kernel) {
        if (p.spec == null) {
            return false;
        }
        if (p.before != null) {
            return p.before.spec().ipv4().equals(p.spec.ipv4()) && Objects.equals(p.before.spec().ipv6(), p.spec.ipv6());
        }
        return kernel.routes(p.name()).stream().anyMatch(r -> r.destination().address().equals(p.spec.ipv4()));
    }

    static List<InetAddress> addresses(VifSpec s) {
        return s.ipv6() == null ? List.of(s.ipv4()) : List.of(s.ipv4(), s.ipv6());
    }
}
