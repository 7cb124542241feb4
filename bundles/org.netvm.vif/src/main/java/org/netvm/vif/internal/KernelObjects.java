package org.netvm.vif.internal;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import java.util.stream.Collectors;

import org.netvm.kernel.Address;
import org.netvm.kernel.Kernel;
import org.netvm.kernel.KernelException;
import org.netvm.kernel.Neighbour;
import org.netvm.kernel.Route;
import org.netvm.kernel.Scope;
import org.netvm.kernel.Sysctl;

/**
 * What the kernel has on vif devices, by device: routes of protocol netvm in the main table,
 * permanent neighbours, global host addresses, and the sysctls the planner compares (by path; -1
 * when unreadable). The planner's observed state. When the whole namespace was dumped, also the
 * netvm's own world: the addresses and the routers of its non-vif devices ({@code netvm}, each with
 * what it is; {@code null} after a per-device read).
 */
record KernelObjects(Map<String, List<Route>> routes, Map<String, List<Neighbour>> neighbours,
        Map<String, List<Address>> addresses, Map<String, Integer> sysctls, Map<InetAddress, String> netvm) {

    private interface DeviceRead<T> {
        List<T> read(String device) throws KernelException;
    }

    /** Reads the objects of {@code names}: per device for a few vifs, else whole dumps ({@code full}: every vif). */
    static KernelObjects read(Kernel kernel, Set<String> names, boolean full) throws KernelException {
        return read(kernel, names, full, n -> false);
    }

    /**
     * {@link #read(Kernel, Set, boolean)}, where a per-device read leaves out the devices that hold
     * nothing of netvm's ({@code empty}, e.g. {@link LinkInput#fresh}): their route and neighbour
     * dumps walk the whole table, thousands of entries with as many guests.
     */
    static KernelObjects read(Kernel kernel, Set<String> names, boolean full, Predicate<String> empty)
            throws KernelException {
        // a few vifs: their own objects only (the namespace may hold thousands of others)
        boolean perDevice = !full && names.size() <= LinkInput.PER_DEVICE_LIMIT;
        Set<String> read = perDevice ? names.stream().filter(empty.negate()).collect(Collectors.toSet()) : names;
        KernelObjects o = new KernelObjects(new HashMap<>(), new HashMap<>(), new HashMap<>(), new HashMap<>(),
                perDevice ? null : new LinkedHashMap<>());
        for (Route r : perDevice ? perDevice(read, d -> kernel.routes(Route.PROTO_NETVM, d))
                : kernel.routes(Route.PROTO_NETVM)) {
            if (r.device() != null && r.table() == Route.TABLE_MAIN && VifName.parse(r.device()).isPresent()) {
                o.routes.computeIfAbsent(r.device(), k -> new ArrayList<>()).add(r);
            }
        }
        for (Neighbour n : perDevice ? perDevice(read, kernel::neighbours) : kernel.neighbours()) {
            if (n.permanent() && VifName.parse(n.device()).isPresent()) {
                o.neighbours.computeIfAbsent(n.device(), k -> new ArrayList<>()).add(n);
            }
        }
        Set<String> uplinks = new java.util.TreeSet<>();
        for (Address a : perDevice ? perDevice(read, kernel::addresses) : kernel.addresses()) {
            boolean vif = VifName.parse(a.device()).isPresent();
            if (vif && a.scope() == Scope.UNIVERSE && a.prefix().isHost()) {
                o.addresses.computeIfAbsent(a.device(), k -> new ArrayList<>()).add(a);
            } else if (!vif && o.netvm != null) {
                o.netvm.putIfAbsent(a.prefix().address(), "the netvm's address on " + a.device());
                uplinks.add(a.device());
            }
        }
        // the routers of the netvm's own devices (those with an address), read per device: a few
        // devices, while a whole route dump holds a local route per vif
        for (String dev : uplinks) {
            for (Route r : kernel.routes(-1, dev)) {
                if (r.gateway() != null) {
                    o.netvm.putIfAbsent(r.gateway(), "the netvm's router (via on " + dev + ")");
                }
            }
        }
        return o;
    }

    private static <T> List<T> perDevice(Set<String> names, DeviceRead<T> read) throws KernelException {
        List<T> out = new ArrayList<>();
        for (String n : names) {
            if (VifName.parse(n).isPresent()) {
                out.addAll(read.read(n));
            }
        }
        return out;
    }

    /** Reads these sysctls into {@link #sysctls} (-1 if unreadable: the write will report the real error). */
    void readSysctls(Kernel kernel, List<Sysctl> keys) {
        for (Sysctl key : keys) {
            int value;
            try {
                value = kernel.sysctl(key);
            } catch (KernelException e) {
                value = -1;
            }
            sysctls.put(key.path(), value);
        }
    }

    /** Every device that holds one of the objects. */
    Set<String> devices() {
        Set<String> all = new HashSet<>(routes.keySet());
        all.addAll(neighbours.keySet());
        all.addAll(addresses.keySet());
        return all;
    }

    List<Route> routes(String device) {
        return routes.getOrDefault(device, List.of());
    }

    List<Neighbour> neighbours(String device) {
        return neighbours.getOrDefault(device, List.of());
    }

    List<Address> addresses(String device) {
        return addresses.getOrDefault(device, List.of());
    }

    /** The sysctl's value as read, -1 if it was not read or unreadable. */
    int sysctl(Sysctl key) {
        return sysctls.getOrDefault(key.path(), -1);
    }
}
