package org.netvm.xenstore.server.internal;

import static org.netvm.xenstore.XenStoreError.E2BIG;
import static org.netvm.xenstore.XenStoreError.EACCES;
import static org.netvm.xenstore.XenStoreError.EAGAIN;
import static org.netvm.xenstore.XenStoreError.EBUSY;
import static org.netvm.xenstore.XenStoreError.EEXIST;
import static org.netvm.xenstore.XenStoreError.EINVAL;
import static org.netvm.xenstore.XenStoreError.EIO;
import static org.netvm.xenstore.XenStoreError.ENOENT;
import static org.netvm.xenstore.XenStoreError.ENOMEM;
import static org.netvm.xenstore.XenStoreError.ENOSPC;
import static org.netvm.xenstore.XenStoreError.ENOSYS;
import static org.netvm.xenstore.XenStoreError.EPERM;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import org.netvm.xenstore.Permission;
import org.netvm.xenstore.XenStoreError;
import org.netvm.xenstore.wire.Message;
import org.netvm.xenstore.wire.MessageType;

/**
 * The store and the request logic, a port of C xenstored 4.17's semantics (xenstored_core.c,
 * _watch.c, _transaction.c, _domain.c): same error names, listing order, watch events, initial
 * tree, permission rules, transaction conflict rules and quotas.
 *
 * <p>Concurrency: every public method holds this object's monitor, so requests run one at a time
 * (as in the single-threaded C daemon). Replies and events are handed to each session's
 * {@link MessageSink} in the order C queues them (e.g. a WRITE's own watch events before its reply).
 *
 * <p>Payload strings are decoded as ISO-8859-1 so that every byte maps to one char: tokens and
 * values round-trip unchanged, and non-ASCII bytes in paths are rejected as C rejects them.
 */
final class XenstoredCore {

    /** First domid that is not a real domain (DOMID_FIRST_RESERVED); DOMID_SELF equals it. */
    static final int DOMID_FIRST_RESERVED = 0x7FF0;
    static final String INTRODUCE_DOMAIN = "@introduceDomain";
    static final String RELEASE_DOMAIN = "@releaseDomain";
    /** XENSTORE_REL_PATH_MAX, the limit for special watch paths. */
    private static final int REL_PATH_MAX = 2048;

    private static final int PERM_READ = 1;
    private static final int PERM_WRITE = 2;
    private static final int PERM_OWNER = 4;
    private static final int PERM_ALL = PERM_READ | PERM_WRITE | PERM_OWNER;
    private static final List<Permission> DEFAULT_SPECIAL_PERMS = List.of(new Permission(0, Permission.Access.NONE));
    private static final byte[] OK = {'O', 'K', 0};

    /** What C keeps in struct domain: generation (for stale permissions), counters, state. */
    static final class Domain {
        final int domid;
        final long generation;
        int entries;
        int watches;
        boolean introduced;
        int target = -1;

        Domain(int domid, long generation) {
            this.domid = domid;
            this.generation = generation;
        }
    }

    private record Lookup(Node node, XenStoreError error) {
    }

    private final Quotas quotas;
    private final DomainListener listener;
    private final Map<String, Node> db = new HashMap<>();
    private final Map<Integer, Domain> domains = new HashMap<>();
    private final List<Session> sessions = new ArrayList<>();
    /** Stands for C's NULL connection: privileged, never in a transaction, receives nothing. */
    private final Session system = new Session(0, false, new MessageSink() {
        @Override
        public void send(Message message) {
        }

        @Override
        public void close() {
        }
    });
    private long generation;
    private List<Permission> introducePerms = DEFAULT_SPECIAL_PERMS;
    private List<Permission> releasePerms = DEFAULT_SPECIAL_PERMS;

    XenstoredCore(Quotas quotas, DomainListener listener) {
        this.quotas = Objects.requireNonNull(quotas, "quotas");
        this.listener = Objects.requireNonNull(listener, "listener");
        Domain dom0 = new Domain(0, generation);
        dom0.introduced = true;
        domains.put(0, dom0);
        // C's setup_structure: "/", "/tool", "/tool/xenstored", all n0.
        manualNode("/", List.of("tool"));
        manualNode("/tool", List.of("xenstored"));
        manualNode("/tool/xenstored", List.of());
        dom0.entries = 3;
    }

