package org.netvm.xenstore.server.internal;

import static org.netvm.xenstore.XenStoreError.EACCES;
import static org.netvm.xenstore.XenStoreError.EINVAL;
import static org.netvm.xenstore.XenStoreError.EIO;
import static org.netvm.xenstore.XenStoreError.ENOENT;
import static org.netvm.xenstore.XenStoreError.ENOMEM;

import java.util.ArrayList;
import java.util.List;

import org.netvm.xenstore.Permission;
import org.netvm.xenstore.XenStoreError;

/**
 * Node access as C's xenstored_core.c does it (read_node, write_node, get_node, create_node,
 * rm_node), seen through the connection's transaction: in a transaction the first access records
 * the node and its generation, and writes stay in the transaction until {@link Transactions} commits.
 * Owned-node counts and watch events follow every change.
 */
final class Store {

    /** A node the connection may use, or the errno to answer with. */
    record Lookup(Node node, XenStoreError error) {
    }

    private final Tree tree;
    private final Domains domains;
    private final Permissions permissions;
    private final Quotas quotas;
    private final Watches watches;

    Store(Tree tree, Domains domains, Permissions permissions, Quotas quotas, Watches watches) {
        this.tree = tree;
        this.domains = domains;
        this.permissions = permissions;
        this.quotas = quotas;
        this.watches = watches;
    }

    private Transaction.Accessed newAccessed(Session c, Transaction t) throws XsFailure {
        quotas.checkTransactionNodes(c, t);
        return new Transaction.Accessed();
    }

    /** Heap a transaction holds for one accessed node: the record, and the node if it wrote one. */
    private static long footprint(String name, Node written) {
        return 64 + name.length() + (written == null ? 0 : written.recordSize());
    }

    private static long footprint(String name, Transaction.Accessed a) {
        return footprint(name, a.modified ? a.node : null);
    }

    /**
     * Charges a change of what the transaction holds to a guest's memory quota: over it ENOMEM, and
     * the transaction fails (C's domain_memory_add_chk). Privileged connections are not charged.
     */
    private static void charge(Session c, Transaction t, long before, long after) throws XsFailure {
        if (c.account == null || before == after) {
            return;
        }
        if (!c.account.addTransactionBytes(after - before)) {
            t.failed = true;
            Refusals.log("dom" + c.domid + " memory", "dom" + c.domid + ": transaction memory over the quota ("
                    + c.account.memory() + " bytes held); ENOMEM");
            throw new XsFailure(ENOMEM);
        }
        t.bytes += after - before;
        if (c.account.crossedSoftQuota()) {
            Refusals.log("dom" + c.domid + " soft", "dom" + c.domid + " exceeds its soft memory quota ("
                    + c.account.memory() + " bytes)");
        }
    }

    /** C's read_node: in a transaction the first access records the node and its generation. */
    Node readNode(Session c, String name) throws XsFailure {
        Transaction t = c.current;
        if (t == null) {
            return tree.get(name);
        }
        Transaction.Accessed a = t.accessed.get(name);
        if (a != null) {
            return a.node;
        }
        Node g = tree.get(name);
        a = newAccessed(c, t);
        charge(c, t, 0, footprint(name, (Node) null));
        a.generation = g == null ? Node.NO_GENERATION : g.generation();
        a.checkGeneration = true;
        a.node = g;
        a.originalPerms = g == null ? null : g.perms();
        t.accessed.put(name, a);
        return g;
    }

    /** C's write_node: bumps the generation, checks the entry-size quota, stores (in the transaction if any). */
    Node writeNode(Session c, String name, Node node, boolean noQuotaCheck) throws XsFailure {
        Node n = node.withGeneration(tree.nextGeneration());
        Transaction t = c.current;
        Transaction.Accessed a = null;
        if (t != null) {
            a = t.accessed.get(name);
            boolean isNew = a == null;
            if (isNew) {
                a = newAccessed(c, t);
                a.originalPerms = n.perms();
            }
            charge(c, t, isNew ? 0 : footprint(name, a), footprint(name, n));
            if (isNew) {
                t.accessed.put(name, a);
            }
            a.modified = true;
        }
        if (!noQuotaCheck) {
            quotas.checkEntrySize(c, n);
        }
        if (a != null) {
            a.node = n;
        } else {
            tree.put(name, n);
        }
        return n;
    }

    private void deleteNode(Session c, String name) throws XsFailure {
        tree.nextGeneration();
        Transaction t = c.current;
        if (t == null) {
            tree.remove(name);
            return;
        }
        Transaction.Accessed a = t.accessed.get(name);
        boolean isNew = a == null;
        if (isNew) {
            a = newAccessed(c, t);
        }
        charge(c, t, isNew ? 0 : footprint(name, a), footprint(name, (Node) null));
        if (isNew) {
            t.accessed.put(name, a);
        }
        a.modified = true;
        a.node = null;
    }

