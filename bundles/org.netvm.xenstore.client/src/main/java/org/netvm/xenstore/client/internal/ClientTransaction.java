package org.netvm.xenstore.client.internal;

import java.util.List;

import org.netvm.xenstore.Permission;
import org.netvm.xenstore.Transaction;
import org.netvm.xenstore.XenStoreException;
import org.netvm.xenstore.wire.MessageType;

/**
 * A transaction of {@link XenStoreClient}. Bound to the connection it was started on: after a
 * reconnection every operation fails with DISCONNECTED (the daemon has forgotten the transaction, and
 * its id may mean another transaction on the new connection). Operations after commit or abort are
 * still sent, so the caller sees what the daemon says about an ended transaction (the C daemon answers
 * ENOENT, oxenstored EIO).
 */
final class ClientTransaction implements Transaction {

    private final XenStoreClient client;
    private final int id;
    private final long generation;
    private volatile boolean ended;

    ClientTransaction(XenStoreClient client, int id, long generation) {
        this.client = client;
        this.id = id;
        this.generation = generation;
    }

    /** The daemon's transaction id. */
    int id() {
        return id;
    }

    @Override
    public String read(String path) throws XenStoreException {
        return client.read(id, generation, path);
    }

    @Override
    public void write(String path, String value) throws XenStoreException {
        client.write(id, generation, path, value);
    }

    @Override
    public void mkdir(String path) throws XenStoreException {
        client.simple(MessageType.MKDIR, id, generation, path);
    }

    @Override
    public void rm(String path) throws XenStoreException {
        client.simple(MessageType.RM, id, generation, path);
    }

    @Override
    public List<String> directory(String path) throws XenStoreException {
        return client.directory(id, generation, path);
    }

    @Override
    public List<Permission> getPermissions(String path) throws XenStoreException {
        return client.getPermissions(id, generation, path);
    }

    @Override
    public void setPermissions(String path, List<Permission> permissions) throws XenStoreException {
        client.setPermissions(id, generation, path, permissions);
    }

    /** Commits; EAGAIN when a conflicting change happened (the transaction is over either way). */
    @Override
    public void commit() throws XenStoreException {
        ended = true;
        client.endTransaction(id, generation, true);
    }

    @Override
    public void abort() {
        if (ended) {
            return;
        }
        ended = true;
        try {
            client.endTransaction(id, generation, false);
        } catch (XenStoreException e) {
            // nothing to undo: a lost connection or an unknown id means the daemon dropped it already
        }
    }

    @Override
    public String toString() {
        return "Transaction[" + id + (ended ? ", ended" : "") + "]";
    }
}
