package org.netvm.xenstore.server.internal;

import static org.netvm.xenstore.XenStoreError.E2BIG;
import static org.netvm.xenstore.XenStoreError.ENOSPC;

/**
 * Limits for unprivileged domains, named and defaulted as C xenstored's ({@code -E -S -W -T -A -Q}
 * options), and the check of each. Like C xenstored, none of them applies to dom0.
 *
 * @param maxEntries nodes a domain may own (ENOSPC)
 * @param maxEntrySize size of one node record: value, permissions and child names (ENOSPC)
 * @param maxWatches watches of a domain (E2BIG); like C, one more than this is accepted
 * @param maxTransactions open transactions of a domain, over all its connections (ENOSPC); like C,
 *        one more is accepted
 * @param maxPermsPerNode entries in a SET_PERMS list (ENOSPC)
 * @param maxTransactionNodes nodes one transaction may touch (ENOSPC)
 * @param maxPathLength path length, not counting a leading {@code /local/domain/<id>/} (EINVAL)
 * @param maxConnections connections of a domain to its socket; more are closed at once (C has one
 *        ring per domain, so no such quota)
 * @param maxOutstanding C's {@code outstanding}: replies of a domain queued but not written; at the
 *        limit its connections stop reading requests
 * @param memoryHard C's {@code memory} (error level): bytes of a domain's queued replies and events
 *        and open transactions; at the limit reading stops, transaction accesses get ENOMEM and an
 *        event that does not fit closes its connection
 * @param memorySoft C's {@code quota-soft memory}: above it a warning is logged
 * @param memoryAllGuests the same memory (queued replies and events, open transactions) summed over
 *        every guest domain (dom0 exempt): at this cap all guests are held back as one domain is at
 *        {@code memoryHard}, so many guests together cannot take what the netvm's own work needs (C
 *        xenstored has no such cap; its per-domain quotas times the domains are bounded by Xen's
 *        domain count, the agent's heap is not)
 */
public record Quotas(int maxEntries, int maxEntrySize, int maxWatches, int maxTransactions,
        int maxPermsPerNode, int maxTransactionNodes, int maxPathLength,
        int maxConnections, int maxOutstanding, long memoryHard, long memorySoft, long memoryAllGuests) {

    /** The default of {@link #memoryAllGuests}: 16 MiB, a quarter of the agent's 64 MB heap. */
    public static final long MEMORY_ALL_GUESTS_DEFAULT = 16L << 20;

    /** C xenstored 4.17's defaults; 16 connections per domain. */
    public static final Quotas DEFAULTS = new Quotas(1000, 2048, 128, 10, 5, 1024, 2048);

    public Quotas {
        if (maxConnections < 1 || maxOutstanding < 1 || memoryHard < 1 || memorySoft < 1 || memoryAllGuests < 1) {
            throw new IllegalArgumentException("connection, outstanding and memory quotas must be positive");
        }
    }

    /** The quotas of one domain; {@link #MEMORY_ALL_GUESTS_DEFAULT} for all guests together. */
    public Quotas(int maxEntries, int maxEntrySize, int maxWatches, int maxTransactions,
            int maxPermsPerNode, int maxTransactionNodes, int maxPathLength,
            int maxConnections, int maxOutstanding, long memoryHard, long memorySoft) {
        this(maxEntries, maxEntrySize, maxWatches, maxTransactions, maxPermsPerNode, maxTransactionNodes,
                maxPathLength, maxConnections, maxOutstanding, memoryHard, memorySoft, MEMORY_ALL_GUESTS_DEFAULT);
    }

    /** These quotas with {@code bytes} as the cap of all guests' memory together. */
    public Quotas withMemoryAllGuests(long bytes) {
        return new Quotas(maxEntries, maxEntrySize, maxWatches, maxTransactions, maxPermsPerNode,
                maxTransactionNodes, maxPathLength, maxConnections, maxOutstanding, memoryHard, memorySoft, bytes);
    }

    /** The node, watch, transaction and path quotas; C's defaults for connections, outstanding and memory. */
    public Quotas(int maxEntries, int maxEntrySize, int maxWatches, int maxTransactions,
            int maxPermsPerNode, int maxTransactionNodes, int maxPathLength) {
        this(maxEntries, maxEntrySize, maxWatches, maxTransactions, maxPermsPerNode, maxTransactionNodes,
                maxPathLength, 16, 20, 2_621_440, 2_097_152);
    }

    /** A path's syntax and length (EINVAL otherwise). */
    boolean validPath(String name) {
        return XsPaths.isValidNodename(name, maxPathLength);
    }

    /** Before the transaction records one more node: ENOSPC (and the transaction fails) at the limit. */
    void checkTransactionNodes(Session c, Transaction t) throws XsFailure {
        if (t.accessed.size() >= maxTransactionNodes && c.unprivileged) {
            t.failed = true;
            throw new XsFailure(ENOSPC);
        }
    }

    /** Before a node is stored: ENOSPC (and the transaction fails) when its record is too big. */
    void checkEntrySize(Session c, Node n) throws XsFailure {
        if (c.unprivileged && n.recordSize() >= maxEntrySize) {
            if (c.current != null) {
                c.current.failed = true;
            }
            throw new XsFailure(ENOSPC);
        }
    }

    /** Before a node is created: ENOSPC when the domain owns {@code owned} nodes already, as many as allowed. */
    void checkNewEntry(int owned) throws XsFailure {
        if (owned >= maxEntries) {
            throw new XsFailure(ENOSPC);
        }
    }

    /** At commit: ENOSPC when a domain other than dom0 would own {@code count} nodes, too many. */
    void checkCommittedEntries(int domid, int count) throws XsFailure {
        if (domid != 0 && count >= maxEntries) {
            throw new XsFailure(ENOSPC);
        }
    }

    /** SET_PERMS with {@code entries} permissions: ENOSPC above the limit. */
    void checkPermsPerNode(Session c, int entries) throws XsFailure {
        if (c.unprivileged && entries > maxPermsPerNode) {
            throw new XsFailure(ENOSPC);
        }
    }

    /** Before a watch is added for domain {@code d} (null: privileged): E2BIG above the limit. */
    void checkWatches(Domains.Domain d) throws XsFailure {
        if (d != null && d.watches > maxWatches) {
            throw new XsFailure(E2BIG);
        }
    }

    /** Before a transaction starts for domain {@code d} (null: privileged): ENOSPC above the limit. */
    void checkTransactions(Domains.Domain d) throws XsFailure {
        if (d != null && d.transactions > maxTransactions) {
            throw new XsFailure(ENOSPC);
        }
    }
}
