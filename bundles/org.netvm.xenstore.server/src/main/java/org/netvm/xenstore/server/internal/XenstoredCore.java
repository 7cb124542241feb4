package org.netvm.xenstore.server.internal;

import static org.netvm.xenstore.XenStoreError.EACCES;
import static org.netvm.xenstore.XenStoreError.ENOENT;
import static org.netvm.xenstore.XenStoreError.ENOSYS;

import java.util.Objects;

import org.netvm.xenstore.wire.Message;
import org.netvm.xenstore.wire.MessageType;

/**
 * The embedded xenstored's request entry (C's process_message), a port of C xenstored 4.17's
 * semantics: same error names, listing order, watch events, initial tree, permission rules,
 * transaction conflict rules and quotas. The jobs live where C keeps them:
 * <ul>
 * <li>{@link Tree}, {@link Store}: committed nodes, node access through transactions (xenstored_core.c)</li>
 * <li>{@link NodeRequests}: READ, WRITE, DIRECTORY, MKDIR, RM, GET/SET_PERMS (xenstored_core.c)</li>
 * <li>{@link Permissions}: perm_for_conn, special nodes; {@link Quotas}: the limits and their checks</li>
 * <li>{@link Watches}: WATCH, UNWATCH, firing events (xenstored_watch.c)</li>
 * <li>{@link Transactions}: start, commit with conflict check (xenstored_transaction.c)</li>
 * <li>{@link Domains}, {@link DomainRequests}: domain table, connections, INTRODUCE, RELEASE... (xenstored_domain.c)</li>
 * <li>{@link Control}: CONTROL (xenstored_control.c); {@link Payloads}: payload parsing and replies</li>
 * </ul>
 *
 * <p>Concurrency: every method here holds this object's monitor, so requests run one at a time
 * (as in the single-threaded C daemon); the classes above are only called under it. Replies and
 * events are handed to each session's {@link MessageSink} in the order C queues them (e.g. a
 * WRITE's own watch events before its reply).
 */
final class XenstoredCore {

    private final Tree tree = new Tree();
    private final Domains domains;
    private final Watches watches;
    private final Transactions transactions;
    private final NodeRequests nodes;
    private final DomainRequests domainRequests;
    private final Control control;

    XenstoredCore(Quotas quotas, DomainListener listener) {
        Objects.requireNonNull(quotas, "quotas");
        Objects.requireNonNull(listener, "listener");
        domains = new Domains(tree, quotas);
        domains.get(0).entries = tree.setUpStructure();
        Permissions permissions = new Permissions(domains);
        watches = new Watches(tree, domains, permissions, quotas);
        Store store = new Store(tree, domains, permissions, quotas, watches);
        transactions = new Transactions(tree, domains, quotas, watches);
        nodes = new NodeRequests(store, domains, permissions, quotas, watches);
        domainRequests = new DomainRequests(domains, store, permissions, watches, listener);
        control = new Control(quotas, domains);
    }

    /**
     * A new connection. {@code domid} 0 is the privileged main socket; any other domid is an
     * unprivileged domain connection and is refused (null) unless the domain is introduced.
     */
    synchronized Session connect(int domid, MessageSink sink) {
        return domains.connect(domid, sink);
    }

    /** The connection went away: its watches and transactions go with it. */
    synchronized void disconnect(Session s) {
        domains.drop(s);
    }

    /** Introduces a domain as INTRODUCE from dom0 does; false if it was introduced already. */
    synchronized boolean introduce(int domid) {
        return domainRequests.introduce(domid);
    }

    /** Releases a domain as RELEASE from dom0 does; false if it was not introduced. */
    synchronized boolean release(int domid) {
        return domainRequests.release(domid);
    }

    synchronized boolean isIntroduced(int domid) {
        return domains.isIntroduced(domid);
    }

    /** Processes one request of {@code s}; the reply (and any events) go to the sessions' sinks. */
    synchronized void handle(Session s, Message m) {
        if (s.closed) {
            return;
        }
        MessageType type = m.messageType();
        if (type == null || type == MessageType.WATCH_EVENT || type == MessageType.ERROR) {
            Payloads.error(s, m, ENOSYS);
            return;
        }
        if (privilegedOnly(type) && s.unprivileged) {
            Payloads.error(s, m, EACCES);
            return;
        }
        Transaction t = null;
        if (type != MessageType.WATCH && type != MessageType.UNWATCH && m.txId() != 0) {
            t = s.transactions.get(m.txId());
            if (t == null) {
                Payloads.error(s, m, ENOENT);
                return;
            }
        }
        s.current = t;
        try {
            dispatch(s, m, type);
        } catch (XsFailure f) {
            Payloads.error(s, m, f.error);
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
            case READ -> nodes.read(s, m);
            case DIRECTORY -> nodes.directory(s, m);
            case DIRECTORY_PART -> nodes.directoryPart(s, m);
            case GET_PERMS -> nodes.getPerms(s, m);
            case WRITE -> nodes.write(s, m);
            case MKDIR -> nodes.mkdir(s, m);
            case RM -> nodes.rm(s, m);
            case SET_PERMS -> nodes.setPerms(s, m);
            case WATCH -> watches.watch(s, m);
            case UNWATCH -> watches.unwatch(s, m);
            case RESET_WATCHES -> watches.reset(s, m);
            case TRANSACTION_START -> transactions.start(s, m);
            case TRANSACTION_END -> transactions.end(s, m);
            case INTRODUCE -> domainRequests.introduceRequest(s, m);
            case RELEASE -> domainRequests.releaseRequest(s, m);
            case GET_DOMAIN_PATH -> domainRequests.getDomainPath(s, m);
            case IS_DOMAIN_INTRODUCED -> domainRequests.isDomainIntroduced(s, m);
            case RESUME -> domainRequests.resume(s, m);
            case SET_TARGET -> domainRequests.setTarget(s, m);
            case CONTROL -> control.control(s, m);
            default -> throw new XsFailure(ENOSYS);
        }
    }

    // ------------------------------------------------------------------ inspection for tests

    synchronized int ownedEntries(int domid) {
        return domains.ownedEntries(domid);
    }

    synchronized int nodeCount() {
        return tree.size();
    }

    /** Domain {@code domid}'s account, null if it has none. */
    synchronized DomainAccount account(int domid) {
        Domains.Domain d = domains.get(domid);
        return d == null ? null : d.account;
    }
}
