package org.netvm.kernel;

import java.util.Objects;

/**
 * One kernel operation of a {@link Batch}. {@link #render()} gives the {@code ip}-like line used in
 * logs and golden files, e.g. {@code route replace 10.137.0.5/32 dev vif3.0 scope link metric 32749 proto netvm}.
 */
public sealed interface Op {

    /** The line for logs and golden files. */
    String render();

    /** The device the operation names, {@code null} for namespace-wide sysctls. */
    String device();

    /** What {@link LinkSet} does to the administrative state. */
    enum Admin {
        UNCHANGED, UP, DOWN
    }

    /** {@code link set dev <device> [group N] [up|down]}; {@code group < 0} leaves the group alone. */
    record LinkSet(String device, int group, Admin admin) implements Op {
        public LinkSet {
            Checks.device(device);
            Objects.requireNonNull(admin, "admin");
            if (group < -1) {
                throw new IllegalArgumentException("invalid group " + group);
            }
        }

        @Override
        public String render() {
            return "link set dev " + device + (group >= 0 ? " group " + group : "")
                    + (admin == Admin.UNCHANGED ? "" : " " + admin.name().toLowerCase(java.util.Locale.ROOT));
        }
    }

    /** {@code address replace <prefix> dev <device> [scope S]}: adds the address or updates it in place. */
    record AddressReplace(Address address) implements Op {
        public AddressReplace {
            Objects.requireNonNull(address, "address");
        }

        @Override
        public String device() {
            return address.device();
        }

        @Override
        public String render() {
            return "address replace " + address;
        }
    }

    /** {@code address delete <prefix> dev <device>}. */
    record AddressDelete(Address address) implements Op {
        public AddressDelete {
            Objects.requireNonNull(address, "address");
        }

        @Override
        public String device() {
            return address.device();
        }

        @Override
        public String render() {
            return "address delete " + address.prefix() + " dev " + address.device();
        }
    }

    /** {@code route replace ...}: creates the route or replaces the one with the same destination and metric. */
    record RouteReplace(Route route) implements Op {
        public RouteReplace {
            Objects.requireNonNull(route, "route");
            if (route.device() == null) {
                throw new IllegalArgumentException("a route to program needs a device: " + route);
            }
        }

        @Override
        public String device() {
            return route.device();
        }

        @Override
        public String render() {
            return "route replace " + route;
        }
    }

    /**
     * {@code route delete ...}: deletes the route with this destination, device, gateway, metric
     * (when not 0) and protocol (when not 0), whatever its scope. Other protocols' routes are left alone.
     */
    record RouteDelete(Route route) implements Op {
        public RouteDelete {
            Objects.requireNonNull(route, "route");
            if (route.device() == null) {
                throw new IllegalArgumentException("a route to delete needs a device: " + route);
            }
        }

        @Override
        public String device() {
            return route.device();
        }

        @Override
        public String render() {
            return "route delete " + route;
        }
    }

    /** {@code neighbour replace <ip> lladdr <mac> dev <device> nud permanent}. */
    record NeighbourReplace(Neighbour neighbour) implements Op {
        public NeighbourReplace {
            Objects.requireNonNull(neighbour, "neighbour");
            if (neighbour.lladdr() == null || !neighbour.permanent()) {
                throw new IllegalArgumentException("only permanent entries with a lladdr are programmed: " + neighbour);
            }
        }

        @Override
        public String device() {
            return neighbour.device();
        }

        @Override
        public String render() {
            return "neighbour replace " + neighbour;
        }
    }

    /** {@code neighbour delete <ip> dev <device>}. */
    record NeighbourDelete(Neighbour neighbour) implements Op {
        public NeighbourDelete {
            Objects.requireNonNull(neighbour, "neighbour");
        }

        @Override
        public String device() {
            return neighbour.device();
        }

        @Override
        public String render() {
            return "neighbour delete " + IpPrefix.text(neighbour.address()) + " dev " + neighbour.device();
        }
    }

    /** {@code sysctl -w <name>=<value>}, written through {@code /proc/sys} of the kernel's namespace. */
    record SysctlSet(Sysctl key, int value) implements Op {
        public SysctlSet {
            Objects.requireNonNull(key, "key");
        }

        @Override
        public String device() {
            return null;
        }

        @Override
        public String render() {
            return "sysctl " + key.name() + "=" + value;
        }
    }
}
