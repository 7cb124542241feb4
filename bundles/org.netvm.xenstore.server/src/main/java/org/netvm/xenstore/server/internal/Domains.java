package org.netvm.xenstore.server.internal;

import static org.netvm.xenstore.XenStoreError.ENOENT;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The domain table and the connections (state of C's xenstored_domain.c and the core's connection
 * list): per domain its generation, owned-node and watch counters, introduced flag and target. The
 * requests that change it are in {@link DomainRequests}.
 */
final class Domains {

    /** First domid that is not a real domain (DOMID_FIRST_RESERVED); DOMID_SELF equals it. */
    static final int DOMID_FIRST_RESERVED = 0x7FF0;

    /** What C keeps in struct domain: generation (for stale permissions), counters, state. */
    static final class Domain {
        final int domid;
        final long generation;
        int entries;
        int watches;
        /** Open transactions over all the domain's connections. */
        int transactions;
        boolean introduced;
        int target = -1;
        /** Connections, queued output, transaction memory: shared with the connections' threads. */
        final DomainAccount account;

        Domain(int domid, long generation, Quotas quotas, DomainAccount.AllGuests allGuests) {
            this.domid = domid;
            this.generation = generation;
            this.account = new DomainAccount(domid, quotas, allGuests);
        }
    }

    private final Tree tree;
    private final Quotas quotas;
    /** The memory of every guest domain together ({@link Quotas#memoryAllGuests}); dom0 is not in it. */
    private final DomainAccount.AllGuests allGuests;
    private final Map<Integer, Domain> domains = new HashMap<>();
    private final List<Session> sessions = new ArrayList<>();

    /** Starts with dom0, introduced, allocated before the tree's first node (as C does). */
    Domains(Tree tree, Quotas quotas) {
        this.tree = tree;
        this.quotas = quotas;
        this.allGuests = new DomainAccount.AllGuests(quotas.memoryAllGuests());
        // dom0's connections are privileged and have no account; its own pool keeps it out of the guests' sum
        Domain dom0 = new Domain(0, tree.generation(), quotas, new DomainAccount.AllGuests(Long.MAX_VALUE));
        dom0.introduced = true;
        domains.put(0, dom0);
    }

    Domain get(int domid) {
        return domains.get(domid);
    }

    void remove(int domid) {
        domains.remove(domid);
    }

    Domain findOrAllocExisting(int domid) {
        Domain d = domains.get(domid);
        if (d == null && domid >= 0 && domid < DOMID_FIRST_RESERVED) {
            // Without a hypervisor every domid below DOMID_FIRST_RESERVED counts as existing (as in the test harness).
            d = new Domain(domid, tree.generation(), quotas, allGuests);
            domains.put(domid, d);
        }
        return d;
    }

    boolean isIntroduced(int domid) {
        Domain d = domains.get(domid);
        return d != null && d.introduced;
    }

    /** C's find_connected_domain: the introduced domain, else ENOENT. */
    Domain connected(int domid) throws XsFailure {
        Domain d = domains.get(domid);
        if (d == null || !d.introduced) {
            throw new XsFailure(ENOENT);
        }
        return d;
    }

    /** The domain of an unprivileged connection, null for privileged ones. */
    Domain of(Session s) {
        return s.unprivileged ? domains.get(s.domid) : null;
    }

    /** The domain the connection acts for (SET_TARGET), or -1. */
    int targetOf(Session c) {
        if (!c.unprivileged) {
            return -1;
        }
        Domain d = domains.get(c.domid);
        return d == null ? -1 : d.target;
    }

    // ------------------------------------------------------------------ owned-node accounting

    /** C's domain_entry: nodes owned by the connection's domain, 0 for privileged connections. */
    int entries(Session c) {
        if (!c.unprivileged) {
            return 0;
        }
        Domain d = domains.get(c.domid);
        return d == null ? 0 : d.entries;
    }

    /** C's domain_entry_inc/dec: counted in the connection's transaction if any, else at once. */
    void addEntries(Session c, int domid, int delta) {
        if (c.current != null) {
            c.current.entryDelta.merge(domid, delta, Integer::sum);
            return;
        }
        Domain d = findOrAllocExisting(domid);
        if (d != null) {
            d.entries += delta;
        }
    }

    void entryInc(Session c, Node n) {
        addEntries(c, n.owner(), 1);
    }

    void entryDec(Session c, Node n) {
        addEntries(c, n.owner(), -1);
    }

    // ------------------------------------------------------------------ connections

    /**
     * A new connection. {@code domid} 0 is the privileged main socket; any other domid is an
     * unprivileged domain connection and is refused (null) unless the domain is introduced and has
     * fewer than {@link Quotas#maxConnections} connections.
     */
    Session connect(int domid, MessageSink sink) {
        if (domid == 0) {
            Session s = new Session(0, false, sink, null);
            sessions.add(s);
            return s;
        }
        Domain d = domains.get(domid);
        if (d == null || !d.introduced) {
            return null;
        }
        if (!d.account.addConnection()) {
            Refusals.log("dom" + domid + " connections", "dom" + domid + " has " + quotas.maxConnections()
                    + " connections already (quota); closing a new one");
            return null;
        }
        Session s = new Session(domid, true, sink, d.account);
        sessions.add(s);
        return s;
    }

    /** The connection went away: its watches and transactions go with it. */
    void drop(Session s) {
        if (s.closed) {
            return;
        }
        s.closed = true;
        sessions.remove(s);
        forgetWatchesAndTransactions(s);
        if (s.account != null) {
            s.account.removeConnection();
        }
    }

    /** Clears the connection's watches (uncounting them) and transactions (RESET_WATCHES, disconnect). */
    void forgetWatchesAndTransactions(Session s) {
        Domain d = of(s);
        if (d != null) {
            d.watches = Math.max(0, d.watches - s.watches.size());
        }
        s.watches.clear();
        for (Transaction t : List.copyOf(s.transactions.values())) {
            endTransaction(s, t);
        }
        s.current = null;
    }

    /** The transaction is over (committed, abandoned or dropped): uncounted for its domain. */
    void endTransaction(Session s, Transaction t) {
        if (s.transactions.remove(t.id) == null) {
            return;
        }
        Domain d = of(s);
        if (d != null) {
            d.transactions = Math.max(0, d.transactions - 1);
        }
        if (s.account != null) {
            s.account.addTransactionBytes(-t.bytes);
        }
    }

    /** The open connections, in connection order (read-only view). */
    List<Session> sessions() {
        return Collections.unmodifiableList(sessions);
    }

    /** Bytes all guest domains hold together (queued output, open transactions). */
    long allGuestsMemory() {
        return allGuests.used();
    }

    int ownedEntries(int domid) {
        Domain d = domains.get(domid);
        return d == null ? 0 : d.entries;
    }
}
