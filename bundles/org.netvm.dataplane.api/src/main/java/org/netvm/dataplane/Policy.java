package org.netvm.dataplane;

/** What a base chain does with a packet no rule decided on. */
public enum Policy {
    ACCEPT, DROP;

    /** The nftables keyword. */
    public String keyword() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
