package org.netvm.xenstore.server.internal;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** State of one client connection: who it is, its watches and open transactions. Guarded by the core's lock. */
final class Session {

    /** A registered watch; {@code relativePrefix} is the home it was relative to, or null. */
    record Watch(String node, String token, String relativePrefix) {
    }

    final int domid;
    /** False for the main socket (dom0, privileged), true for a domain socket. */
    final boolean unprivileged;
    final MessageSink sink;
    /** The domain's account for an unprivileged connection, null for a privileged one. */
    final DomainAccount account;
    final List<Watch> watches = new ArrayList<>();
    final Map<Integer, Transaction> transactions = new LinkedHashMap<>();
    int nextTransactionId = 1;
    /** The transaction of the request being processed, or null. */
    Transaction current;
    boolean closed;

    Session(int domid, boolean unprivileged, MessageSink sink, DomainAccount account) {
        this.domid = domid;
        this.unprivileged = unprivileged;
        this.sink = sink;
        this.account = account;
    }

    String home() {
        return "/local/domain/" + domid;
    }

    @Override
    public String toString() {
        return "Session[dom" + domid + (unprivileged ? "" : ", privileged") + "]";
    }
}
