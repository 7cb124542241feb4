package org.netvm.kernel;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.Objects;

/**
 * A unicast route.
 *
 * @param destination destination prefix; /0 is the default route
 * @param gateway next hop ({@code via}), {@code null} for a directly connected destination
 * @param device output device ({@code dev}); {@code null} only in routes read back without one
 * @param metric priority ({@code metric}); 0 means unset (IPv6 then uses the kernel default 1024)
 * @param scope route scope; always {@link Scope#UNIVERSE} for IPv6 (the kernel ignores it there and reports
 *     universe, so IPv6 routes compare equal to what is read back)
 * @param onlink {@code onlink}: the gateway is on the link even without a matching prefix
 * @param protocol route protocol ({@code proto}); netvm's own routes carry {@link #PROTO_NETVM}
 * @param table routing table, {@link #TABLE_MAIN} unless said otherwise
 */
public record Route(IpPrefix destination, InetAddress gateway, String device, int metric, Scope scope, boolean onlink,
        int protocol, int table) {

    /** The route protocol number of routes netvm installs (110, free in iproute2's rt_protos). */
    public static final int PROTO_NETVM = 0x6e;
    /** Routes the kernel made itself (connected prefixes). */
    public static final int PROTO_KERNEL = 2;
    /** {@code ip route} without {@code proto}. */
    public static final int PROTO_BOOT = 3;
    public static final int PROTO_STATIC = 4;
    public static final int TABLE_MAIN = 254;

    public Route {
        Objects.requireNonNull(destination, "destination");
        Objects.requireNonNull(scope, "scope");
        if (destination.isIpv6()) {
            scope = Scope.UNIVERSE;
        }
        if (device != null) {
            Checks.device(device);
        }
        if (gateway != null && (gateway instanceof Inet6Address) != destination.isIpv6()) {
            throw new IllegalArgumentException("gateway " + IpPrefix.text(gateway) + " is not of the family of " + destination);
        }
        if (metric < 0) {
            throw new IllegalArgumentException("negative metric " + metric);
        }
        if (protocol < 0 || protocol > 255) {
            throw new IllegalArgumentException("route protocol out of range: " + protocol);
        }
        if (table == 0) {
            throw new IllegalArgumentException("table 0 is not a table");
        }
    }

    /**
     * A host route through a device, scope link (IPv4), protocol netvm:
     * {@code <address>/32 dev <device> scope link proto netvm}.
     */
    public static Route host(InetAddress address, String device) {
        return new Route(IpPrefix.host(address), null, Checks.device(device), 0, Scope.LINK, false, PROTO_NETVM, TABLE_MAIN);
    }

    /** A directly connected prefix through a device, scope link, protocol netvm. */
    public static Route to(IpPrefix destination, String device) {
        return new Route(destination, null, Checks.device(device), 0, Scope.LINK, false, PROTO_NETVM, TABLE_MAIN);
    }

    /** {@code default via <gateway> dev <device> proto netvm}, scope global. */
    public static Route defaultVia(InetAddress gateway, String device) {
        return new Route(IpPrefix.any(gateway instanceof Inet6Address), gateway, Checks.device(device), 0, Scope.UNIVERSE,
                false, PROTO_NETVM, TABLE_MAIN);
    }

    public Route withMetric(int newMetric) {
        return new Route(destination, gateway, device, newMetric, scope, onlink, protocol, table);
    }

    public Route withScope(Scope newScope) {
        return new Route(destination, gateway, device, metric, newScope, onlink, protocol, table);
    }

    public Route withOnlink(boolean newOnlink) {
        return new Route(destination, gateway, device, metric, scope, newOnlink, protocol, table);
    }

    public Route withProtocol(int newProtocol) {
        return new Route(destination, gateway, device, metric, scope, onlink, newProtocol, table);
    }

    public Route withTable(int newTable) {
        return new Route(destination, gateway, device, metric, scope, onlink, protocol, newTable);
    }

    public Route withGateway(InetAddress newGateway) {
        return new Route(destination, newGateway, device, metric, scope, onlink, protocol, table);
    }

    public boolean isDefault() {
        return destination.length() == 0;
    }

    /**
     * As {@code ip route} takes it, e.g. {@code 10.137.0.5/32 dev vif3.0 scope link metric 32749 proto netvm}
     * or {@code default via 10.137.0.2 dev eth0 proto netvm onlink}. The main table and global scope
     * are left out.
     */
    @Override
    public String toString() {
        StringBuilder b = new StringBuilder(isDefault() ? "default" : destination.toString());
        if (gateway != null) {
            b.append(" via ").append(IpPrefix.text(gateway));
        }
        if (device != null) {
            b.append(" dev ").append(device);
        }
        if (table != TABLE_MAIN) {
            b.append(" table ").append(Integer.toUnsignedString(table));
        }
        if (scope != Scope.UNIVERSE) {
            b.append(" scope ").append(scope.text());
        }
        if (metric != 0) {
            b.append(" metric ").append(metric);
        }
        b.append(" proto ").append(protocolName(protocol));
        if (onlink) {
            b.append(" onlink");
        }
        return b.toString();
    }

    /** The name {@code ip} uses for a route protocol number, "netvm" for {@link #PROTO_NETVM}, else the number. */
    public static String protocolName(int protocol) {
        return switch (protocol) {
            case 0 -> "unspec";
            case 1 -> "redirect";
            case PROTO_KERNEL -> "kernel";
            case PROTO_BOOT -> "boot";
            case PROTO_STATIC -> "static";
            case 16 -> "dhcp";
            case 9 -> "ra";
            case PROTO_NETVM -> "netvm";
            default -> Integer.toString(protocol);
        };
    }
}