    private void manualNode(String name, List<String> children) {
        db.put(name, new Node(new byte[0], DEFAULT_SPECIAL_PERMS, children, ++generation));
    }

    // ------------------------------------------------------------------ sessions and domains

    /**
     * A new connection. {@code domid} 0 is the privileged main socket; any other domid is an
     * unprivileged domain connection and is refused (null) unless the domain is introduced.
     */
    synchronized Session connect(int domid, MessageSink sink) {
        boolean unprivileged = domid != 0;
        if (unprivileged) {
            Domain d = domains.get(domid);
            if (d == null || !d.introduced) {
                return null;
            }
        }
        Session s = new Session(domid, unprivileged, sink);
        sessions.add(s);
        return s;
    }

    /** The connection went away: its watches and transactions go with it. */
    synchronized void disconnect(Session s) {
        dropSession(s);
    }

    private void dropSession(Session s) {
        if (s.closed) {
            return;
        }
        s.closed = true;
        sessions.remove(s);
        Domain d = s.unprivileged ? domains.get(s.domid) : null;
        if (d != null) {
            d.watches = Math.max(0, d.watches - s.watches.size());
        }
        s.watches.clear();
        s.transactions.clear();
        s.current = null;
    }

    /** Introduces a domain as INTRODUCE from dom0 does; false if it was introduced already. */
    synchronized boolean introduce(int domid) {
        if (domid <= 0 || domid >= DOMID_FIRST_RESERVED) {
            throw new IllegalArgumentException("not a guest domid: " + domid);
        }
        try {
            return introduceDomain(domid);
        } catch (XsFailure f) {
            throw new IllegalStateException("introducing domain " + domid + " failed: " + f.error);
        }
    }

    /** Releases a domain as RELEASE from dom0 does; false if it was not introduced. */
    synchronized boolean release(int domid) {
        Domain d = domains.get(domid);
        if (domid == 0 || d == null || !d.introduced) {
            return false;
        }
        releaseDomain(d);
        return true;
    }

    synchronized boolean isIntroduced(int domid) {
        Domain d = domains.get(domid);
        return d != null && d.introduced;
    }

    private boolean introduceDomain(int domid) throws XsFailure {
        if (domid == 0) {
            return false; // the master domain is introduced from the start
        }
        if (domid < 0 || domid >= DOMID_FIRST_RESERVED) {
            throw new XsFailure(EINVAL);
        }
        Domain d = findOrAllocExisting(domid);
        if (d.introduced) {
            return false;
        }
        d.introduced = true;
        try {
            listener.introduced(domid);
        } catch (RuntimeException e) {
            d.introduced = false;
            throw new XsFailure(EIO);
        }
        fireWatches(system, INTRODUCE_DOMAIN, null, true, null);
        return true;
    }

    private void releaseDomain(Domain d) {
        for (Session s : new ArrayList<>(sessions)) {
            if (s.unprivileged && s.domid == d.domid) {
                dropSession(s);
                s.sink.close();
            }
        }
        // C's domain_tree_remove: nodes the domain owns go (with their subtrees), watches fire.
        if (d.entries > 0) {
            try {
                removeOwned("/", d);
            } catch (XsFailure e) {
                // as C: log and carry on; the store stays consistent because rm is all-or-nothing here
            }
        }
        releasePerms = withoutDomain(releasePerms, d.domid);
        introducePerms = withoutDomain(introducePerms, d.domid);
        domains.remove(d.domid);
        d.introduced = false;
        listener.released(d.domid);
        fireWatches(system, RELEASE_DOMAIN, null, true, null);
    }

    private boolean removeOwned(String name, Domain d) throws XsFailure {
        Node n = db.get(name);
        if (n == null) {
            return false;
        }
        if (n.owner() == d.domid && !name.equals("/")) {
            rmNode(system, name);
            return d.entries <= 0;
        }
        for (String c : n.children()) {
            if (removeOwned(XsPaths.child(name, c), d)) {
                return true;
            }
        }
        return d.entries <= 0;
    }

    private static List<Permission> withoutDomain(List<Permission> perms, int domid) {
        List<Permission> out = new ArrayList<>();
        Permission first = perms.get(0);
        out.add(first.domid() == domid ? new Permission(0, first.access()) : first);
        for (int i = 1; i < perms.size(); i++) {
            if (perms.get(i).domid() != domid) {
                out.add(perms.get(i));
            }
        }
        return List.copyOf(out);
    }

