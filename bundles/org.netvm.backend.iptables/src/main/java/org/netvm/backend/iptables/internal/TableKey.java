package org.netvm.backend.iptables.internal;

/**
 * One iptables table of one IP version: what one {@code iptables-restore} / {@code ip6tables-restore}
 * call replaces atomically.
 *
 * @param version 4 (iptables) or 6 (ip6tables)
 * @param table   the table
 */
record TableKey(int version, IptTable table) implements Comparable<TableKey> {

    TableKey {
        if (version != 4 && version != 6) {
            throw new IllegalArgumentException("IP version must be 4 or 6: " + version);
        }
    }

    /** {@code ip filter}, {@code ip6 nat}: the prefix of OwnedState keys. */
    @Override
    public String toString() {
        return (version == 4 ? "ip " : "ip6 ") + table.keyword();
    }

    @Override
    public int compareTo(TableKey o) {
        int c = Integer.compare(version, o.version);
        return c != 0 ? c : table.compareTo(o.table);
    }
}
