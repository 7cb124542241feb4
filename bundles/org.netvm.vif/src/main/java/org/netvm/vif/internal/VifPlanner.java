package org.netvm.vif.internal;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

import org.netvm.dataplane.Contribution;
import org.netvm.kernel.Address;
import org.netvm.kernel.IpPrefix;
import org.netvm.kernel.Link;
import org.netvm.kernel.Neighbour;
import org.netvm.kernel.Op;
import org.netvm.kernel.Route;
import org.netvm.kernel.Sysctl;
import org.netvm.vif.VifState.Desired;
import org.netvm.vif.internal.VifReconciler.Intent;

/**
 * The pure planner: desired state (validated {@link VifSpec}s) and observed state (the vif's device,
 * its {@link KernelObjects}, what the dataplane confirmed) in, a {@link VifPlan} of operations per
 * phase out. No I/O: golden-tested without a kernel ({@code src/test/resources/golden/planner-*}).
 * Only the difference is planned: a programmed, undrifted vif gets no operation.
 */
final class VifPlanner {
    private final String base;

    /** @param base the xenstore path of the vif backends (named in errors) */
    VifPlanner(String base) {
        this.base = base;
    }

    /**
     * Decides what one vif should be: online if xenstore has it (or the hotplug script said online)
     * and the script did not say offline; programmed if its values are valid and its device exists,
     * else torn down (failed for invalid values, pending while the device is missing).
     */
    VifPlan desire(VifName vif, Intent intent, XsEntry entry, String gateway, String gateway6, Link link,
            Applied before) {
        VifPlan p = new VifPlan(vif);
        p.link = link;
        p.before = before;
        boolean wanted = intent != Intent.OFFLINE && (entry != null || intent == Intent.ONLINE);
        p.desired = wanted ? Desired.ONLINE : Desired.OFFLINE;
        if (wanted) {
            if (entry == null) {
                p.fail(vif.name() + ": no xenstore entry " + vif.xenbusPath(base));
            } else {
                try {
                    p.spec = VifSpec.validate(vif, entry.ip(), entry.mac(), gateway, gateway6);
                } catch (VifSpec.InvalidVifException e) {
                    p.fail(e.getMessage());
                }
            }
            if (p.spec != null && link == null) {
                p.pending = "waiting for device " + vif.name();
            }
        } else if (entry == null && intent == null && link != null) {
            // an orphan device: not programmed, reported, and it delays nothing else
            p.pending = "device without a xenstore entry " + vif.xenbusPath(base) + ", not programmed";
        }
        p.program = p.spec != null && link != null;
        p.teardown = !p.program;
        return p;
    }

    /** The sysctls {@link #ops} compares for this plan (the caller reads them into the kernel objects). */
    static List<Sysctl> sysctlsToRead(VifPlan p) {
        if (!p.program) {
            return List.of();
        }
        String dev = p.spec.name();
        return p.spec.ipv6() == null ? List.of(Sysctl.disableIpv6(dev), Sysctl.proxyArp(dev))
                : List.of(Sysctl.disableIpv6(dev), Sysctl.proxyArp(dev), Sysctl.proxyNdp(dev));
    }

    /**
     * Plans the operations from the vif's kernel objects. {@code contributed}: the vif's anti-spoof
     * contribution the dataplane confirmed (null if none); {@code swept}: a full pass has run since
     * the start (before that, a torn-down vif's contribution is withdrawn in any case).
     */
    void ops(VifPlan p, KernelObjects kernel, Contribution contributed, boolean swept) {
        String dev = p.name();
        if (p.program) {
            program(p, kernel.routes(dev), kernel.neighbours(dev), kernel.addresses(dev), kernel, contributed);
        } else {
            teardown(p, kernel.routes(dev), kernel.neighbours(dev), kernel.addresses(dev), contributed, swept);
        }
    }

