package org.netvm.dns.internal;

import java.lang.annotation.Annotation;
import java.lang.reflect.Proxy;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

import org.netvm.dataplane.Contribution;
import org.netvm.dataplane.Dataplane;
import org.netvm.dataplane.IpAddress;
import org.netvm.dataplane.Plan;
import org.netvm.dns.NameserverSource;
import org.netvm.util.Tasks;
import org.netvm.xenstore.Permission;
import org.netvm.xenstore.Transaction;
import org.netvm.xenstore.Watch;
import org.netvm.xenstore.WatchListener;
import org.netvm.xenstore.XenStore;
import org.netvm.xenstore.XenStoreError;
import org.netvm.xenstore.XenStoreException;
import org.osgi.service.log.Logger;

/** Fakes of the DNS feature's seams. */
final class Fakes {
    private Fakes() {
    }

    static InetAddress ip(String literal) {
        try {
            return InetAddress.getByAddress(IpAddress.of(literal).bytes());
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    static List<InetAddress> ips(String... literals) {
        return java.util.Arrays.stream(literals).map(Fakes::ip).toList();
    }

    static DnsComponent.Config config() {
        return new DnsComponent.Config() {
            @Override
            public Class<? extends Annotation> annotationType() {
                return DnsComponent.Config.class;
            }

            @Override
            public String defaultPrimary() {
                return "10.139.1.1";
            }

            @Override
            public String defaultSecondary() {
                return "10.139.1.2";
            }

            @Override
            public long retryMillis() {
                return 2000;
            }
        };
    }

    static final class FakeDataplane implements Dataplane {
        final List<Contribution> puts = new CopyOnWriteArrayList<>();
        volatile Consumer<Contribution> onPut = c -> { };

        @Override
        public CompletionStage<Void> put(Contribution c) {
            puts.add(c);
            onPut.accept(c);
            return CompletableFuture.completedFuture(null);
        }

        @Override
        public CompletionStage<Void> remove(String owner) {
            throw new AssertionError("the DNS feature never removes");
        }

        @Override
        public Plan plan() {
            return Plan.EMPTY;
        }

        @Override
        public Status status() {
            throw new UnsupportedOperationException();
        }

        Contribution last() {
            return puts.getLast();
        }
    }

    /** An in-memory xenstore of relative paths; {@link #fire} delivers watch events by hand. */
    static final class FakeXenStore implements XenStore {
        final Map<String, String> values = new ConcurrentHashMap<>();
        final Map<String, WatchListener> watches = new ConcurrentHashMap<>();
        boolean failReads;

        @Override
        public String read(String path) throws XenStoreException {
            if (failReads) {
                throw new XenStoreException(XenStoreError.EIO, path);
            }
            String v = values.get(path);
            if (v == null) {
                throw new XenStoreException(XenStoreError.ENOENT, path);
            }
            return v;
        }

        void fire(String path) {
            watches.forEach((p, l) -> {
                if (path.equals(p) || path.startsWith(p + "/")) {
                    l.changed(path);
                }
            });
        }

        @Override
        public Watch watch(String path, WatchListener listener) {
            watches.put(path, listener);
            listener.changed(path);
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
        public void write(String path, String value) {
            values.put(path, value);
        }

        @Override
        public void mkdir(String path) {
            values.putIfAbsent(path, "");
        }

        @Override
        public void rm(String path) {
            values.remove(path);
        }

        @Override
        public List<String> directory(String path) {
            throw new UnsupportedOperationException();
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

    /** A source whose list the test sets; {@link #set} signals the change. */
    static class FakeSource implements NameserverSource {
        final Set<Listener> listeners = ConcurrentHashMap.newKeySet();
        volatile List<InetAddress> servers;

        FakeSource(String... servers) {
            this.servers = ips(servers);
        }

        void set(String... servers) {
            this.servers = ips(servers);
            listeners.forEach(Listener::changed);
        }

        @Override
        public List<InetAddress> nameservers() {
            return servers;
        }

        @Override
        public Subscription subscribe(Listener listener) {
            listeners.add(listener);
            return () -> listeners.remove(listener);
        }
    }

    /** Tasks run only when the test says so. */
    static final class ManualTasks implements Tasks {
        final Queue<Runnable> now = new ArrayDeque<>();
        final Queue<Runnable> later = new ArrayDeque<>();
        boolean closed;

        @Override
        public void execute(Runnable task) {
            if (!closed) {
                now.add(task);
            }
        }

        @Override
        public void schedule(Runnable task, long delayMillis) {
            if (!closed) {
                later.add(task);
            }
        }

        void runNow() {
            for (Runnable r; (r = now.poll()) != null;) {
                r.run();
            }
        }

        void runLater() {
            List<Runnable> due = new ArrayList<>(later);
            later.clear();
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
