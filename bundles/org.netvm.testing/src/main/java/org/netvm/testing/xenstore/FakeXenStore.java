package org.netvm.testing.xenstore;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
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

/**
 * An in-memory xenstore. Paths are used as given (relative paths are the caller's home, as with the
 * real service); a node with children but no value reads as "". Watches fire like xenstored's: once
 * when set, then for every change at or below their path ({@link #write}, {@link #rm} and the test's
 * own {@link #put}, {@link #remove}); {@link #fire} delivers an event by hand. Listeners run on the
 * calling thread, outside the store's lock.
 *
 * <p>The test's side: {@link #put}/{@link #putVif}/{@link #remove} change the store without being
 * recorded; {@link #writes()} lists what the code under test wrote ({@code "path=value"}). Failure and
 * state controls: {@link #failReads}, {@link #connected}, {@link #statistics}, {@link #fireWatches},
 * {@link #holdDirectory}.
 */
public final class FakeXenStore implements XenStore {
    private final Map<String, String> nodes = new TreeMap<>();
    private final Map<String, List<WatchListener>> watches = new LinkedHashMap<>();
    private final List<String> writes = new CopyOnWriteArrayList<>();
    private volatile CountDownLatch directoryGate = new CountDownLatch(0);
    private volatile boolean fireWatches = true;
    private volatile boolean failReads;
    private volatile boolean connected = true;
    private volatile Statistics statistics;

    // ---- the test's side

    /** Sets a value as the toolstack would (not recorded as a write); fires watches (unless turned off). */
    public void put(String path, String value) {
        synchronized (this) {
            nodes.put(path, value);
        }
        changed(path);
    }

    /** {@code backend/vif/<domid>/<devid>} with its {@code ip} and {@code mac} (either may be null), one event. */
    public void putVif(int domid, int devid, String ip, String mac) {
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
        changed(d);
    }

    /** Removes a node and its children as the toolstack would (not recorded); fires watches. */
    public void remove(String path) {
        synchronized (this) {
            removeTree(path);
        }
        changed(path);
    }

    /** The value at {@code path}, or null. */
    public synchronized String get(String path) {
        return nodes.get(path);
    }

    /** What the code under test wrote, in order: {@code "path=value"}. */
    public List<String> writes() {
        return writes;
    }

    /** The paths that have at least one watch. */
    public synchronized List<String> watchedPaths() {
        List<String> out = new ArrayList<>();
        watches.forEach((p, ls) -> {
            if (!ls.isEmpty()) {
                out.add(p);
            }
        });
        return out;
    }

    /** Delivers a watch event for {@code path} to every watch at or above it (even with firing off). */
    public void fire(String path) {
        List<WatchListener> hit = new ArrayList<>();
        synchronized (this) {
            watches.forEach((p, ls) -> {
                if (path.equals(p) || path.startsWith(p + "/")) {
                    hit.addAll(ls);
                }
            });
        }
        hit.forEach(l -> l.changed(path));
    }

    /** Whether changes fire watches (on by default); the initial event of a new watch always fires. */
    public void fireWatches(boolean on) {
        fireWatches = on;
    }

    /** While on, every read fails with {@code EIO}. */
    public void failReads(boolean on) {
        failReads = on;
    }

    /** What {@link #isConnected()} answers (true by default). */
    public void connected(boolean up) {
        connected = up;
    }

    /** What {@link #statistics()} answers (empty by default). */
    public void statistics(Statistics s) {
        statistics = s;
    }

    /** {@link #directory} waits (at most 30 s) until {@code gate} is open. */
    public void holdDirectory(CountDownLatch gate) {
        directoryGate = gate;
    }

    // ---- the XenStore service

    @Override
    public synchronized String read(String path) throws XenStoreException {
        if (failReads) {
            throw new XenStoreException(XenStoreError.EIO, path);
        }
        if (!exists(path)) {
            throw new XenStoreException(XenStoreError.ENOENT, path);
        }
        return nodes.getOrDefault(path, "");
    }

    @Override
    public void write(String path, String value) {
        writes.add(path + "=" + value);
        synchronized (this) {
            nodes.put(path, value);
        }
        changed(path);
    }

    @Override
    public synchronized void mkdir(String path) {
        nodes.putIfAbsent(path, "");
    }

    @Override
    public void rm(String path) {
        synchronized (this) {
            removeTree(path);
        }
        changed(path);
    }

    @Override
    public List<String> directory(String path) throws XenStoreException {
        try {
            directoryGate.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (this) {
            if (failReads) {
                throw new XenStoreException(XenStoreError.EIO, path);
            }
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

    /** A transaction: reads see the store; writes, mkdirs and rms are applied in order at commit. */
    @Override
    public Transaction transaction() {
        return new FakeTransaction(this);
    }

    @Override
    public Watch watch(String path, WatchListener listener) {
        synchronized (this) {
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
                synchronized (FakeXenStore.this) {
                    watches.getOrDefault(path, List.of()).remove(listener);
                }
            }
        };
    }

    @Override
    public String domainPath(int domid) {
        return "/local/domain/" + domid;
    }

    @Override
    public boolean isConnected() {
        return connected;
    }

    @Override
    public Optional<Statistics> statistics() {
        return Optional.ofNullable(statistics);
    }

    private void changed(String path) {
        if (fireWatches) {
            fire(path);
        }
    }

    private boolean exists(String path) {
        if (nodes.containsKey(path)) {
            return true;
        }
        String prefix = path + "/";
        return nodes.keySet().stream().anyMatch(k -> k.startsWith(prefix));
    }

    private void removeTree(String path) {
        nodes.keySet().removeIf(k -> k.equals(path) || k.startsWith(path + "/"));
    }
}
