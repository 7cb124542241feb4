package org.netvm.dataplane;

/** The element type of a named set. */
public enum SetType {
    IPV4_ADDR("ipv4_addr", false, 4),
    IPV6_ADDR("ipv6_addr", false, 6),
    IFNAME_IPV4_ADDR("ifname . ipv4_addr", true, 4),
    IFNAME_IPV6_ADDR("ifname . ipv6_addr", true, 6);

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
}
