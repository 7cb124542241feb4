package org.netvm.dataplane;

/** The netfilter hook a base chain is attached to. */
public enum Hook {
    PREROUTING, INPUT, FORWARD, OUTPUT, POSTROUTING;

    /** The nftables keyword, e.g. {@code prerouting}. */
    public String keyword() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