    /** C's get_node: the node if the connection has {@code perm} on it, else an errno that leaks nothing. */
    Lookup getNode(Session c, String name, int perm) throws XsFailure {
        if (name == null || !quotas.validPath(name)) {
            return new Lookup(null, EINVAL);
        }
        Node n = readNode(c, name);
        XenStoreError err;
        if (n != null) {
            if ((permissions.permFor(c, n) & perm) == perm) {
                return new Lookup(n, null);
            }
            err = EACCES;
        } else {
            err = ENOENT;
        }
        return new Lookup(null, errnoFromParents(c, name, err, perm));
    }

    /** C's errno_from_parents: the real errno only if the nearest existing ancestor grants {@code perm}. */
    private XenStoreError errnoFromParents(Session c, String name, XenStoreError err, int perm) throws XsFailure {
        String p = name;
        Node n;
        do {
            p = XsPaths.parent(p);
            n = readNode(c, p);
        } while (n == null && !p.equals("/"));
        int parentPerm = n == null ? 0 : permissions.permFor(c, n);
        return (parentPerm & perm) != 0 ? err : EACCES;
    }

    /** {@link #getNode}'s node, or its errno thrown. */
    Node requireNode(Session c, String name, int perm) throws XsFailure {
        Lookup l = getNode(c, name, perm);
        if (l.node == null) {
            throw new XsFailure(l.error);
        }
        return l.node;
    }

    /** C's create_node with construct_node: creates missing ancestors, children inherit the parent's permissions. */
    Node createNode(Session c, String name, byte[] value) throws XsFailure {
        List<String> names = new ArrayList<>();
        String pn = name;
        Node parent = null;
        while (parent == null) {
            names.add(pn);
            pn = XsPaths.parent(pn);
            parent = readNode(c, pn);
            if (parent == null && pn.equals("/")) {
                throw new XsFailure(ENOENT);
            }
        }
        names.add(pn);
        Node[] nodes = construct(c, names, parent, value);
        if (c.current != null) {
            c.current.nodeCreated = true;
        }
        writeCreated(c, names, nodes);
        return nodes[0];
    }

    /** The new nodes (index 0 the one asked for) and their parent with each new child added. */
    private static Node[] construct(Session c, List<String> names, Node parent, byte[] value) {
        int levels = names.size() - 1;
        Node[] nodes = new Node[names.size()];
        nodes[levels] = parent;
        for (int i = levels - 1; i >= 0; i--) {
            nodes[i + 1] = nodes[i + 1].withChild(XsPaths.basename(names.get(i)));
            List<Permission> perms = new ArrayList<>(nodes[i + 1].perms());
            if (c.unprivileged) {
                perms.set(0, new Permission(c.domid, perms.get(0).access()));
            }
            nodes[i] = new Node(new byte[0], perms, List.of(), 0);
        }
        nodes[0] = nodes[0].withValue(value);
        return nodes;
    }

    /** Written bottom-up; new nodes are subject to the node quota; undone on failure. */
    private void writeCreated(Session c, List<String> names, Node[] nodes) throws XsFailure {
        int levels = names.size() - 1;
        for (int i = 0; i <= levels; i++) {
            boolean isNew = i < levels;
            try {
                if (isNew) {
                    quotas.checkNewEntry(domains.entries(c));
                }
                writeNode(c, names.get(i), nodes[i], false);
            } catch (XsFailure f) {
                for (int j = 0; j < i; j++) {
                    if (c.current == null) {
                        tree.remove(names.get(j));
                        domains.entryDec(c, nodes[j]);
                    } else {
                        c.current.failed = true;
                    }
                }
                throw f;
            }
            if (isNew) {
                domains.entryInc(c, nodes[i]);
            }
        }
    }

    /** C's rm_node: removes the subtree (events: exact for descendants, prefix for its root), then the child entry. */
    void rmNode(Session c, String name) throws XsFailure {
        String parentName = XsPaths.parent(name);
        Node parent = readNode(c, parentName);
        if (parent == null) {
            throw new XsFailure(EINVAL);
        }
        removeSubtree(c, name, name);
        String base = XsPaths.basename(name);
        if (!parent.children().contains(base)) {
            throw new XsFailure(EIO);
        }
        writeNode(c, parentName, parent.withoutChild(base), true);
    }

    private void removeSubtree(Session c, String name, String root) throws XsFailure {
        Node n = readNode(c, name);
        if (n == null) {
            throw new XsFailure(EIO);
        }
        for (String child : n.children()) {
            removeSubtree(c, XsPaths.child(name, child), root);
        }
        deleteNode(c, name);
        watches.fire(c, name, n, !name.equals(root), null);
        domains.entryDec(c, n);
    }
}
