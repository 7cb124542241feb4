package org.netvm.xenstore.client.internal;

import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

import org.netvm.xenstore.Watch;
import org.netvm.xenstore.WatchListener;
import org.netvm.xenstore.XenStoreError;
import org.netvm.xenstore.XenStoreException;
import org.netvm.xenstore.wire.Message;
import org.netvm.xenstore.wire.MessageType;

/**
 * The client's watches, by token. One event thread calls {@link WatchListener}s in arrival order;
 * after every (re)connection it re-registers all watches with the daemon and then calls
 * {@link WatchListener#resync()} on each of their listeners. A watch added while disconnected is
 * registered as soon as the connection is back.
 */
final class WatchRegistry implements DaemonLink.Listener {

    private static final System.Logger LOG = System.getLogger(WatchRegistry.class.getName());
    private static final int NO_TX = 0;

    private final DaemonLink link;
    /** Registering/unregistering with the daemon happens under {@link #lock}. */
    private final Map<String, Registration> watches = new ConcurrentHashMap<>();
    private final ReentrantLock lock = new ReentrantLock();
    private final AtomicLong nextToken = new AtomicLong();
    private final String tokenPrefix;
    private final ExecutorService events;
    /** The client's home for relative watches ({@code /local/domain/N}), or null. */
    private final String home;

    WatchRegistry(DaemonLink link, String address, String home) {
        this.link = link;
        this.home = home;
        this.tokenPrefix = "netvm-" + Long.toHexString(System.nanoTime() & 0xFFFFFF) + "-";
        this.events = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "xenstore-events " + address);
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Adds a watch on {@code given} (as the caller wrote it), registered as {@code path} (made absolute
     * under the client's home if it was relative; events then come back relative). {@code path} is
     * checked by the caller. Registered with the daemon now if connected.
     */
    Watch watch(String given, String path, WatchListener listener) throws XenStoreException {
        Objects.requireNonNull(listener, "listener");
        String strip = given.equals(path) ? null : home + "/";
        Registration reg = new Registration(given, path, strip, tokenPrefix + nextToken.incrementAndGet(), listener);
        byte[] payload = Message.strings(path, reg.token);
        if (payload.length > Message.MAX_PAYLOAD) {
            throw new XenStoreException(XenStoreError.E2BIG, path);
        }
        lock.lock();
        try {
            watches.put(reg.token, reg);
            long gen = link.generationOrNone();
            if (gen >= 0) {
                try {
                    link.call(MessageType.WATCH, NO_TX, payload, path, gen);
                    reg.registeredGeneration = gen;
                } catch (XenStoreException e) {
                    if (e.error() != XenStoreError.DISCONNECTED) {
                        watches.remove(reg.token);
                        throw e;
                    }
                    // registered when the connection is back
                }
            }
        } finally {
            lock.unlock();
        }
        return reg;
    }

    int size() {
        return watches.size();
    }

    /** Stops the event thread (the client closes). */
    void shutdown() {
        events.shutdown();
    }

    @Override
    public void connected(long generation) {
        post(() -> restore(generation));
    }

    @Override
    public void event(String path, String token) {
        post(() -> dispatch(path, token));
    }

    private void post(Runnable task) {
        try {
            events.execute(task);
        } catch (RejectedExecutionException e) {
            // closed
        }
    }

    /** On the event thread. */
    private void dispatch(String path, String token) {
        Registration reg = watches.get(token);
        if (reg == null || reg.closed) {
            return;
        }
        try {
            reg.listener.changed(reg.shown(path));
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "watch listener for " + reg.path + " failed", e);
        }
    }

    /** On the event thread, after connection {@code gen} was established. */
    private void restore(long gen) {
        List<Registration> resync = new ArrayList<>();
        lock.lock();
        try {
            for (Registration reg : watches.values()) {
                // a watch registered by watch() on this connection already had its initial event
                if (reg.registeredGeneration != gen) {
                    if (!reregister(reg, gen)) {
                        return; // lost again; the next connection restores
                    }
                    if (reg.registeredGeneration == gen) {
                        resync.add(reg);
                    }
                }
            }
        } finally {
            lock.unlock();
        }
        for (Registration reg : resync) {
            if (reg.closed) {
                continue;
            }
            try {
                reg.listener.resync();
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "resync of watch listener for " + reg.path + " failed", e);
            }
        }
    }

    /** WATCH again on connection {@code gen}; false when that connection is lost too. An EEXIST counts as registered. */
    private boolean reregister(Registration reg, long gen) {
        try {
            link.call(MessageType.WATCH, NO_TX, Message.strings(reg.path, reg.token), reg.path, gen);
            reg.registeredGeneration = gen;
        } catch (XenStoreException e) {
            if (e.error() == XenStoreError.DISCONNECTED) {
                return false;
            }
            LOG.log(Level.WARNING, "re-registering watch on {0} failed: {1}", reg.path, e.getMessage());
            if (e.error() == XenStoreError.EEXIST) {
                reg.registeredGeneration = gen;
            }
        }
        return true;
    }

    private final class Registration implements Watch {
        final String given;
        /** What the daemon knows: {@code given}, made absolute if the client resolved it. */
        final String path;
        /** The prefix taken off event paths (the home and a slash) for a watch the client resolved, else null. */
        final String strip;
        final String token;
        final WatchListener listener;
        volatile long registeredGeneration = -1;
        volatile boolean closed;

        Registration(String given, String path, String strip, String token, WatchListener listener) {
            this.given = given;
            this.path = path;
            this.strip = strip;
            this.token = token;
            this.listener = listener;
        }

        /** An event's path in the form the watch was registered with: relative in, relative out. */
        String shown(String eventPath) {
            if (strip != null && eventPath.startsWith(strip)) {
                return eventPath.substring(strip.length());
            }
            return eventPath;
        }

        @Override
        public String path() {
            return given;
        }

        @Override
        public void close() {
            lock.lock();
            try {
                if (watches.remove(token) == null) {
                    return;
                }
                closed = true;
                long gen = registeredGeneration;
                if (gen >= 0) {
                    try {
                        link.call(MessageType.UNWATCH, NO_TX, Message.strings(path, token), path, gen);
                    } catch (XenStoreException e) {
                        // the daemon forgets the watch with the connection anyway
                        LOG.log(Level.DEBUG, "unwatch {0}: {1}", path, e.getMessage());
                    }
                }
            } finally {
                lock.unlock();
            }
        }

        @Override
        public String toString() {
            return "Watch[" + path + ", " + token + "]";
        }
    }
}
