package org.netvm.dns.internal;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.netvm.dataplane.IpAddress;
import org.netvm.dns.NameserverSource;
import org.netvm.testing.dataplane.FakeDataplane;
import org.netvm.testing.xenstore.FakeXenStore;
import org.netvm.util.Tasks;

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

    /** A dataplane that fails the test if the DNS feature ever removes its contribution. */
    static FakeDataplane dataplane() {
        FakeDataplane d = new FakeDataplane();
        d.onRemove(owner -> {
            throw new AssertionError("the DNS feature never removes");
        });
        return d;
    }

    /** An in-memory xenstore whose watch events the test delivers by hand ({@link FakeXenStore#fire}). */
    static FakeXenStore xenstore() {
        FakeXenStore xs = new FakeXenStore();
        xs.fireWatches(false);
        return xs;
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

    /** A conntrack table in memory: a delete removes the chosen entries that involve the addresses, as the kernel's does. */
    static final class FakeConntrackTable implements org.netvm.kernel.ConntrackTable {
        final List<org.netvm.kernel.ConntrackEntry> entries = new java.util.ArrayList<>();
        final List<List<InetAddress>> deletes = new java.util.ArrayList<>();
        RuntimeException failure;

        @Override
        public List<org.netvm.kernel.ConntrackEntry> entries(java.util.Collection<InetAddress> addresses) {
            return entries.stream().filter(e -> addresses.stream().anyMatch(e::involves)).toList();
        }

        @Override
        public int delete(java.util.Collection<InetAddress> addresses,
                java.util.function.Predicate<org.netvm.kernel.ConntrackEntry> which) {
            deletes.add(List.copyOf(addresses));
            if (failure != null) {
                throw failure;
            }
            List<org.netvm.kernel.ConntrackEntry> gone = entries(addresses).stream().filter(which).toList();
            entries.removeAll(gone);
            return gone.size();
        }
    }

    /** A guest's DNS flow: {@code guest:port -> virtual:53}, answered by {@code replySource}. */
    static org.netvm.kernel.ConntrackEntry dnsFlow(int protocol, String guest, int port, String virtual,
            String replySource) {
        return new org.netvm.kernel.ConntrackEntry(protocol,
                new org.netvm.kernel.ConntrackEntry.Tuple(ip(guest), ip(virtual), port, 53),
                new org.netvm.kernel.ConntrackEntry.Tuple(ip(replySource), ip(guest), 53, port));
    }
}
