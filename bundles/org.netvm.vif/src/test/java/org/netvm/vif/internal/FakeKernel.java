package org.netvm.vif.internal;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;

import org.netvm.kernel.Address;
import org.netvm.kernel.Batch;
import org.netvm.kernel.BatchException;
import org.netvm.kernel.Kernel;
import org.netvm.kernel.KernelException;
import org.netvm.kernel.Link;
import org.netvm.kernel.LinkEvent;
import org.netvm.kernel.LinkListener;
import org.netvm.kernel.MacAddress;
import org.netvm.kernel.Neighbour;
import org.netvm.kernel.Op;
import org.netvm.kernel.OperState;
import org.netvm.kernel.Route;
import org.netvm.kernel.Subscription;
import org.netvm.kernel.Sysctl;

/**
 * An in-memory network stack: links, routes, neighbours, addresses and sysctls, changed by the
 * operations of applied batches (with ENODEV/ESRCH failures as the kernel reports them). Every
 * applied batch is appended to the shared trace as its {@link Batch#render()} text.
 */
final class FakeKernel implements Kernel {
    final List<String> trace;
    final List<Batch> applied = new CopyOnWriteArrayList<>();
    final Map<String, Link> links = new HashMap<>();
    final List<Route> routes = new ArrayList<>();
    final List<Neighbour> neighbours = new ArrayList<>();
    final List<Address> addresses = new ArrayList<>();
    final Map<String, Integer> sysctls = new HashMap<>();
    final List<LinkListener> listeners = new CopyOnWriteArrayList<>();
    volatile Predicate<Op> failing = op -> false;
    final FakeConntrackTable conntrack = new FakeConntrackTable();
    /** Runs at every sysctl read (a test's hook into the middle of a pass). */
    volatile Runnable onSysctl;
    /** A seam without conntrack access (the API's default). */
    volatile boolean noConntrack;
    private int nextIndex = 10;

    FakeKernel(List<String> trace) {
        this.trace = trace;
    }

    synchronized Link addLink(String name) {
        Link l = new Link(nextIndex++, name, false, false, OperState.DOWN, MacAddress.parse("fe:ff:ff:ff:ff:ff"), 0, 1500);
        links.put(name, l);
        listeners.forEach(x -> x.linkChanged(new LinkEvent(LinkEvent.Kind.NEW, l)));
        return l;
    }

    synchronized void removeLink(String name) {
        Link l = links.remove(name);
        routes.removeIf(r -> name.equals(r.device()));
        neighbours.removeIf(n -> name.equals(n.device()));
        addresses.removeIf(a -> name.equals(a.device()));
        sysctls.keySet().removeIf(k -> k.contains("/" + name + "/"));
        if (l != null) {
            listeners.forEach(x -> x.linkChanged(new LinkEvent(LinkEvent.Kind.DELETED, l)));
        }
    }

    @Override
    public String namespace() {
        return "";
    }

    @Override
    public FakeConntrackTable conntrack() {
        if (noConntrack) {
            throw new UnsupportedOperationException("no connection tracking access through this kernel seam");
        }
        return conntrack;
    }

    @Override
    public synchronized OptionalInt linkIndex(String device) {
        Link l = links.get(device);
        return l == null ? OptionalInt.empty() : OptionalInt.of(l.index());
    }

    /** How many single-link reads ({@link #link}) were made. */
    final java.util.concurrent.atomic.AtomicInteger linkReads = new java.util.concurrent.atomic.AtomicInteger();

    @Override
    public synchronized Optional<Link> link(String device) {
        linkReads.incrementAndGet();
        return Optional.ofNullable(links.get(device));
    }

    @Override
    public synchronized List<Link> links() {
        return List.copyOf(links.values());
    }

    @Override
    public synchronized List<Address> addresses() {
        return List.copyOf(addresses);
    }

    @Override
    public synchronized List<Route> routes() {
        return List.copyOf(routes);
    }

    @Override
    public synchronized List<Route> routes(int protocol) {
        return routes.stream().filter(r -> r.protocol() == protocol).toList();
    }

