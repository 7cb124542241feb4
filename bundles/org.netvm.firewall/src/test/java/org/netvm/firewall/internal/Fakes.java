package org.netvm.firewall.internal;

import java.lang.reflect.Proxy;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import org.netvm.dataplane.Contribution;
import org.netvm.dataplane.Dataplane;
import org.netvm.dataplane.Plan;
import org.netvm.util.Tasks;
import org.netvm.xenstore.Permission;
import org.netvm.xenstore.Transaction;
import org.netvm.xenstore.Watch;
import org.netvm.xenstore.WatchListener;
import org.netvm.xenstore.XenStore;
import org.netvm.xenstore.XenStoreError;
import org.netvm.xenstore.XenStoreException;
import org.osgi.service.log.Logger;
import org.osgi.util.converter.Converters;

/** Fakes of the firewall's seams. */
final class Fakes {
    private Fakes() {
    }

    static FirewallComponent.Config config(Map<String, Object> values) {
        return Converters.standardConverter().convert(values).to(FirewallComponent.Config.class);
    }

    /** Records puts and removes; every stage completes at once. */
    static final class FakeDataplane implements Dataplane {
        final Map<String, Contribution> current = new LinkedHashMap<>();
        final List<String> calls = new CopyOnWriteArrayList<>();

        @Override
        public synchronized CompletionStage<Void> put(Contribution c) {
            current.put(c.owner(), c);
            calls.add("put " + c.owner());
            return CompletableFuture.completedFuture(null);
        }

        @Override
        public synchronized CompletionStage<Void> remove(String owner) {
            current.remove(owner);
            calls.add("remove " + owner);
            return CompletableFuture.completedFuture(null);
        }

        @Override
        public synchronized Plan plan() {
            return Plan.EMPTY; // no DNAT: no DNS servers
        }

        @Override
        public Status status() {
            throw new UnsupportedOperationException();
        }
    }

    /**
     * An in-memory xenstore of relative paths that behaves like xenstored where the firewall cares: parents
     * exist (empty) once a child is written, rm removes the subtree. {@link #fire} delivers a watch event.
     */
    static final class FakeXenStore implements XenStore {
        final TreeMap<String, String> values = new TreeMap<>();
        final Map<String, WatchListener> watches = new LinkedHashMap<>();

        @Override
        public synchronized String read(String path) throws XenStoreException {
            String v = values.get(path);
            if (v == null) {
                throw new XenStoreException(XenStoreError.ENOENT, path);
            }
            return v;
        }

        /** Writes without firing a watch. */
        @Override
        public synchronized void write(String path, String value) {
            for (int i = path.indexOf('/'); i > 0; i = path.indexOf('/', i + 1)) {
                values.putIfAbsent(path.substring(0, i), "");
            }
            values.put(path, value);
        }

        @Override
        public void mkdir(String path) {
            if (!values.containsKey(path)) {
                write(path, "");
            }
        }

        @Override
        public synchronized void rm(String path) {
            values.keySet().removeIf(k -> k.equals(path) || k.startsWith(path + "/"));
        }

        @Override
        public synchronized List<String> directory(String path) throws XenStoreException {
            read(path);
            TreeSet<String> out = new TreeSet<>();
            for (String k : values.tailMap(path + "/").keySet()) {
                if (!k.startsWith(path + "/")) {
                    break;
                }
                out.add(k.substring(path.length() + 1).split("/")[0]);
            }
            return new ArrayList<>(out);
        }

        /** Delivers a watch event for {@code path} to the watches above it. */
        void fire(String path) {
            List<WatchListener> hit = new ArrayList<>();
            synchronized (this) {
                watches.forEach((p, l) -> {
                    if (path.equals(p) || path.startsWith(p + "/")) {
                        hit.add(l);
                    }
                });
            }
            hit.forEach(l -> l.changed(path));
        }

        /** Writes and fires, as the toolstack's write would. */
        void put(String path, String value) {
            write(path, value);
            fire(path);
        }

        @Override
        public synchronized Watch watch(String path, WatchListener listener) {
            watches.put(path, listener);
            listener.changed(path); // xenstored fires every new watch once
            return new Watch() {
                @Override
                public String path() {
                    return path;
                }

                @Override
                public void close() {
                    watches.remove(path);
                }
            };
        }

        @Override
        public List<Permission> getPermissions(String path) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void setPermissions(String path, List<Permission> permissions) {
            throw new UnsupportedOperationException();
        }

        @Override
        public Transaction transaction() {
            throw new UnsupportedOperationException();
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

    /** Tasks run only when the test says so. */
    static final class ManualTasks implements Tasks {
        final Queue<Runnable> now = new ArrayDeque<>();
        final Queue<Runnable> later = new ArrayDeque<>();
        boolean closed;

        @Override
        public synchronized void execute(Runnable task) {
            if (!closed) {
                now.add(task);
            }
        }

        @Override
        public synchronized void schedule(Runnable task, long delayMillis) {
            if (!closed) {
                later.add(task);
            }
        }

        void runNow() {
            for (Runnable r; (r = poll()) != null;) {
                r.run();
            }
        }

        private synchronized Runnable poll() {
            return now.poll();
        }

        void runLater() {
            List<Runnable> due;
            synchronized (this) {
                due = new ArrayList<>(later);
                later.clear();
            }
            due.forEach(Runnable::run);
            runNow();
        }

        @Override
        public void close() {
            runNow();
            closed = true;
        }
    }

    /** A logger that keeps "LEVEL message" lines. */
    static Logger logger(List<String> lines) {
        return (Logger) Proxy.newProxyInstance(Fakes.class.getClassLoader(), new Class<?>[] {Logger.class},
                (proxy, method, args) -> switch (method.getName()) {
                    case "getName" -> "test";
                    case "isTraceEnabled", "isDebugEnabled", "isInfoEnabled", "isWarnEnabled", "isErrorEnabled" -> true;
                    case "toString" -> "test logger";
                    case "hashCode" -> 0;
                    case "equals" -> proxy == args[0];
                    default -> {
                        if (args != null && args.length > 0 && args[0] instanceof String s) {
                            lines.add(method.getName().toUpperCase(java.util.Locale.ROOT) + " " + s);
                        }
                        yield null;
                    }
                });
    }
}
