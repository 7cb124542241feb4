package org.netvm.xenstore.server.internal;

/**
 * Limits for unprivileged domains, named and defaulted as C xenstored's ({@code -E -S -W -T -A -Q}
 * options). Like C xenstored, none of them applies to dom0.
 *
 * @param maxEntries nodes a domain may own (ENOSPC)
 * @param maxEntrySize size of one node record: value, permissions and child names (ENOSPC)
 * @param maxWatches watches of a domain (E2BIG); like C, one more than this is accepted
 * @param maxTransactions open transactions of a connection (ENOSPC); like C, one more is accepted
 * @param maxPermsPerNode entries in a SET_PERMS list (ENOSPC)
 * @param maxTransactionNodes nodes one transaction may touch (ENOSPC)
 * @param maxPathLength path length, not counting a leading {@code /local/domain/<id>/} (EINVAL)
 */
public record Quotas(int maxEntries, int maxEntrySize, int maxWatches, int maxTransactions,
        int maxPermsPerNode, int maxTransactionNodes, int maxPathLength) {

    /** C xenstored 4.17's defaults. */
    public static final Quotas DEFAULTS = new Quotas(1000, 2048, 128, 10, 5, 1024, 2048);
}
