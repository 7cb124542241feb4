package org.netvm.xenstore.server.internal;

import static org.netvm.xenstore.XenStoreError.EACCES;
import static org.netvm.xenstore.XenStoreError.EINVAL;
import static org.netvm.xenstore.XenStoreError.ENOENT;
import static org.netvm.xenstore.XenStoreError.EPERM;
import static org.netvm.xenstore.server.internal.Payloads.ack;
import static org.netvm.xenstore.server.internal.Payloads.indexOfNul;
import static org.netvm.xenstore.server.internal.Payloads.latin1;
import static org.netvm.xenstore.server.internal.Payloads.path;
import static org.netvm.xenstore.server.internal.Payloads.reply;

import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.List;

import org.netvm.xenstore.Permission;
import org.netvm.xenstore.wire.Message;

/**
 * The requests on nodes, as C's xenstored_core.c answers them: READ, DIRECTORY, DIRECTORY_PART,
 * GET_PERMS, WRITE, MKDIR, RM, SET_PERMS.
 */
final class NodeRequests {

    private final Store store;
    private final Domains domains;
    private final Permissions permissions;
    private final Quotas quotas;
    private final Watches watches;

    NodeRequests(Store store, Domains domains, Permissions permissions, Quotas quotas, Watches watches) {
        this.store = store;
        this.domains = domains;
        this.permissions = permissions;
        this.quotas = quotas;
        this.watches = watches;
    }

    void read(Session s, Message m) throws XsFailure {
        reply(s, m, store.requireNode(s, path(s, m), Permissions.READ).value());
    }

    void directory(Session s, Message m) throws XsFailure {
        reply(s, m, Payloads.childList(store.requireNode(s, path(s, m), Permissions.READ)));
    }

    void getPerms(Session s, Message m) throws XsFailure {
        reply(s, m, Payloads.permStrings(store.requireNode(s, path(s, m), Permissions.READ).perms()));
    }

    /** DIRECTORY_PART path offset: the generation, then as many whole child names from the byte offset as fit; a NUL ends. */
    void directoryPart(Session s, Message m) throws XsFailure {
        byte[] p = m.payload();
        if (Payloads.countNuls(p) != 2) {
            throw new XsFailure(EINVAL);
        }
        int nul = indexOfNul(p, 0);
        String name = XsPaths.canonicalize(s.home(), latin1(p, 0, nul));
        Node node = store.requireNode(s, name, Permissions.READ);
        long off = Integer.toUnsignedLong(XsPaths.atoi(latin1(p, nul + 1, indexOfNul(p, nul + 1))));
        byte[] children = Payloads.childList(node);
        byte[] gen = Payloads.text(Long.toUnsignedString(node.generation()));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(gen);
        if (off >= children.length) {
            out.write(0);
            reply(s, m, out.toByteArray());
            return;
        }
        int start = (int) off;
        int len = 0;
        int maxlen = Message.MAX_PAYLOAD - gen.length - 1;
        while (true) {
            int end = indexOfNul(children, start + len);
            int childLen = end - (start + len);
            if (len + childLen >= maxlen) {
                break;
            }
            len += childLen + 1;
            if (start + len == children.length) {
                break;
            }
        }
        out.write(children, start, len);
        if (start + len == children.length) {
            out.write(0);
        }
        reply(s, m, out.toByteArray());
    }

    /** WRITE path NUL value: creates the node (and missing ancestors) or replaces its value. */
    void write(Session s, Message m) throws XsFailure {
        byte[] p = m.payload();
        int nul = indexOfNul(p, 0);
        if (nul < 0) {
            throw new XsFailure(EINVAL);
        }
        String name = XsPaths.canonicalize(s.home(), latin1(p, 0, nul));
        byte[] value = Arrays.copyOfRange(p, nul + 1, p.length);
        Node existing = writableOrAbsent(s, name);
        Node node = existing == null
                ? store.createNode(s, name, value)
                : store.writeNode(s, name, existing.withValue(value), false);
        watches.fire(s, name, node, false, null);
        ack(s, m);
    }

    /** MKDIR: creates the node (and missing ancestors) unless it exists. */
    void mkdir(Session s, Message m) throws XsFailure {
        String name = path(s, m);
        if (writableOrAbsent(s, name) == null) {
            Node node = store.createNode(s, name, new byte[0]);
            watches.fire(s, name, node, false, null);
        }
        ack(s, m);
    }

    /** The node if the connection may write it, null if it does not exist (and may be created); else the errno. */
    private Node writableOrAbsent(Session s, String name) throws XsFailure {
        Store.Lookup l = store.getNode(s, name, Permissions.WRITE);
        if (l.node() == null && l.error() != ENOENT) {
            throw new XsFailure(l.error());
        }
        return l.node();
    }

    void rm(Session s, Message m) throws XsFailure {
        String name = path(s, m);
        Store.Lookup l = store.getNode(s, name, Permissions.WRITE);
        if (l.node() == null) {
            if (l.error() == ENOENT) {
                // Didn't exist already? Fine, if the parent exists.
                if (store.readNode(s, XsPaths.parent(name)) != null) {
                    ack(s, m);
                    return;
                }
            }
            throw new XsFailure(l.error());
        }
        if (name.equals("/")) {
            throw new XsFailure(EINVAL);
        }
        store.rmNode(s, name);
        ack(s, m);
    }

    /** SET_PERMS path perm...: on a node (owner or privileged) or on a special node. */
    void setPerms(Session s, Message m) throws XsFailure {
        List<String> v = Payloads.strings(m);
        if (v.size() < 2) {
            throw new XsFailure(EINVAL);
        }
        quotas.checkPermsPerNode(s, v.size() - 1);
        List<Permission> perms = List.copyOf(Permissions.parse(v.subList(1, v.size())));
        for (Permission p : perms) {
            domains.findOrAllocExisting(p.domid()); // C: domain_alloc_permrefs
        }
        if (perms.get(0).domid() >= Domains.DOMID_FIRST_RESERVED) {
            throw new XsFailure(ENOENT);
        }
        String rawName = v.get(0);
        if (rawName.startsWith("@")) {
            setSpecialPerms(s, rawName, perms);
        } else {
            setNodePerms(s, XsPaths.canonicalize(s.home(), rawName), perms);
        }
        ack(s, m);
    }

    private void setSpecialPerms(Session s, String name, List<Permission> perms) throws XsFailure {
        List<Permission> current = permissions.special(name);
        if (current == null) {
            throw new XsFailure(EINVAL);
        }
        int needed = Permissions.WRITE | Permissions.OWNER;
        if ((permissions.permFor(s, current, Long.MAX_VALUE) & needed) != needed) {
            throw new XsFailure(EACCES);
        }
        permissions.setSpecial(name, perms);
    }

    private void setNodePerms(Session s, String name, List<Permission> perms) throws XsFailure {
        Node node = store.requireNode(s, name, Permissions.WRITE | Permissions.OWNER);
        if (s.unprivileged && perms.get(0).domid() != node.owner()) {
            throw new XsFailure(EPERM);
        }
        Node changed = node.withPerms(perms);
        domains.entryDec(s, node);
        domains.entryInc(s, changed);
        try {
            changed = store.writeNode(s, name, changed, false);
        } catch (XsFailure f) {
            domains.entryDec(s, changed);
            domains.entryInc(s, node);
            throw f;
        }
        watches.fire(s, name, changed, false, node.perms());
    }
}
