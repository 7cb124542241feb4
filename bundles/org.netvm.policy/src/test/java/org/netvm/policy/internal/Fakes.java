package org.netvm.policy.internal;

import java.lang.reflect.Proxy;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

import org.netvm.dataplane.Contribution;
import org.netvm.dataplane.Dataplane;
import org.netvm.dataplane.Plan;
import org.netvm.kernel.Address;
import org.netvm.kernel.Batch;
import org.netvm.kernel.Kernel;
import org.netvm.kernel.KernelException;
import org.netvm.kernel.Link;
import org.netvm.kernel.LinkListener;
import org.netvm.kernel.Neighbour;
import org.netvm.kernel.Op;
import org.netvm.kernel.Route;
import org.netvm.kernel.Subscription;
import org.netvm.kernel.Sysctl;
import org.netvm.util.Tasks;
import org.osgi.service.log.Logger;

/** Fakes of the policy component's seams. */
final class Fakes {
    private Fakes() {
    }

    /** Everything that happened, in order, across dataplane and kernel: "put policy", "sysctl net.ipv4.ip_forward=1". */
    static final class Journal {
        final List<String> events = new ArrayList<>();
    }

    static final class FakeDataplane implements Dataplane {
        final Journal journal;
        final List<Contribution> puts = new ArrayList<>();
        final List<CompletableFuture<Void>> stages = new ArrayList<>();

        FakeDataplane(Journal journal) {
            this.journal = journal;
        }

        @Override
        public CompletionStage<Void> put(Contribution c) {
            journal.events.add("put " + c.owner());
            puts.add(c);
            CompletableFuture<Void> f = new CompletableFuture<>();
            stages.add(f);
            return f;
        }

        @Override
        public CompletionStage<Void> remove(String owner) {
            journal.events.add("remove " + owner);
            return CompletableFuture.completedFuture(null);
        }

        @Override
        public Plan plan() {
            return Plan.EMPTY;
        }

        @Override
        public Status status() {
            throw new UnsupportedOperationException();
        }
    }

    static final class FakeKernel implements Kernel {
        final Journal journal;
        final Map<Sysctl, Integer> sysctls = new HashMap<>();
        boolean fail;

        FakeKernel(Journal journal) {
            this.journal = journal;
        }

        @Override
        public void apply(Batch batch) throws KernelException {
            if (fail) {
                journal.events.add("kernel failed");
                throw new KernelException("EPERM", 1, "EPERM", batch.ops().getFirst());
            }
            for (Op op : batch.ops()) {
                if (op instanceof Op.SysctlSet s) {
                    journal.events.add("sysctl " + s.key() + "=" + s.value());
                    sysctls.put(s.key(), s.value());
                } else {
                    throw new AssertionError("unexpected " + op.render());
                }
            }
        }

        @Override
        public int sysctl(Sysctl key) {
            return sysctls.getOrDefault(key, 0);
        }

        @Override
        public String namespace() {
            return "";
        }

        @Override
        public OptionalInt linkIndex(String device) {
            throw new UnsupportedOperationException();
        }

        @Override
        public Optional<Link> link(String device) {
            throw new UnsupportedOperationException();
        }

        @Override
        public List<Link> links() {
            throw new UnsupportedOperationException();
        }

        @Override
        public List<Address> addresses() {
            throw new UnsupportedOperationException();
        }

        @Override
        public List<Route> routes() {
            throw new UnsupportedOperationException();
        }

        @Override
        public List<Route> routes(int protocol) {
            throw new UnsupportedOperationException();
        }

        @Override
        public List<Neighbour> neighbours() {
            throw new UnsupportedOperationException();
        }

        @Override
        public Subscription subscribeLinks(LinkListener listener) {
            throw new UnsupportedOperationException();
        }
    }

    /** Tasks run only when the test says so. */
    static final class ManualTasks implements Tasks {
        final Queue<Runnable> now = new ArrayDeque<>();
        final List<Long> delays = new ArrayList<>();
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
                delays.add(delayMillis);
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

    /** A logger that keeps "LEVEL message" lines ({} left as they are). */
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

    /** The forwarding marker in memory; set/clear are journaled. */
    static final class FakeMarker implements ForwardingMarker {
        private final Journal journal;
        boolean present;

        FakeMarker(Journal journal) {
            this.journal = journal;
        }

        @Override
        public boolean present() {
            return present;
        }

        @Override
        public void set() {
            present = true;
            journal.events.add("marker set");
        }

        @Override
        public void clear() {
            present = false;
            journal.events.add("marker cleared");
        }
    }
}
