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
}
