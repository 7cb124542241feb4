package org.netvm.testing.xenstore;

import java.util.ArrayList;
import java.util.List;

import org.netvm.xenstore.Permission;
import org.netvm.xenstore.Transaction;
import org.netvm.xenstore.XenStoreException;

/** {@link FakeXenStore#transaction()}: changes are kept until commit, then applied to the store in order. */
final class FakeTransaction implements Transaction {
    private final FakeXenStore store;
    private final List<Runnable> pending = new ArrayList<>();

    FakeTransaction(FakeXenStore store) {
        this.store = store;
    }

    @Override
    public String read(String path) throws XenStoreException {
        return store.read(path);
    }

    @Override
    public void write(String path, String value) {
        pending.add(() -> store.write(path, value));
    }

    @Override
    public void mkdir(String path) {
        pending.add(() -> store.mkdir(path));
    }

    @Override
    public void rm(String path) {
        pending.add(() -> store.rm(path));
    }

    @Override
    public List<String> directory(String path) throws XenStoreException {
        return store.directory(path);
    }

    @Override
    public List<Permission> getPermissions(String path) {
        return store.getPermissions(path);
    }

    @Override
    public void setPermissions(String path, List<Permission> permissions) {
    }

    @Override
    public void commit() {
        pending.forEach(Runnable::run);
        pending.clear();
    }

    @Override
    public void abort() {
        pending.clear();
    }
}
