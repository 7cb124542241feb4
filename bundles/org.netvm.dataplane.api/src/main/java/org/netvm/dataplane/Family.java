package org.netvm.dataplane;

/**
 * The address family of a chain or set. {@link #INET} (IPv4 and IPv6 together) is meant for
 * filtering, {@link #IP} and {@link #IP6} for NAT. A backend keeps one table per family.
 */
public enum Family {
    IP("ip"), IP6("ip6"), INET("inet");

    private final String keyword;

    Family(String keyword) {
        this.keyword = keyword;
    }

    /** The nftables keyword ({@code ip}, {@code ip6}, {@code inet}). */
    public String keyword() {
        return keyword;
    }

    /** Whether addresses of IP version {@code version} (4 or 6) may appear in this family. */
    public boolean carries(int version) {
        return switch (this) {
            case IP -> version == 4;
            case IP6 -> version == 6;
            case INET -> version == 4 || version == 6;
        };
    }
}