    private Domain findOrAllocExisting(int domid) {
        Domain d = domains.get(domid);
        if (d == null && domid >= 0 && domid < DOMID_FIRST_RESERVED) {
            // Without a hypervisor every domid below DOMID_FIRST_RESERVED counts as existing (as in the test harness).
            d = new Domain(domid, generation);
            domains.put(domid, d);
        }
        return d;
    }

    // ------------------------------------------------------------------ permissions

    private int targetOf(Session c) {
        if (!c.unprivileged) {
            return -1;
        }
        Domain d = domains.get(c.domid);
        return d == null ? -1 : d.target;
    }

    /** Whether a non-owner entry is ignored (C: XS_PERM_IGNORE): reserved domid or domain younger than the node. */
    private boolean ignored(Permission p, long nodeGeneration) {
        if (p.domid() >= DOMID_FIRST_RESERVED) {
            return true;
        }
        Domain d = domains.get(p.domid());
        return d == null || Long.compareUnsigned(d.generation, nodeGeneration) > 0;
    }

    private static int bits(Permission.Access a) {
        return (a.canRead() ? PERM_READ : 0) | (a.canWrite() ? PERM_WRITE : 0);
    }

    /** C's perm_for_conn. */
    private int permFor(Session c, List<Permission> perms, long nodeGeneration) {
        if (!c.unprivileged) {
            return PERM_ALL;
        }
        int target = targetOf(c);
        int owner = perms.get(0).domid();
        if (owner == c.domid || (target >= 0 && owner == target)) {
            return PERM_ALL;
        }
        for (int i = 1; i < perms.size(); i++) {
            Permission p = perms.get(i);
            if (!ignored(p, nodeGeneration) && (p.domid() == c.domid || (target >= 0 && p.domid() == target))) {
                return bits(p.access());
            }
        }
        return bits(perms.get(0).access());
    }

    private int permFor(Session c, Node n) {
        return permFor(c, n.perms(), n.generation());
    }

    // ------------------------------------------------------------------ node access (transaction aware)

    private Transaction.Accessed newAccessed(Session c, Transaction t) throws XsFailure {
        if (t.accessed.size() >= quotas.maxTransactionNodes() && c.unprivileged) {
            t.failed = true;
            throw new XsFailure(ENOSPC);
        }
        return new Transaction.Accessed();
    }

    /** C's read_node: in a transaction the first access records the node and its generation. */
    private Node readNode(Session c, String name) throws XsFailure {
        Transaction t = c.current;
        if (t == null) {
            return db.get(name);
        }
        Transaction.Accessed a = t.accessed.get(name);
        if (a != null) {
            return a.node;
        }
        Node g = db.get(name);
        a = newAccessed(c, t);
        a.generation = g == null ? Node.NO_GENERATION : g.generation();
        a.checkGeneration = true;
        a.node = g;
        a.originalPerms = g == null ? null : g.perms();
        t.accessed.put(name, a);
        return g;
    }

    /** C's write_node: bumps the generation, checks the entry-size quota, stores (in the transaction if any). */
    private Node writeNode(Session c, String name, Node node, boolean noQuotaCheck) throws XsFailure {
        Node n = node.withGeneration(++generation);
        Transaction t = c.current;
        Transaction.Accessed a = null;
        if (t != null) {
            a = t.accessed.get(name);
            if (a == null) {
                a = newAccessed(c, t);
                a.originalPerms = n.perms();
                t.accessed.put(name, a);
            }
            a.modified = true;
        }
        if (!noQuotaCheck && c.unprivileged && n.recordSize() >= quotas.maxEntrySize()) {
            if (t != null) {
                t.failed = true;
            }
            throw new XsFailure(ENOSPC);
        }
        if (a != null) {
            a.node = n;
        } else {
            db.put(name, n);
        }
        return n;
    }

    private void deleteNode(Session c, String name) throws XsFailure {
        ++generation;
        Transaction t = c.current;
        if (t == null) {
            db.remove(name);
            return;
        }
        Transaction.Accessed a = t.accessed.get(name);
        if (a == null) {
            a = newAccessed(c, t);
            t.accessed.put(name, a);
        }
        a.modified = true;
        a.node = null;
    }

