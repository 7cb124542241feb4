package org.netvm.guest.internal;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import org.netvm.kernel.Address;
import org.netvm.kernel.Batch;
import org.netvm.kernel.IpPrefix;
import org.netvm.kernel.MacAddress;
import org.netvm.kernel.Neighbour;
import org.netvm.kernel.Route;

/**
 * What {@code setup-ip} does, as kernel operations: the objects a configuration needs on an
 * interface, and the batch that moves the kernel from one configuration to the next (new objects
 * replaced in setup-ip's order, objects no longer wanted deleted first).
 */
public final class GuestPlanner {

    /** Interface group of a guest's uplink in Qubes. */
    public static final int GUEST_GROUP = 1;

    private GuestPlanner() {
    }

    /** The kernel objects of one configuration, in the order setup-ip creates them. */
    record Objects(List<Address> addresses, List<Neighbour> neighbours, List<Route> routes) {
        static final Objects NONE = new Objects(List.of(), List.of(), List.of());
    }

    static Objects objects(Optional<GuestNetwork> config, String dev) {
        if (config.isEmpty()) {
            return Objects.NONE;
        }
        GuestNetwork n = config.get();
        List<Address> addresses = new ArrayList<>();
        List<Neighbour> neighbours = new ArrayList<>();
        List<Route> routes = new ArrayList<>();
        addresses.add(Address.of(dev, n.address()));
        neighbours.add(Neighbour.permanent(n.gateway(), MacAddress.QUBES_GATEWAY, dev));
        routes.add(Route.to(IpPrefix.host(n.gateway()), dev));
        if (n.defaultRoute()) {
            routes.add(Route.defaultVia(n.gateway(), dev).withOnlink(true));
        }
        if (n.ip6().isPresent()) {
            addresses.add(Address.of(dev, IpPrefix.host(n.ip6().get())));
            if (n.gateway6().isPresent()) {
                InetAddress gw6 = n.gateway6().get();
                neighbours.add(Neighbour.permanent(gw6, MacAddress.QUBES_GATEWAY, dev));
                routes.add(Route.to(IpPrefix.host(gw6), dev));
                if (n.defaultRoute()) {
                    routes.add(Route.defaultVia(gw6, dev).withOnlink(true));
                }
            }
        }
        return new Objects(addresses, neighbours, routes);
    }

    /**
     * The batch from {@code applied} (what an earlier call put on {@code appliedDev}, or empty) to
     * {@code desired} on {@code dev}. Every wanted object is (re)placed, which is harmless when it
     * exists already and repairs drift.
     */
    public static Batch transition(Optional<GuestNetwork> applied, String appliedDev, Optional<GuestNetwork> desired,
            String dev) {
        Objects before = appliedDev == null ? Objects.NONE : objects(applied, appliedDev);
        Objects after = objects(desired, dev);
        Batch b = new Batch();
        // removals: routes, then neighbours, then addresses (the reverse of creation)
        for (Route r : reversed(minus(before.routes(), after.routes()))) {
            b.deleteRoute(r);
        }
        for (Neighbour n : minus(before.neighbours(), after.neighbours())) {
            b.deleteNeighbour(n.address(), n.device());
        }
        for (Address a : minus(before.addresses(), after.addresses())) {
            b.deleteAddress(a);
        }
        if (desired.isEmpty()) {
            return b;
        }
        // setup-ip's order: address, gateway neighbour, group + up, gateway route, default route
        b.replaceAddress(after.addresses().get(0));
        b.replaceNeighbour(after.neighbours().get(0));
        b.setLink(dev, GUEST_GROUP, true);
        for (Route r : after.routes()) {
            if (r.destination().address() instanceof java.net.Inet4Address) {
                b.replaceRoute(r);
            }
        }
        for (Address a : after.addresses().subList(1, after.addresses().size())) {
            b.replaceAddress(a);
        }
        for (Neighbour n : after.neighbours().subList(1, after.neighbours().size())) {
            b.replaceNeighbour(n);
        }
        for (Route r : after.routes()) {
            if (r.destination().address() instanceof java.net.Inet6Address) {
                b.replaceRoute(r);
            }
        }
        return b;
    }

    /** resolv.conf text for a configuration; empty when the guest's DNS is not ours to set. */
    public static Optional<String> resolvConf(Optional<GuestNetwork> config) {
        if (config.isEmpty() || !config.get().dnsServer()) {
            return Optional.empty();
        }
        StringBuilder b = new StringBuilder("# written by netvm from xenstore (qubes-primary-dns, qubes-secondary-dns)\n");
        for (InetAddress a : config.get().nameservers()) {
            b.append("nameserver ").append(a.getHostAddress()).append('\n');
        }
        return Optional.of(b.toString());
    }

    private static <T> List<T> minus(List<T> a, List<T> b) {
        Set<T> out = new LinkedHashSet<>(a);
        b.forEach(out::remove);
        return new ArrayList<>(out);
    }

    private static <T> List<T> reversed(List<T> l) {
        List<T> r = new ArrayList<>(l);
        java.util.Collections.reverse(r);
        return r;
    }
}