    @Override
    public synchronized List<Neighbour> neighbours() {
        return List.copyOf(neighbours);
    }

    @Override
    public synchronized int sysctl(Sysctl key) throws KernelException {
        Runnable r = onSysctl;
        if (r != null) {
            r.run();
        }
        String dev = device(key);
        if (dev != null && !links.containsKey(dev)) {
            throw new KernelException("no such sysctl " + key, 2, "ENOENT", null);
        }
        return sysctls.getOrDefault(key.path(), 0);
    }

    private static String device(Sysctl key) {
        String[] c = key.path().split("/");
        return c.length == 5 && c[2].equals("conf") ? c[3] : null;
    }

    @Override
    public synchronized void apply(Batch batch) throws KernelException {
        applied.add(batch);
        trace.add("kernel batch:\n" + batch.render().stripTrailing());
        List<BatchException.Failure> failures = new ArrayList<>();
        List<Op> ops = batch.ops();
        for (int i = 0; i < ops.size(); i++) {
            Op op = ops.get(i);
            String err = failing.test(op) ? "EPERM" : apply(op);
            if (err != null) {
                failures.add(new BatchException.Failure(i, op, err.equals("EPERM") ? 1 : 19, err, "fake " + err));
            }
        }
        if (!failures.isEmpty()) {
            throw new BatchException(failures, ops.size());
        }
    }

    private String apply(Op op) {
        String dev = op instanceof Op.SysctlSet s ? device(s.key()) : op.device();
        boolean delete = op instanceof Op.RouteDelete || op instanceof Op.NeighbourDelete || op instanceof Op.AddressDelete;
        if (dev != null && !links.containsKey(dev)) {
            return delete ? "ENODEV" : (op instanceof Op.SysctlSet ? "ENOENT" : "ENODEV");
        }
        switch (op) {
            case Op.LinkSet s -> {
                Link l = links.get(s.device());
                boolean up = s.admin() == Op.Admin.UNCHANGED ? l.up() : s.admin() == Op.Admin.UP;
                links.put(l.name(), new Link(l.index(), l.name(), up, l.lowerUp(), l.operState(), l.mac(),
                        s.group() >= 0 ? s.group() : l.group(), l.mtu()));
            }
            case Op.AddressReplace a -> {
                addresses.removeIf(x -> x.device().equals(a.address().device()) && x.prefix().equals(a.address().prefix()));
                addresses.add(a.address());
            }
            case Op.AddressDelete a -> {
                if (!addresses.removeIf(x -> x.device().equals(a.address().device())
                        && x.prefix().equals(a.address().prefix()))) {
                    return "EADDRNOTAVAIL";
                }
            }
            case Op.RouteReplace r -> {
                routes.removeIf(x -> x.destination().equals(r.route().destination()) && x.metric() == r.route().metric()
                        && x.table() == r.route().table());
                routes.add(r.route());
            }
            case Op.RouteDelete r -> {
                if (!routes.removeIf(x -> x.destination().equals(r.route().destination())
                        && x.device().equals(r.route().device()) && x.metric() == r.route().metric())) {
                    return "ESRCH";
                }
            }
            case Op.NeighbourReplace n -> {
                neighbours.removeIf(x -> x.address().equals(n.neighbour().address()) && x.device().equals(n.device()));
                neighbours.add(n.neighbour());
            }
            case Op.NeighbourDelete n -> {
                if (!neighbours.removeIf(x -> x.address().equals(n.neighbour().address()) && x.device().equals(n.device()))) {
                    return "ENOENT";
                }
            }
            case Op.SysctlSet s -> sysctls.put(s.key().path(), s.value());
        }
        return null;
    }

    @Override
    public Subscription subscribeLinks(LinkListener listener) {
        listeners.add(listener);
        return () -> listeners.remove(listener);
    }

    /** Test helper: a route of this fake's table as netvm programs it. */
    static Route hostRoute(String address, String dev, int metric) {
        return Route.host(addr(address), dev).withMetric(metric);
    }

    static InetAddress addr(String text) {
        return org.netvm.kernel.IpPrefix.parseAddress(text);
    }
}
