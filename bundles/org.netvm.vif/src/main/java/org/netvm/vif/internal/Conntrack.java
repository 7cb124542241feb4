package org.netvm.vif.internal;

import java.net.InetAddress;
import java.util.Collection;

/** The seam for purging conntrack entries of guest addresses ({@code conntrack -D -s/-d ADDR}). */
interface Conntrack {

    /**
     * Deletes the entries with these addresses as source or destination. Best effort: failures are
     * logged, never thrown (a stale entry is not worth failing a vif for).
     */
    void purge(Collection<InetAddress> addresses);

    /**
     * Starts {@link #purge}; the stage completes when it is done. The default purges before it
     * returns; the tool runs it on a thread of its own, so its process start overlaps other work.
     */
    default java.util.concurrent.CompletableFuture<Void> start(Collection<InetAddress> addresses) {
        purge(addresses);
        return java.util.concurrent.CompletableFuture.completedFuture(null);
    }
}