    private void entryInc(Session c, Node n) {
        entryAdd(c, n.owner(), 1);
    }

    private void entryDec(Session c, Node n) {
        entryAdd(c, n.owner(), -1);
    }

    private void entryAdd(Session c, int domid, int delta) {
        if (c.current != null) {
            c.current.entryDelta.merge(domid, delta, Integer::sum);
            return;
        }
        Domain d = findOrAllocExisting(domid);
        if (d != null) {
            d.entries += delta;
        }
    }

    /** C's domain_entry: nodes owned by the connection's domain, 0 for privileged connections. */
    private int domainEntry(Session c) {
        if (!c.unprivileged) {
            return 0;
        }
        Domain d = domains.get(c.domid);
        return d == null ? 0 : d.entries;
    }

    /** C's get_node: the node if the connection has {@code perm} on it, else an errno that leaks nothing. */
    private Lookup getNode(Session c, String name, int perm) throws XsFailure {
        if (name == null || !XsPaths.isValidNodename(name, quotas.maxPathLength())) {
            return new Lookup(null, EINVAL);
        }
        Node n = readNode(c, name);
        XenStoreError err;
        if (n != null) {
            if ((permFor(c, n) & perm) == perm) {
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
        int parentPerm = n == null ? 0 : permFor(c, n);
        return (parentPerm & perm) != 0 ? err : EACCES;
    }

    private Node require(Lookup l) throws XsFailure {
        if (l.node == null) {
            throw new XsFailure(l.error);
        }
        return l.node;
    }

    /** C's create_node with construct_node: creates missing ancestors, children inherit the parent's permissions. */
    private Node createNode(Session c, String name, byte[] value) throws XsFailure {
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
        if (c.current != null) {
            c.current.nodeCreated = true;
        }
        // Written bottom-up; new nodes are subject to the node quota; undone on failure.
        for (int i = 0; i <= levels; i++) {
            boolean isNew = i < levels;
            try {
                if (isNew && domainEntry(c) >= quotas.maxEntries()) {
                    throw new XsFailure(ENOSPC);
                }
                writeNode(c, names.get(i), nodes[i], false);
            } catch (XsFailure f) {
                for (int j = 0; j < i; j++) {
                    if (c.current == null) {
                        db.remove(names.get(j));
                        entryDec(c, nodes[j]);
                    } else {
                        c.current.failed = true;
                    }
                }
                throw f;
            }
            if (isNew) {
                entryInc(c, nodes[i]);
            }
        }
        return nodes[0];
    }

    /** C's rm_node: removes the subtree (events: exact for descendants, prefix for its root), then the child entry. */
    private void rmNode(Session c, String name) throws XsFailure {
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
        fireWatches(c, name, n, !name.equals(root), null);
        entryDec(c, n);
    }

    // ------------------------------------------------------------------ watches

    private void fireWatches(Session c, String name, Node node, boolean exact, List<Permission> oldPerms) {
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
        for (Session s : sessions) {
            if (special ? !checkPermsSpecial(name, s) : !watchPermitted(s, name, node, oldPerms)) {
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
    private boolean watchPermitted(Session s, String name, Node node, List<Permission> oldPerms) {
        if (oldPerms != null && (permFor(s, oldPerms, Long.MAX_VALUE) & PERM_READ) != 0) {
            return true;
        }
        Node n = node != null ? node : db.get(name);
        if (n == null) {
            return false;
        }
        if ((permFor(s, n) & PERM_READ) != 0) {
            return true;
        }
        Node parent = db.get(XsPaths.parent(name));
        return parent != null && (permFor(s, parent) & PERM_READ) != 0;
    }

    private boolean checkPermsSpecial(String name, Session s) {
        List<Permission> p = specialPerms(name);
        return p != null && (permFor(s, p, Long.MAX_VALUE) & PERM_READ) != 0;
    }

    private List<Permission> specialPerms(String name) {
        return switch (name) {
            case RELEASE_DOMAIN -> releasePerms;
            case INTRODUCE_DOMAIN -> introducePerms;
            default -> null;
        };
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

    /** Processes one request of {@code s}; the reply (and any events) go to the sessions' sinks. */
    synchronized void handle(Session s, Message m) {
        if (s.closed) {
            return;
        }
        MessageType type = m.messageType();
        if (type == null || type == MessageType.WATCH_EVENT || type == MessageType.ERROR) {
            error(s, m, ENOSYS);
            return;
        }
        if (privilegedOnly(type) && s.unprivileged) {
            error(s, m, EACCES);
            return;
        }
        Transaction t = null;
        if (type != MessageType.WATCH && type != MessageType.UNWATCH && m.txId() != 0) {
            t = s.transactions.get(m.txId());
            if (t == null) {
                error(s, m, ENOENT);
                return;
            }
        }
        s.current = t;
        try {
            dispatch(s, m, type);
        } catch (XsFailure f) {
            error(s, m, f.error);
        } finally {
            s.current = null;
        }
    }

    private static boolean privilegedOnly(MessageType type) {
        return switch (type) {
            case CONTROL, INTRODUCE, RELEASE, IS_DOMAIN_INTRODUCED, RESUME, SET_TARGET -> true;
            default -> false;
        };
    }

    private void dispatch(Session s, Message m, MessageType type) throws XsFailure {
        switch (type) {
            case READ -> reply(s, m, require(getNode(s, path(s, m), PERM_READ)).value());
            case DIRECTORY -> reply(s, m, childList(require(getNode(s, path(s, m), PERM_READ))));
            case DIRECTORY_PART -> directoryPart(s, m);
            case GET_PERMS -> reply(s, m, permStrings(require(getNode(s, path(s, m), PERM_READ)).perms()));
            case WRITE -> write(s, m);
            case MKDIR -> mkdir(s, m);
            case RM -> rm(s, m);
            case SET_PERMS -> setPerms(s, m);
            case WATCH -> watch(s, m);
            case UNWATCH -> unwatch(s, m);
            case TRANSACTION_START -> transactionStart(s, m);
            case TRANSACTION_END -> transactionEnd(s, m);
            case INTRODUCE -> introduceRequest(s, m);
            case RELEASE -> releaseRequest(s, m);
            case GET_DOMAIN_PATH -> reply(s, m, text("/local/domain/" + Integer.toUnsignedString(XsPaths.atoi(oneArg(m)))));
            case IS_DOMAIN_INTRODUCED -> isDomainIntroduced(s, m);
            case RESET_WATCHES -> resetWatches(s, m);
            case RESUME -> {
                connectedDomain(oneArgDomid(m));
                ack(s, m);
            }
            case SET_TARGET -> setTarget(s, m);
            case CONTROL -> control(s, m);
            default -> throw new XsFailure(ENOSYS);
        }
    }

    // --- payload helpers (C: onearg, get_strings, xs_count_strings)

    private static String latin1(byte[] b, int from, int to) {
        return new String(b, from, to - from, StandardCharsets.ISO_8859_1);
    }

    private static byte[] text(String s) {
        return (s + '\0').getBytes(StandardCharsets.ISO_8859_1);
    }

    /** Exactly one NUL-terminated string, or null (C answers with a stale errno then; we say EINVAL). */
    private static String oneArgOrNull(Message m) {
        byte[] p = m.payload();
        if (p.length == 0 || indexOfNul(p, 0) != p.length - 1) {
            return null;
        }
        return latin1(p, 0, p.length - 1);
    }

    private static String oneArg(Message m) throws XsFailure {
        String a = oneArgOrNull(m);
        if (a == null) {
            throw new XsFailure(EINVAL);
        }
        return a;
    }

    private static int indexOfNul(byte[] p, int from) {
        for (int i = from; i < p.length; i++) {
            if (p[i] == 0) {
                return i;
            }
        }
        return -1;
    }

    /** The NUL-terminated strings of the payload; bytes after the last NUL are ignored. */
    private static List<String> strings(Message m) {
        byte[] p = m.payload();
        List<String> out = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < p.length; i++) {
            if (p[i] == 0) {
                out.add(latin1(p, start, i));
                start = i + 1;
            }
        }
        return out;
    }

    private static int countNuls(byte[] p) {
        int n = 0;
        for (byte b : p) {
            if (b == 0) {
                n++;
            }
        }
        return n;
    }

    private static String path(Session s, Message m) throws XsFailure {
        return XsPaths.canonicalize(s.home(), oneArg(m));
    }

    private void reply(Session s, Message m, byte[] payload) {
        if (payload.length > Message.MAX_PAYLOAD) {
            error(s, m, E2BIG);
            return;
        }
        s.sink.send(new Message(m.type(), m.requestId(), m.txId(), payload));
    }

    private void ack(Session s, Message m) {
        reply(s, m, OK.clone());
    }

    private static void error(Session s, Message m, XenStoreError e) {
        s.sink.send(new Message(MessageType.ERROR.code(), m.requestId(), m.txId(), text(e.name())));
    }

    private static byte[] childList(Node n) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (String c : n.children()) {
            out.writeBytes(c.getBytes(StandardCharsets.ISO_8859_1));
            out.write(0);
        }
        return out.toByteArray();
    }

    private static byte[] permStrings(List<Permission> perms) {
        StringBuilder sb = new StringBuilder();
        for (Permission p : perms) {
            sb.append(p).append('\0');
        }
        return sb.toString().getBytes(StandardCharsets.ISO_8859_1);
    }

    // --- operations

    private void directoryPart(Session s, Message m) throws XsFailure {
        byte[] p = m.payload();
        if (countNuls(p) != 2) {
            throw new XsFailure(EINVAL);
        }
        int nul = indexOfNul(p, 0);
        String name = XsPaths.canonicalize(s.home(), latin1(p, 0, nul));
        Node node = require(getNode(s, name, PERM_READ));
        long off = Integer.toUnsignedLong(XsPaths.atoi(latin1(p, nul + 1, indexOfNul(p, nul + 1))));
        byte[] children = childList(node);
        byte[] gen = text(Long.toUnsignedString(node.generation()));
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

    private void write(Session s, Message m) throws XsFailure {
        byte[] p = m.payload();
        int nul = indexOfNul(p, 0);
        if (nul < 0) {
            throw new XsFailure(EINVAL);
        }
        String name = XsPaths.canonicalize(s.home(), latin1(p, 0, nul));
        byte[] value = Arrays.copyOfRange(p, nul + 1, p.length);
        Lookup l = getNode(s, name, PERM_WRITE);
        Node node;
        if (l.node == null) {
            if (l.error != ENOENT) {
                throw new XsFailure(l.error);
            }
            node = createNode(s, name, value);
        } else {
            node = writeNode(s, name, l.node.withValue(value), false);
        }
        fireWatches(s, name, node, false, null);
        ack(s, m);
    }

    private void mkdir(Session s, Message m) throws XsFailure {
        String name = path(s, m);
        Lookup l = getNode(s, name, PERM_WRITE);
        if (l.node == null) {
            if (l.error != ENOENT) {
                throw new XsFailure(l.error);
            }
            Node node = createNode(s, name, new byte[0]);
            fireWatches(s, name, node, false, null);
        }
        ack(s, m);
    }

    private void rm(Session s, Message m) throws XsFailure {
        String name = path(s, m);
        Lookup l = getNode(s, name, PERM_WRITE);
        if (l.node == null) {
            if (l.error == ENOENT) {
                // Didn't exist already? Fine, if the parent exists.
                if (readNode(s, XsPaths.parent(name)) != null) {
                    ack(s, m);
                    return;
                }
            }
            throw new XsFailure(l.error);
        }
        if (name.equals("/")) {
            throw new XsFailure(EINVAL);
        }
        rmNode(s, name);
        ack(s, m);
    }

    private List<Permission> parsePerms(List<String> texts) throws XsFailure {
        List<Permission> perms = new ArrayList<>();
        for (String t : texts) {
            if (t.isEmpty()) {
                throw new XsFailure(EINVAL);
            }
            Permission.Access access = switch (t.charAt(0)) {
                case 'n' -> Permission.Access.NONE;
                case 'r' -> Permission.Access.READ;
                case 'w' -> Permission.Access.WRITE;
                case 'b' -> Permission.Access.BOTH;
                default -> throw new XsFailure(EINVAL);
            };
            String num = t.substring(1);
            XsPaths.Parsed v = XsPaths.strtol(num, 0);
            if (num.isEmpty() || !v.complete()) {
                throw new XsFailure(EINVAL);
            }
            perms.add(new Permission((int) (v.value() & 0xFFFF), access));
        }
        return perms;
    }

    private void setPerms(Session s, Message m) throws XsFailure {
        List<String> v = strings(m);
        if (v.size() < 2) {
            throw new XsFailure(EINVAL);
        }
        if (s.unprivileged && v.size() - 1 > quotas.maxPermsPerNode()) {
            throw new XsFailure(ENOSPC);
        }
        List<Permission> perms = List.copyOf(parsePerms(v.subList(1, v.size())));
        for (Permission p : perms) {
            findOrAllocExisting(p.domid()); // C: domain_alloc_permrefs
        }
        if (perms.get(0).domid() >= DOMID_FIRST_RESERVED) {
            throw new XsFailure(ENOENT);
        }
        String rawName = v.get(0);
        if (rawName.startsWith("@")) {
            List<Permission> current = specialPerms(rawName);
            if (current == null) {
                throw new XsFailure(EINVAL);
            }
            if ((permFor(s, current, Long.MAX_VALUE) & (PERM_WRITE | PERM_OWNER)) != (PERM_WRITE | PERM_OWNER)) {
                throw new XsFailure(EACCES);
            }
            if (rawName.equals(RELEASE_DOMAIN)) {
                releasePerms = perms;
            } else {
                introducePerms = perms;
            }
            ack(s, m);
            return;
        }
        String name = XsPaths.canonicalize(s.home(), rawName);
        Node node = require(getNode(s, name, PERM_WRITE | PERM_OWNER));
        if (s.unprivileged && perms.get(0).domid() != node.owner()) {
            throw new XsFailure(EPERM);
        }
        Node changed = node.withPerms(perms);
        entryDec(s, node);
        entryInc(s, changed);
        try {
            changed = writeNode(s, name, changed, false);
        } catch (XsFailure f) {
            entryDec(s, changed);
            entryInc(s, node);
            throw f;
        }
        fireWatches(s, name, changed, false, node.perms());
        ack(s, m);
    }

    private void watch(Session s, Message m) throws XsFailure {
        List<String> v = strings(m);
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
            if (!XsPaths.isValidNodename(path, quotas.maxPathLength())) {
                throw new XsFailure(EINVAL);
            }
        }
        for (Session.Watch w : s.watches) {
            if (w.node().equals(path) && w.token().equals(token)) {
                throw new XsFailure(EEXIST);
            }
        }
        Domain d = s.unprivileged ? domains.get(s.domid) : null;
        if (d != null && d.watches > quotas.maxWatches()) {
            throw new XsFailure(E2BIG);
        }
        Session.Watch w = new Session.Watch(path, token, relative ? s.home() : null);
        s.watches.add(w);
        if (d != null) {
            d.watches++;
        }
        ack(s, m);
        // Fired once up front, as C does.
        sendEvent(s, watchPath(w, w.node()), token);
    }

    private void unwatch(Session s, Message m) throws XsFailure {
        List<String> v = strings(m);
        if (v.size() != 2) {
            throw new XsFailure(EINVAL);
        }
        String node = XsPaths.canonicalize(s.home(), v.get(0));
        for (int i = 0; i < s.watches.size(); i++) {
            Session.Watch w = s.watches.get(i);
            if (w.node().equals(node) && w.token().equals(v.get(1))) {
                s.watches.remove(i);
                Domain d = s.unprivileged ? domains.get(s.domid) : null;
                if (d != null && d.watches > 0) {
                    d.watches--;
                }
                ack(s, m);
                return;
            }
        }
        throw new XsFailure(ENOENT);
    }

    private void transactionStart(Session s, Message m) throws XsFailure {
        if (s.current != null) {
            throw new XsFailure(EBUSY); // no nested transactions
        }
        if (s.unprivileged && s.transactions.size() > quotas.maxTransactions()) {
            throw new XsFailure(ENOSPC);
        }
        int id;
        do {
            id = s.nextTransactionId++;
        } while (id == 0 || s.transactions.containsKey(id));
        Transaction t = new Transaction(id, ++generation);
        s.transactions.put(id, t);
        reply(s, m, text(Integer.toUnsignedString(id)));
    }

    private void transactionEnd(Session s, Message m) throws XsFailure {
        String arg = oneArgOrNull(m);
        if (arg == null || !(arg.equals("T") || arg.equals("F"))) {
            throw new XsFailure(EINVAL);
        }
        Transaction t = s.current;
        if (t == null) {
            throw new XsFailure(ENOENT);
        }
        s.current = null;
        s.transactions.remove(t.id);
        if (arg.equals("T")) {
            if (t.failed) {
                throw new XsFailure(ENOMEM);
            }
            boolean checkQuota = t.nodeCreated && s.unprivileged;
            for (Map.Entry<Integer, Integer> e : t.entryDelta.entrySet()) {
                Domain d = findOrAllocExisting(e.getKey());
                if (d == null) {
                    throw new XsFailure(ENOMEM);
                }
                int count = d.entries + e.getValue();
                if (checkQuota && e.getKey() != 0 && count >= quotas.maxEntries()) {
                    throw new XsFailure(ENOSPC);
                }
            }
            commit(s, t);
            for (Map.Entry<Integer, Integer> e : t.entryDelta.entrySet()) {
                Domain d = findOrAllocExisting(e.getKey());
                d.entries = Math.max(0, d.entries + e.getValue());
            }
        }
        ack(s, m);
    }

    /** C's finalize_transaction: EAGAIN if a node read in the transaction changed since; else apply and fire. */
    private void commit(Session s, Transaction t) throws XsFailure {
        for (Map.Entry<String, Transaction.Accessed> e : t.accessed.entrySet()) {
            Transaction.Accessed a = e.getValue();
            if (a.checkGeneration) {
                Node g = db.get(e.getKey());
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
                db.put(e.getKey(), a.node.withGeneration(++generation));
            } else if (a.generation != Node.NO_GENERATION) {
                db.remove(e.getKey());
            }
            if (a.fireWatch) {
                fireWatches(s, e.getKey(), null, a.watchExact, a.originalPerms);
            }
        }
    }

    private void introduceRequest(Session s, Message m) throws XsFailure {
        List<String> v = strings(m);
        if (v.size() < 3) {
            throw new XsFailure(EINVAL);
        }
        int domid = XsPaths.atoi(v.get(0));
        int port = XsPaths.atoi(v.get(2)); // the gfn (v[1]) is not needed
        if (port == 0) {
            throw new XsFailure(EINVAL);
        }
        introduceDomain(domid);
        ack(s, m);
    }

    private int oneArgDomid(Message m) throws XsFailure {
        int domid = XsPaths.atoi(oneArg(m));
        if (domid == 0) {
            throw new XsFailure(EINVAL);
        }
        return domid;
    }

    private Domain connectedDomain(int domid) throws XsFailure {
        Domain d = domains.get(domid);
        if (d == null || !d.introduced) {
            throw new XsFailure(ENOENT);
        }
        return d;
    }

    private void releaseRequest(Session s, Message m) throws XsFailure {
        releaseDomain(connectedDomain(oneArgDomid(m)));
        ack(s, m);
    }

    private void isDomainIntroduced(Session s, Message m) throws XsFailure {
        int domid = XsPaths.atoi(oneArg(m));
        boolean introduced = domid == DOMID_FIRST_RESERVED || isIntroducedLocked(domid);
        reply(s, m, text(introduced ? "T" : "F"));
    }

    private boolean isIntroducedLocked(int domid) {
        Domain d = domains.get(domid);
        return d != null && d.introduced;
    }

    private void resetWatches(Session s, Message m) {
        Domain d = s.unprivileged ? domains.get(s.domid) : null;
        if (d != null) {
            d.watches = Math.max(0, d.watches - s.watches.size());
        }
        s.watches.clear();
        s.transactions.clear();
        s.current = null;
        ack(s, m);
    }

    private void setTarget(Session s, Message m) throws XsFailure {
        List<String> v = strings(m);
        if (v.size() < 2) {
            throw new XsFailure(EINVAL);
        }
        Domain d = connectedDomain(XsPaths.atoi(v.get(0)));
        Domain target = connectedDomain(XsPaths.atoi(v.get(1)));
        d.target = target.domid;
        ack(s, m);
    }

    private void control(Session s, Message m) throws XsFailure {
        byte[] p = m.payload();
        int nul = indexOfNul(p, 0);
        if (nul < 0) {
            throw new XsFailure(EINVAL);
        }
        if (!latin1(p, 0, nul).equals("check")) {
            throw new XsFailure(EINVAL); // log, quota, memreport, live-update... are not offered
        }
        ack(s, m);
    }

    // ------------------------------------------------------------------ inspection for tests

    synchronized int ownedEntries(int domid) {
        Domain d = domains.get(domid);
        return d == null ? 0 : d.entries;
    }

    synchronized int nodeCount() {
        return db.size();
    }
}
