package org.netvm.xenstore.server.internal;

import static org.netvm.xenstore.XenStoreError.EAGAIN;
import static org.netvm.xenstore.XenStoreError.EBUSY;
import static org.netvm.xenstore.XenStoreError.EINVAL;
import static org.netvm.xenstore.XenStoreError.ENOENT;
import static org.netvm.xenstore.XenStoreError.ENOMEM;
import static org.netvm.xenstore.server.internal.Payloads.ack;
import static org.netvm.xenstore.server.internal.Payloads.reply;
import static org.netvm.xenstore.server.internal.Payloads.text;

import java.util.Map;

import org.netvm.xenstore.wire.Message;

/**
 * TRANSACTION_START and TRANSACTION_END as C's xenstored_transaction.c does them. While a
 * transaction is open, {@link Store} records the nodes it reads and writes; at commit every node
 * it read must still have the recorded generation (else EAGAIN), then its writes are applied, its
 * owned-node counts added and its watch events fired.
 */
final class Transactions {

    private final Tree tree;
    private final Domains domains;
    private final Quotas quotas;
    private final Watches watches;

    Transactions(Tree tree, Domains domains, Quotas quotas, Watches watches) {
        this.tree = tree;
        this.domains = domains;
        this.quotas = quotas;
        this.watches = watches;
    }

    void start(Session s, Message m) throws XsFailure {
        if (s.current != null) {
            throw new XsFailure(EBUSY); // no nested transactions
        }
        Domains.Domain d = domains.of(s);
        quotas.checkTransactions(d);
        int id;
        do {
            id = s.nextTransactionId++;
        } while (id == 0 || s.transactions.containsKey(id));
        Transaction t = new Transaction(id, tree.nextGeneration());
        s.transactions.put(id, t);
        if (d != null) {
            d.transactions++;
        }
        reply(s, m, text(Integer.toUnsignedString(id)));
    }

    /** TRANSACTION_END "T" commits, "F" abandons; the transaction is gone either way. */
    void end(Session s, Message m) throws XsFailure {
        String arg = Payloads.oneArgOrNull(m);
        if (arg == null || !(arg.equals("T") || arg.equals("F"))) {
            throw new XsFailure(EINVAL);
        }
        Transaction t = s.current;
        if (t == null) {
            throw new XsFailure(ENOENT);
        }
        s.current = null;
        domains.endTransaction(s, t);
        if (arg.equals("T")) {
            if (t.failed) {
                throw new XsFailure(ENOMEM);
            }
            checkEntries(s, t);
            commit(s, t);
            for (Map.Entry<Integer, Integer> e : t.entryDelta.entrySet()) {
                Domains.Domain d = domains.findOrAllocExisting(e.getKey());
                d.entries = Math.max(0, d.entries + e.getValue());
            }
        }
        ack(s, m);
    }

    /** Every domain the transaction counts nodes for exists, and stays in its quota if nodes were created. */
    private void checkEntries(Session s, Transaction t) throws XsFailure {
        boolean checkQuota = t.nodeCreated && s.unprivileged;
        for (Map.Entry<Integer, Integer> e : t.entryDelta.entrySet()) {
            Domains.Domain d = domains.findOrAllocExisting(e.getKey());
            if (d == null) {
                throw new XsFailure(ENOMEM);
            }
            if (checkQuota) {
                quotas.checkCommittedEntries(e.getKey(), d.entries + e.getValue());
            }
        }
    }

    /** C's finalize_transaction: EAGAIN if a node read in the transaction changed since; else apply and fire. */
    private void commit(Session s, Transaction t) throws XsFailure {
        for (Map.Entry<String, Transaction.Accessed> e : t.accessed.entrySet()) {
            Transaction.Accessed a = e.getValue();
            if (a.checkGeneration) {
                Node g = tree.get(e.getKey());
                long gen = g == null ? Node.NO_GENERATION : g.generation();
                if (gen != a.generation) {
                    throw new XsFailure(EAGAIN);
                }
            }
        }
        for (Map.Entry<String, Transaction.Accessed> e : t.accessed.entrySet()) {
            Transaction.Accessed a = e.getValue();
            if (!a.modified) {
                continue;
            }
            if (a.node != null) {
                tree.put(e.getKey(), a.node.withGeneration(tree.nextGeneration()));
            } else if (a.generation != Node.NO_GENERATION) {
                tree.remove(e.getKey());
            }
            if (a.fireWatch) {
                watches.fire(s, e.getKey(), null, a.watchExact, a.originalPerms);
            }
        }
    }
}