    private static void program(VifPlan p, List<Route> routes, List<Neighbour> neighbours, List<Address> addresses,
            KernelObjects kernel, Contribution contributed) {
        VifSpec s = p.spec;
        String dev = s.name();
        List<InetAddress> guest = guestAddresses(s);
        List<Route> wantRoutes = guest.stream().map(a -> Route.host(a, dev).withMetric(s.metric())).toList();
        List<Address> wantAddresses = new ArrayList<>();
        if (s.gateway() != null) {
            wantAddresses.add(Address.of(dev, IpPrefix.host(s.gateway())));
        }
        if (s.gateway6() != null) {
            wantAddresses.add(Address.of(dev, IpPrefix.host(s.gateway6())));
        }
        staleDeletes(p, guest, wantRoutes, wantAddresses, routes, neighbours, addresses);
        // 1. IPv6 off on the vif of an IPv4-only guest, before the link comes up (on for an IPv6 guest);
        //    proxy_arp (and proxy_ndp with IPv6)
        int ipv6Off = s.ipv6() == null ? 1 : 0;
        if (kernel.sysctl(Sysctl.disableIpv6(dev)) != ipv6Off) {
            p.sysctls.add(new Op.SysctlSet(Sysctl.disableIpv6(dev), ipv6Off));
        }
        if (kernel.sysctl(Sysctl.proxyArp(dev)) != 1) {
            p.sysctls.add(new Op.SysctlSet(Sysctl.proxyArp(dev), 1));
        }
        if (s.ipv6() != null && kernel.sysctl(Sysctl.proxyNdp(dev)) != 1) {
            p.sysctls.add(new Op.SysctlSet(Sysctl.proxyNdp(dev), 1));
        }
        // 3. permanent neighbours
        for (InetAddress a : guest) {
            if (neighbours.stream().noneMatch(n -> n.address().equals(a) && s.mac().equals(n.lladdr()))) {
                p.neighbours.add(new Op.NeighbourReplace(Neighbour.permanent(a, s.mac(), dev)));
            }
        }
        // 2. conntrack purge for a new attach (or a changed address); never for an adopted, working vif
        boolean newAttach = p.before == null || p.before.ifindex() != p.link.index()
                || !p.before.spec().ipv4().equals(s.ipv4()) || !Objects.equals(p.before.spec().ipv6(), s.ipv6());
        boolean routesMissing = wantRoutes.stream().anyMatch(w -> routes.stream().noneMatch(r -> sameRoute(w, r)));
        if (newAttach && (p.before != null || !p.neighbours.isEmpty() || routesMissing)) {
            p.purge.addAll(guest);
            purgeBefore(p);
        }
        // 4. anti-spoof elements (put when they differ from what the dataplane confirmed)
        Contribution c = AntiSpoof.contribution(s);
        if (!c.equals(contributed)) {
            p.contribution = c;
        }
        upOps(p, wantRoutes, wantAddresses, routes, addresses);
    }

    /** Stale objects on the device (a changed address, leftovers of an earlier incarnation). */
    private static void staleDeletes(VifPlan p, List<InetAddress> guest, List<Route> wantRoutes,
            List<Address> wantAddresses, List<Route> routes, List<Neighbour> neighbours, List<Address> addresses) {
        for (Route r : routes) {
            if (wantRoutes.stream().noneMatch(w -> sameRoute(w, r))) {
                p.deletes.add(new Op.RouteDelete(r));
            }
        }
        for (Neighbour n : neighbours) {
            if (!guest.contains(n.address())) {
                p.deletes.add(new Op.NeighbourDelete(n));
            }
        }
        for (Address a : addresses) {
            if (wantAddresses.stream().noneMatch(w -> w.prefix().equals(a.prefix()))) {
                p.deletes.add(new Op.AddressDelete(a));
            }
        }
    }

    private static void upOps(VifPlan p, List<Route> wantRoutes, List<Address> wantAddresses, List<Route> routes,
            List<Address> addresses) {
        // 5. group 2 + up
        if (p.link.group() != AntiSpoof.VIF_GROUP || !p.link.up()) {
            p.upOps.add(new Op.LinkSet(p.name(), AntiSpoof.VIF_GROUP, Op.Admin.UP));
        }
        // 6. host routes, metric 32752 - domid
        for (Route w : wantRoutes) {
            if (routes.stream().noneMatch(r -> sameRoute(w, r))) {
                p.upOps.add(new Op.RouteReplace(w));
            }
        }
        // 7. the netvm's address(es) on the vif
        for (Address w : wantAddresses) {
            if (addresses.stream().noneMatch(a -> a.prefix().equals(w.prefix()))) {
                p.upOps.add(new Op.AddressReplace(w));
            }
        }
    }

    private static void teardown(VifPlan p, List<Route> routes, List<Neighbour> neighbours, List<Address> addresses,
            Contribution contributed, boolean swept) {
        routes.forEach(r -> p.deletes.add(new Op.RouteDelete(r)));
        neighbours.forEach(n -> p.deletes.add(new Op.NeighbourDelete(n)));
        addresses.forEach(a -> p.deletes.add(new Op.AddressDelete(a)));
        p.removeContribution = contributed != null || !swept;
        purgeBefore(p);
    }

    private static void purgeBefore(VifPlan p) {
        if (p.before != null) {
            p.purge.add(p.before.spec().ipv4());
            if (p.before.spec().ipv6() != null) {
                p.purge.add(p.before.spec().ipv6());
            }
        }
        p.purge.removeAll(p.keepConntrack);
    }

    private static List<InetAddress> guestAddresses(VifSpec s) {
        List<InetAddress> guest = new ArrayList<>();
        guest.add(s.ipv4());
        if (s.ipv6() != null) {
            guest.add(s.ipv6());
        }
        return guest;
    }

    /** Same destination, device, metric, table and no gateway (scope is not compared: IPv6 has none). */
    private static boolean sameRoute(Route want, Route got) {
        return want.destination().equals(got.destination()) && Objects.equals(want.device(), got.device())
                && want.metric() == got.metric() && got.gateway() == null && want.table() == got.table();
    }
}
