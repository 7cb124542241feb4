package org.netvm.dataplane;

/** The type of a base chain. */
public enum ChainType {
    FILTER, NAT, ROUTE;

    /** The nftables keyword, e.g. {@code filter}. */
    public String keyword() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
