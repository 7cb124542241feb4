package org.netvm.dataplane;

/**
 * The element type of a named set.
 *
 * <p>The {@code *_SRC_DST_PROTO*} types (1.2) are interval sets keyed by a source address, a destination
 * prefix, a layer 4 protocol (or any) and, for {@code *_PORT}, a destination port range: one lookup
 * ({@link Match.SetKey#SOURCE_DESTINATION_PROTOCOL}, {@link Match.SetKey#SOURCE_DESTINATION_PROTOCOL_PORT})
 * stands for a run of rules that differ only in those values and share a verdict, for many sources at once
 * (e.g. every guest's run of accepts: a handful of sets instead of one per guest; the kernel finds a set by
 * name in a list, so thousands of sets cost more than they save). Elements of one source must not overlap
 * (the kernel refuses overlapping intervals of a concatenation).
 */
public enum SetType {
    IPV4_ADDR("ipv4_addr", false, 4),
    IPV6_ADDR("ipv6_addr", false, 6),
    IFNAME_IPV4_ADDR("ifname . ipv4_addr", true, 4),
    IFNAME_IPV6_ADDR("ifname . ipv6_addr", true, 6),
    /** IPv4 source . destination prefix . protocol (or any), interval. @since 1.2 */
    IPV4_SRC_DST_PROTO("ipv4_addr . ipv4_addr . inet_proto", false, 4),
    /** IPv6 source . destination prefix . protocol (or any), interval. @since 1.2 */
    IPV6_SRC_DST_PROTO("ipv6_addr . ipv6_addr . inet_proto", false, 6),
    /** IPv4 source . destination prefix . tcp or udp . destination port range, interval. @since 1.2 */
    IPV4_SRC_DST_PROTO_PORT("ipv4_addr . ipv4_addr . inet_proto . inet_service", false, 4),
    /** IPv6 source . destination prefix . tcp or udp . destination port range, interval. @since 1.2 */
    IPV6_SRC_DST_PROTO_PORT("ipv6_addr . ipv6_addr . inet_proto . inet_service", false, 6);

    private final String keyword;
    private final boolean withIfname;
    private final int ipVersion;

    SetType(String keyword, boolean withIfname, int ipVersion) {
        this.keyword = keyword;
        this.withIfname = withIfname;
        this.ipVersion = ipVersion;
    }

    /** The nftables type expression, e.g. {@code ifname . ipv4_addr}. */
    public String keyword() {
        return keyword;
    }

    /** Whether elements are interface name . address pairs. */
    public boolean withIfname() {
        return withIfname;
    }

    /** 4 or 6. */
    public int ipVersion() {
        return ipVersion;
    }

    /** Whether elements hold a source, a destination prefix, a protocol and maybe a port range (an interval set). @since 1.2 */
    public boolean interval() {
        return withProtocol();
    }

    /** Whether elements hold a protocol (or any). @since 1.2 */
    public boolean withProtocol() {
        return this == IPV4_SRC_DST_PROTO || this == IPV6_SRC_DST_PROTO || withPort();
    }

    /** Whether elements hold a destination port range. @since 1.2 */
    public boolean withPort() {
        return this == IPV4_SRC_DST_PROTO_PORT || this == IPV6_SRC_DST_PROTO_PORT;
    }
}
