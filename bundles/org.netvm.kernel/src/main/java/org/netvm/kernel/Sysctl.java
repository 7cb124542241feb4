package org.netvm.kernel;

import java.util.List;

/**
 * An integer sysctl of a network namespace. Only the keys netvm needs can be built, and device
 * names are checked, so a key is always a safe path below {@code /proc/sys}.
 */
public final class Sysctl {
    private final List<String> components;

    private Sysctl(String... components) {
        this.components = List.of(components);
    }

    /** {@code net.ipv4.conf.<dev>.proxy_arp} ({@code dev} may also be {@code all} or {@code default}). */
    public static Sysctl proxyArp(String device) {
        return new Sysctl("net", "ipv4", "conf", Checks.device(device), "proxy_arp");
    }

    /** {@code net.ipv6.conf.<dev>.proxy_ndp}. */
    public static Sysctl proxyNdp(String device) {
        return new Sysctl("net", "ipv6", "conf", Checks.device(device), "proxy_ndp");
    }

    /** {@code net.ipv6.conf.<dev>.disable_ipv6}. */
    public static Sysctl disableIpv6(String device) {
        return new Sysctl("net", "ipv6", "conf", Checks.device(device), "disable_ipv6");
    }

    /** {@code net.ipv4.ip_forward}. */
    public static Sysctl ipv4Forward() {
        return new Sysctl("net", "ipv4", "ip_forward");
    }

    /** {@code net.ipv6.conf.all.forwarding}. */
    public static Sysctl ipv6Forwarding() {
        return new Sysctl("net", "ipv6", "conf", "all", "forwarding");
    }

    /** The path below {@code /proc/sys}, e.g. {@code net/ipv4/conf/vif3.0/proxy_arp}. */
    public String path() {
        return String.join("/", components);
    }

    /**
     * The name as {@code sysctl(8)} takes it: dots separate components, dots inside a component
     * become slashes ({@code net.ipv4.conf.vif3/0.proxy_arp}).
     */
    public String name() {
        return String.join(".", components.stream().map(c -> c.replace('.', '/')).toList());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Sysctl s && s.components.equals(components);
    }

    @Override
    public int hashCode() {
        return components.hashCode();
    }

    @Override
    public String toString() {
        return name();
    }
}
