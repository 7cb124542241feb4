package org.netvm.vif.internal;

import java.net.InetAddress;
import java.util.Collection;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/** The seam for purging conntrack entries of guest addresses ({@code conntrack -D -s/-d ADDR}). */
interface Conntrack {

    /** A purge that did not happen for some addresses: their vifs must not come up (issue 11 #5). */
    final class PurgeException extends Exception {
        private static final long serialVersionUID = 1L;
        private final transient Set<InetAddress> failed;

        PurgeException(Collection<InetAddress> failed, String message) {
            super(message);
            this.failed = Set.copyOf(failed);
        }

        /** The addresses whose entries may still be there. */
        Set<InetAddress> failed() {
            return failed;
        }
    }

    /**
     * Deletes the entries with these addresses as source or destination.
     *
     * @throws PurgeException naming the addresses whose entries could not be purged (the tool is
     *         missing, failed or timed out)
     */
    void purge(Collection<InetAddress> addresses) throws PurgeException;

    /**
     * Starts {@link #purge}; the future completes when it is done, exceptionally with the
     * {@link PurgeException}. The default purges before it returns; the tool runs it on a thread of
     * its own, so its process start overlaps other work.
     */
    default CompletableFuture<Void> start(Collection<InetAddress> addresses) {
        try {
            purge(addresses);
            return CompletableFuture.completedFuture(null);
        } catch (PurgeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }
}
