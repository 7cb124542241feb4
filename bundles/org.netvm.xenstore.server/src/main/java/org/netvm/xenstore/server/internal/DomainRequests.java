package org.netvm.xenstore.server.internal;

import static org.netvm.xenstore.XenStoreError.EINVAL;
import static org.netvm.xenstore.XenStoreError.EIO;
import static org.netvm.xenstore.server.internal.Payloads.ack;
import static org.netvm.xenstore.server.internal.Payloads.oneArg;
import static org.netvm.xenstore.server.internal.Payloads.reply;
import static org.netvm.xenstore.server.internal.Payloads.text;

import java.util.ArrayList;
import java.util.List;

import org.netvm.xenstore.wire.Message;

/**
 * Introducing and releasing domains, as C's xenstored_domain.c does: INTRODUCE, RELEASE,
 * IS_DOMAIN_INTRODUCED, GET_DOMAIN_PATH, RESUME, SET_TARGET, and the same for the embedding code.
 * A released domain loses its connections and the nodes it owns; {@code @introduceDomain} and
 * {@code @releaseDomain} fire.
 */
final class DomainRequests {

    private final Domains domains;
    private final Store store;
    private final Permissions permissions;
    private final Watches watches;
    private final DomainListener listener;
    /** Stands for C's NULL connection: privileged, never in a transaction, receives nothing. */
    private final Session system = new Session(0, false, new MessageSink() {
        @Override
        public void send(Message message) {
        }

        @Override
        public void close() {
        }
    }, null);

    DomainRequests(Domains domains, Store store, Permissions permissions, Watches watches, DomainListener listener) {
        this.domains = domains;
        this.store = store;
        this.permissions = permissions;
        this.watches = watches;
        this.listener = listener;
    }

    /** Introduces a domain as INTRODUCE from dom0 does; false if it was introduced already. */
    boolean introduce(int domid) {
        if (domid <= 0 || domid >= Domains.DOMID_FIRST_RESERVED) {
            throw new IllegalArgumentException("not a guest domid: " + domid);
        }
        try {
            return introduceDomain(domid);
        } catch (XsFailure f) {
            throw new IllegalStateException("introducing domain " + domid + " failed: " + f.error);
        }
    }

    /** Releases a domain as RELEASE from dom0 does; false if it was not introduced. */
    boolean release(int domid) {
        Domains.Domain d = domains.get(domid);
        if (domid == 0 || d == null || !d.introduced) {
            return false;
        }
        releaseDomain(d);
        return true;
    }

    private boolean introduceDomain(int domid) throws XsFailure {
        if (domid == 0) {
            return false; // the master domain is introduced from the start
        }
        if (domid < 0 || domid >= Domains.DOMID_FIRST_RESERVED) {
            throw new XsFailure(EINVAL);
        }
        Domains.Domain d = domains.findOrAllocExisting(domid);
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
        watches.fire(system, Permissions.INTRODUCE_DOMAIN, null, true, null);
        return true;
    }

    private void releaseDomain(Domains.Domain d) {
        for (Session s : new ArrayList<>(domains.sessions())) {
            if (s.unprivileged && s.domid == d.domid) {
                domains.drop(s);
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
        permissions.forgetDomain(d.domid);
        domains.remove(d.domid);
        d.introduced = false;
        listener.released(d.domid);
        watches.fire(system, Permissions.RELEASE_DOMAIN, null, true, null);
    }

    /** Removes the topmost nodes {@code d} owns below {@code name}; true once it owns none. */
    private boolean removeOwned(String name, Domains.Domain d) throws XsFailure {
        Node n = store.readNode(system, name);
        if (n == null) {
            return false;
        }
        if (n.owner() == d.domid && !name.equals("/")) {
            store.rmNode(system, name);
            return d.entries <= 0;
        }
        for (String c : n.children()) {
            if (removeOwned(XsPaths.child(name, c), d)) {
                return true;
            }
        }
        return d.entries <= 0;
    }

    // ------------------------------------------------------------------ requests

    /** INTRODUCE domid gfn port: the ring is not needed; the port must not be 0. */
    void introduceRequest(Session s, Message m) throws XsFailure {
        List<String> v = Payloads.strings(m);
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

    void releaseRequest(Session s, Message m) throws XsFailure {
        releaseDomain(domains.connected(oneArgDomid(m)));
        ack(s, m);
    }

    void resume(Session s, Message m) throws XsFailure {
        domains.connected(oneArgDomid(m));
        ack(s, m);
    }

    void isDomainIntroduced(Session s, Message m) throws XsFailure {
        int domid = XsPaths.atoi(oneArg(m));
        boolean introduced = domid == Domains.DOMID_FIRST_RESERVED || domains.isIntroduced(domid);
        reply(s, m, text(introduced ? "T" : "F"));
    }

    void getDomainPath(Session s, Message m) throws XsFailure {
        reply(s, m, text("/local/domain/" + Integer.toUnsignedString(XsPaths.atoi(oneArg(m)))));
    }

    /** SET_TARGET domid target: the domain gets the target's permissions (a device model). */
    void setTarget(Session s, Message m) throws XsFailure {
        List<String> v = Payloads.strings(m);
        if (v.size() < 2) {
            throw new XsFailure(EINVAL);
        }
        Domains.Domain d = domains.connected(XsPaths.atoi(v.get(0)));
        Domains.Domain target = domains.connected(XsPaths.atoi(v.get(1)));
        d.target = target.domid;
        ack(s, m);
    }

    private static int oneArgDomid(Message m) throws XsFailure {
        int domid = XsPaths.atoi(oneArg(m));
        if (domid == 0) {
            throw new XsFailure(EINVAL);
        }
        return domid;
    }
}
