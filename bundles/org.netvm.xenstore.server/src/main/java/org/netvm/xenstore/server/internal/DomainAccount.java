package org.netvm.xenstore.server.internal;

import java.util.function.BooleanSupplier;

/**
 * What one guest domain's connections hold beyond the store, summed over all of them, and the
 * per-domain limits on it (C xenstored's {@code acc[ACC_OUTST]} and {@code acc[ACC_MEM]} with their
 * quotas, plus a connection count C needs not: it has one ring per domain).
 *
 * <ul>
 * <li>connections: at most {@link Quotas#maxConnections}; more are closed as soon as accepted;</li>
 * <li>outstanding requests: read and not yet answered, or answered but the reply not yet written; at
 * {@link Quotas#maxOutstanding} the domain's connections take no more requests (C's
 * {@code domain_can_read}), so a client that sends without reading is held back by the socket, not
 * buffered;</li>
 * <li>memory: queued replies and events plus what its open transactions record; at
 * {@link Quotas#memoryHard} reading stops too, a transaction access is refused (ENOMEM) and an
 * event that does not fit closes the connection it was for.</li>
 * </ul>
 * The memory is counted a second time in {@link AllGuests}, shared by every guest domain: at
 * {@link Quotas#memoryAllGuests} each guest is treated as if at its own hard quota.
 *
 * <p>Thread-safe: changed by the core (under its lock), by writer threads and waited on by readers.
 */
final class DomainAccount {

    /**
     * The memory of all guest domains together and its cap (dom0 has no account in it). Replies are
     * always counted (their requests were accepted); events and transaction memory only while there is
     * room. Thread-safe; taken after an account's own lock, never before.
     */
    static final class AllGuests {
        private final long limit;
        private long used;

        AllGuests(long limit) {
            this.limit = limit;
        }

        /** Counts {@code bytes} more, false (nothing counted) if that would pass the cap. */
        synchronized boolean tryAdd(long bytes) {
            if (used + bytes > limit) {
                return false;
            }
            used += bytes;
            return true;
        }

        /** Counts {@code bytes} (negative: released) whatever the cap. */
        synchronized void add(long bytes) {
            used = Math.max(0, used + bytes);
        }

        synchronized boolean full() {
            return used >= limit;
        }

        synchronized long used() {
            return used;
        }
    }

    private final int domid;
    private final Quotas quotas;
    private final AllGuests allGuests;
    private int connections;
    private int outstanding;
    private long queuedBytes;
    private long transactionBytes;
    private boolean overSoft;

    DomainAccount(int domid, Quotas quotas, AllGuests allGuests) {
        this.domid = domid;
        this.quotas = quotas;
        this.allGuests = allGuests;
    }

    int domid() {
        return domid;
    }

    /** One more connection, false (nothing counted) at the limit. */
    synchronized boolean addConnection() {
        if (connections >= quotas.maxConnections()) {
            return false;
        }
        connections++;
        return true;
    }

    synchronized void removeConnection() {
        connections = Math.max(0, connections - 1);
    }

    /** A reply was queued: always accepted, as C does (its request was counted outstanding when read). */
    synchronized void replyQueued(int bytes) {
        queuedBytes += bytes;
        allGuests.add(bytes);
    }

    /** An event for this domain: queued (true) unless it would take the domain over its memory quota. */
    synchronized boolean eventQueued(int bytes) {
        if (memory() + bytes > quotas.memoryHard() || !allGuests.tryAdd(bytes)) {
            return false;
        }
        queuedBytes += bytes;
        return true;
    }

    /** Queued messages left: written, or dropped with their connection. */
    synchronized void dequeued(int replies, long bytes) {
        outstanding = Math.max(0, outstanding - replies);
        long released = Math.min(queuedBytes, Math.max(0, bytes));
        queuedBytes -= released;
        allGuests.add(-released);
        notifyAll();
    }

    /** More memory for an open transaction: false (nothing counted) if it would pass the hard quota. */
    synchronized boolean addTransactionBytes(long bytes) {
        if (bytes > 0 && (memory() + bytes > quotas.memoryHard() || !allGuests.tryAdd(bytes))) {
            return false;
        }
        if (bytes <= 0) {
            long released = Math.min(transactionBytes, -bytes);
            transactionBytes -= released;
            allGuests.add(-released);
        } else {
            transactionBytes += bytes;
        }
        notifyAll();
        return true;
    }

    /** Total: queued output and open transactions, C's ACC_MEM for what netvm does not bound otherwise. */
    synchronized long memory() {
        return queuedBytes + transactionBytes;
    }

    synchronized int connections() {
        return connections;
    }

    synchronized int outstanding() {
        return outstanding;
    }

    /** True once when memory passes the soft quota (C logs a warning then), until it drops below. */
    synchronized boolean crossedSoftQuota() {
        boolean over = memory() >= quotas.memorySoft();
        boolean crossed = over && !overSoft;
        overSoft = over;
        return crossed;
    }

    /**
     * Counts a request read as outstanding (until its reply is written or it turns out to have none),
     * first waiting while the domain may not have more (outstanding or memory at the limit; C's
     * domain_can_read), or while all guests' memory is at its cap and this domain holds some of it (a
     * domain holding nothing may still ask: its replies are bounded by the outstanding quota). {@code onWait} runs once if it has to wait. False (nothing counted) if
     * {@code closed} says the connection went away meanwhile.
     */
    synchronized boolean reserve(BooleanSupplier closed, Runnable onWait) throws InterruptedException {
        boolean waited = false;
        while (held()) {
            if (closed.getAsBoolean()) {
                return false;
            }
            if (!waited) {
                waited = true;
                onWait.run();
            }
            wait(200);
        }
        outstanding++;
        return true;
    }

    /** Counts a request read as outstanding if the domain may have more now, as {@link #reserve} without waiting. */
    synchronized boolean tryReserve() {
        if (held()) {
            return false;
        }
        outstanding++;
        return true;
    }

    private boolean held() {
        return outstanding >= quotas.maxOutstanding() || memory() >= quotas.memoryHard()
                || (memory() > 0 && allGuests.full());
    }

    /** Wakes readers waiting in {@link #reserve} (a connection closed). */
    synchronized void wake() {
        notifyAll();
    }
}
