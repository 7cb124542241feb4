package org.netvm.vif.internal;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.netvm.xenstore.Permission;
import org.netvm.xenstore.Transaction;
import org.netvm.xenstore.Watch;
import org.netvm.xenstore.WatchListener;
import org.netvm.xenstore.XenStore;
import org.netvm.xenstore.XenStoreError;
import org.netvm.xenstore.XenStoreException;

/** A xenstore of relative paths in a map; watches fire on write/rm; directory reads can be held. */
final class FakeXenStore implements XenStore {
    private final Map<String, String> nodes = new TreeMap<>();
    private final Map<String, List<WatchListener>> watches = new LinkedHashMap<>();
    final List<String> writes = new CopyOnWriteArrayList<>();
    /** directory() waits on this latch (count 0 = open). */
    volatile CountDownLatch directoryGate = new CountDownLatch(0);
    /** Whether to fire watches on write/rm. */
    volatile boolean fireWatches = true;

    /** Writes without recording it as a write of the code under test. */
    void put(String path, String value) {
        synchronized (this) {
            nodes.put(path, value);
        }
        fire(path);
    }

    /** A vif's backend keys; {@code mac} null means the usual one (a toolstack always writes it), see {@link #putVifNoMac}. */
    void putVif(int domid, int devid, String ip, String mac) {
        vif(domid, devid, ip, mac == null ? "00:16:3e:5e:6c:00" : mac);
    }

    void putVifNoMac(int domid, int devid, String ip) {
        vif(domid, devid, ip, null);
    }

    private void vif(int domid, int devid, String ip, String mac) {
        String d = "backend/vif/" + domid + "/" + devid;
        synchronized (this) {
            nodes.put(d, "");
            if (ip != null) {
                nodes.put(d + "/ip", ip);
            }
            if (mac != null) {
                nodes.put(d + "/mac", mac);
            }
        }
        fire(d);
    }

    synchronized String get(String path) {
        return nodes.get(path);
    }

    private boolean exists(String path) {
        if (nodes.containsKey(path)) {
            return true;
        }
        String prefix = path + "/";
        return nodes.keySet().stream().anyMatch(k -> k.startsWith(prefix));
    }

    @Override
    public synchronized String read(String path) throws XenStoreException {
        if (!exists(path)) {
            throw new XenStoreException(XenStoreError.ENOENT, path);
        }
        return nodes.getOrDefault(path, "");
    }

    @Override
    public void write(String path, String value) {
        writes.add(path + "=" + value);
        put(path, value);
    }

    @Override
    public synchronized void mkdir(String path) {
        nodes.putIfAbsent(path, "");
    }

    @Override
    public void rm(String path) {
        synchronized (this) {
            nodes.keySet().removeIf(k -> k.equals(path) || k.startsWith(path + "/"));
        }
        fire(path);
    }

    @Override
    public List<String> directory(String path) throws XenStoreException {
        try {
            directoryGate.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (this) {
            if (!exists(path)) {
                throw new XenStoreException(XenStoreError.ENOENT, path);
            }
            String prefix = path + "/";
            List<String> out = new ArrayList<>();
            for (String k : nodes.keySet()) {
                if (k.startsWith(prefix)) {
                    String child = k.substring(prefix.length()).split("/", 2)[0];
                    if (!out.contains(child)) {
                        out.add(child);
                    }
                }
            }
            return out;
        }
    }

    @Override
    public List<Permission> getPermissions(String path) {
        return List.of(new Permission(0, Permission.Access.NONE));
    }

    @Override
    public void setPermissions(String path, List<Permission> permissions) {
    }

    @Override
    public Transaction transaction() {
        Map<String, String> pending = new LinkedHashMap<>();
        FakeXenStore store = this;
        return new Transaction() {
            @Override
            public String read(String path) throws XenStoreException {
                return store.read(path);
            }

            @Override
            public void write(String path, String value) {
                pending.put(path, value);
            }

            @Override
            public void mkdir(String path) {
            }

            @Override
            public void rm(String path) {
            }

            @Override
            public List<String> directory(String path) throws XenStoreException {
                return store.directory(path);
            }

            @Override
            public List<Permission> getPermissions(String path) {
                return List.of();
            }

            @Override
            public void setPermissions(String path, List<Permission> permissions) {
            }

            @Override
            public void commit() {
                pending.forEach(store::write);
            }

            @Override
            public void abort() {
            }
        };
    }

    @Override
    public Watch watch(String path, WatchListener listener) {
        synchronized (watches) {
            watches.computeIfAbsent(path, k -> new CopyOnWriteArrayList<>()).add(listener);
        }
        listener.changed(path);
        return new Watch() {
            @Override
            public String path() {
                return path;
            }

            @Override
            public void close() {
                synchronized (watches) {
                    watches.getOrDefault(path, List.of()).remove(listener);
                }
            }
        };
    }

    private void fire(String changed) {
        if (!fireWatches) {
            return;
        }
        List<WatchListener> hit = new ArrayList<>();
        synchronized (watches) {
            watches.forEach((p, ls) -> {
                if (changed.equals(p) || changed.startsWith(p + "/")) {
                    hit.addAll(ls);
                }
            });
        }
        hit.forEach(l -> l.changed(changed));
    }

    @Override
    public String domainPath(int domid) {
        return "/local/domain/" + domid;
    }

    @Override
    public boolean isConnected() {
        return true;
    }
}
