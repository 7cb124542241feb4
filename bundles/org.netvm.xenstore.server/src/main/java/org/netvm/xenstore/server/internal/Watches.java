package org.netvm.xenstore.server.internal;

import static org.netvm.xenstore.XenStoreError.EEXIST;
import static org.netvm.xenstore.XenStoreError.EINVAL;
import static org.netvm.xenstore.XenStoreError.ENOENT;
import static org.netvm.xenstore.server.internal.Payloads.ack;

import java.nio.charset.StandardCharsets;
import java.util.List;

import org.netvm.xenstore.Permission;
import org.netvm.xenstore.wire.Message;
import org.netvm.xenstore.wire.MessageType;

/**
 * Watches as C's xenstored_watch.c keeps them: WATCH / UNWATCH / RESET_WATCHES, and firing events
 * to every connection whose watch covers a changed node and that may read it (or its parent). In a
 * transaction events are only recorded; {@link Transactions} fires them at commit.
 */
final class Watches {

    /** XENSTORE_REL_PATH_MAX, the limit for special watch paths. */
    private static final int REL_PATH_MAX = 2048;

    private final Tree tree;
    private final Domains domains;
    private final Permissions permissions;
    private final Quotas quotas;

    Watches(Tree tree, Domains domains, Permissions permissions, Quotas quotas) {
        this.tree = tree;
        this.domains = domains;
        this.permissions = permissions;
        this.quotas = quotas;
    }

    /**
     * C's fire_watches: {@code exact} for the node only, else for the node and every watch above it.
     * {@code node} is the node as it now is (null: look it up), {@code oldPerms} its permissions
     * before a change that may have hidden it.
     */
    void fire(Session c, String name, Node node, boolean exact, List<Permission> oldPerms) {
        Transaction t = c.current;
        if (t != null) {
            Transaction.Accessed a = t.accessed.get(name);
            if (a == null) {
                t.failed = true;
            } else if (!a.fireWatch) {
                a.fireWatch = true;
                a.watchExact = exact;
            } else if (!exact) {
                a.watchExact = false;
            }
            return;
        }
        boolean special = name.startsWith("@");
        for (Session s : domains.sessions()) {
            if (special ? !specialPermitted(name, s) : !permitted(s, name, node, oldPerms)) {
                continue;
            }
            for (Session.Watch w : s.watches) {
                if (exact ? name.equals(w.node()) : XsPaths.isChild(name, w.node())) {
                    sendEvent(s, watchPath(w, name), w.token());
                }
            }
        }
    }

    /** C's watch_permitted: the watcher may read the node (or its old permissions allowed it), or its parent. */
    private boolean permitted(Session s, String name, Node node, List<Permission> oldPerms) {
        if (oldPerms != null && (permissions.permFor(s, oldPerms, Long.MAX_VALUE) & Permissions.READ) != 0) {
            return true;
        }
        Node n = node != null ? node : tree.get(name);
        if (n == null) {
            return false;
        }
        if ((permissions.permFor(s, n) & Permissions.READ) != 0) {
            return true;
        }
        Node parent = tree.get(XsPaths.parent(name));
        return parent != null && (permissions.permFor(s, parent) & Permissions.READ) != 0;
    }

    private boolean specialPermitted(String name, Session s) {
        List<Permission> p = permissions.special(name);
        return p != null && (permissions.permFor(s, p, Long.MAX_VALUE) & Permissions.READ) != 0;
    }

    private static String watchPath(Session.Watch w, String name) {
        if (w.relativePrefix() == null) {
            return name;
        }
        String p = name.substring(Math.min(name.length(), w.relativePrefix().length()));
        return p.startsWith("/") ? p.substring(1) : p;
    }

    private static void sendEvent(Session s, String path, String token) {
        byte[] payload = (path + '\0' + token + '\0').getBytes(StandardCharsets.ISO_8859_1);
        if (payload.length > Message.MAX_PAYLOAD) {
            return; // C drops over-long events
        }
        s.sink.send(new Message(MessageType.WATCH_EVENT, 0, 0, payload));
    }

    // ------------------------------------------------------------------ requests

    /** WATCH path token: registered, acknowledged, then fired once up front as C does. */
    void watch(Session s, Message m) throws XsFailure {
        List<String> v = Payloads.strings(m);
        if (v.size() != 2) {
            throw new XsFailure(EINVAL);
        }
        String path = v.get(0);
        String token = v.get(1);
        boolean relative;
        if (path.startsWith("@")) {
            relative = false;
            if (path.length() > REL_PATH_MAX) {
                throw new XsFailure(EINVAL);
            }
        } else {
            relative = !path.startsWith("/");
            path = XsPaths.canonicalize(s.home(), path);
            if (!quotas.validPath(path)) {
                throw new XsFailure(EINVAL);
            }
        }
        for (Session.Watch w : s.watches) {
            if (w.node().equals(path) && w.token().equals(token)) {
                throw new XsFailure(EEXIST);
            }
        }
        Domains.Domain d = domains.of(s);
        quotas.checkWatches(d);
        Session.Watch w = new Session.Watch(path, token, relative ? s.home() : null);
        s.watches.add(w);
        if (d != null) {
            d.watches++;
        }
        ack(s, m);
        sendEvent(s, watchPath(w, w.node()), token);
    }

    /** UNWATCH path token: the watch with both, else ENOENT. */
    void unwatch(Session s, Message m) throws XsFailure {
        List<String> v = Payloads.strings(m);
        if (v.size() != 2) {
            throw new XsFailure(EINVAL);
        }
        String node = XsPaths.canonicalize(s.home(), v.get(0));
        for (int i = 0; i < s.watches.size(); i++) {
            Session.Watch w = s.watches.get(i);
            if (w.node().equals(node) && w.token().equals(v.get(1))) {
                s.watches.remove(i);
                Domains.Domain d = domains.of(s);
                if (d != null && d.watches > 0) {
                    d.watches--;
                }
                ack(s, m);
                return;
            }
        }
        throw new XsFailure(ENOENT);
    }

    /** RESET_WATCHES: the connection's watches and transactions go. */
    void reset(Session s, Message m) {
        domains.forgetWatchesAndTransactions(s);
        ack(s, m);
    }
}
