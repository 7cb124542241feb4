package org.netvm.kernel.internal;

import static org.netvm.kernel.internal.Nl.*;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.IntFunction;
import java.util.regex.Pattern;

import org.netvm.kernel.Address;
import org.netvm.kernel.Batch;
import org.netvm.kernel.CloseableKernel;
import org.netvm.kernel.ConntrackTable;
import org.netvm.kernel.KernelException;
import org.netvm.kernel.Link;
import org.netvm.kernel.LinkListener;
import org.netvm.kernel.Neighbour;
import org.netvm.kernel.Op;
import org.netvm.kernel.Route;
import org.netvm.kernel.Subscription;
import org.netvm.kernel.Sysctl;
import org.netvm.util.SocketCalls;

/**
 * The kernel seam over rtnetlink: the {@link org.netvm.kernel.Kernel} reads (links, addresses, routes,
 * neighbours, sysctls), batches, link subscriptions and the conntrack table ({@link NetlinkConntrack}). Where its calls run: {@link NamespaceThread};
 * requests and answers on the socket: {@link NetlinkExchange}; a batch: {@link BatchApplier}.
 */
public final class NetlinkKernel implements CloseableKernel {
    private static final Pattern NETNS = Pattern.compile("[A-Za-z0-9_.-]{1,64}");
    private static final Pattern DEVICE = Pattern.compile("[A-Za-z0-9_.-]{1,15}");
    private static final Path NETNS_DIR = Path.of("/var/run/netns");
    static final Path PROC_SYS = Path.of("/proc/sys");

    private final String netns;
    private final NamespaceThread thread;
    /** if_indextoname's answer (IF_NAMESIZE bytes), used inside {@link #call} only. */
    private final MemorySegment nameBuffer = Arena.ofAuto().allocate(SocketCalls.IF_NAMESIZE);
    private final Set<LinkEventReader> subscriptions = ConcurrentHashMap.newKeySet();
    private final NetlinkConntrack conntrack;
    private NetlinkExchange exchange; // set on the namespace thread before any other call
    private NetlinkSocket socket;
    private volatile boolean closed;

    private NetlinkKernel(String netns, NamespaceThread thread) {
        this.netns = netns;
        this.thread = thread;
        this.conntrack = new NetlinkConntrack(thread);
    }

    /** A kernel bound to {@code /var/run/netns/<netns>}, or the own namespace for "". */
    public static NetlinkKernel open(String netns) throws KernelException {
        if (netns == null || netns.isEmpty()) {
            NetlinkKernel k = new NetlinkKernel("", NamespaceThread.own());
            k.bindSocket();
            return k;
        }
        if (!NETNS.matcher(netns).matches() || netns.equals(".") || netns.equals("..")) {
            throw new IllegalArgumentException("invalid network namespace name: " + netns);
        }
        NetlinkKernel k = new NetlinkKernel(netns, NamespaceThread.entering(netns, NETNS_DIR.resolve(netns)));
        try {
            k.call(() -> {
                k.bindSocket();
                return null;
            });
        } catch (KernelException | RuntimeException e) {
            k.close();
            throw e;
        }
        return k;
    }

    private void bindSocket() throws KernelException {
        socket = NetlinkSocket.open(0, NetlinkExchange.ACK_TIMEOUT_MILLIS, 4 * 1024 * 1024);
        exchange = new NetlinkExchange(socket);
    }

    /** Runs on the namespace thread (or under the lock for the own namespace). */
    private <T> T call(NamespaceThread.IoCall<T> c) throws KernelException {
        if (closed) {
            throw new KernelException("kernel seam closed" + (netns.isEmpty() ? "" : " (netns " + netns + ")"), 0, "", null);
        }
        return thread.call(c);
    }

    private int nextSeq() {
        return exchange.nextSeq();
    }

    private void receiveUntil(int s, NetlinkExchange.Handler h) throws KernelException {
        exchange.receiveUntil(s, h);
    }

    private void dump(int type, int bodyLen, int family, NetlinkExchange.DumpHandler h, Runnable reset)
            throws KernelException {
        exchange.dump(type, bodyLen, family, h, reset);
    }

    private void dump(int type, int bodyLen, int family, int ifindex, int protocol, NetlinkExchange.DumpHandler h,
            Runnable reset) throws KernelException {
        exchange.dump(type, bodyLen, family, ifindex, protocol, h, reset);
    }

    @Override
    public String namespace() {
        return netns;
    }

    @Override
    public OptionalInt linkIndex(String device) throws KernelException {
        checkDevice(device);
        return call(() -> {
            int i = ifindex(device);
            return i > 0 ? OptionalInt.of(i) : OptionalInt.empty();
        });
    }

    private static void checkDevice(String device) {
        if (device == null || !DEVICE.matcher(device).matches() || device.equals(".") || device.equals("..")) {
            throw new IllegalArgumentException("invalid device name: " + device);
        }
    }

    /** if_nametoindex in the calling thread's namespace (the kernel's): 0 if there is no such device. */
    static int ifindex(String device) {
        try (Arena a = Arena.ofConfined()) {
            return SocketCalls.ifNameToIndex(a.allocateFrom(device));
        }
    }

    @Override
    public Optional<Link> link(String device) throws KernelException {
        checkDevice(device);
        return call(() -> {
            int s = nextSeq();
            Messages.getLink(socket.writer, device, s);
            socket.send();
            Link[] found = {null};
            int[] error = {0};
            receiveUntil(s, (type, off, len) -> {
                if (type == RTM_NEWLINK) {
                    found[0] = Messages.link(socket.rbuf, off, len);
                    return true;
                }
                if (type == NLMSG_ERROR) {
                    error[0] = -i32(socket.rbuf, off + HDRLEN);
                    return true;
                }
                return false;
            });
            if (found[0] != null) {
                return Optional.of(found[0]);
            }
            if (error[0] == Errno.ENODEV) {
                return Optional.empty();
            }
            throw Libc.failure("RTM_GETLINK " + device, error[0]);
        });
    }

    @Override
    public List<Link> links() throws KernelException {
        return call(this::dumpLinks);
    }

    private List<Link> dumpLinks() throws KernelException {
        List<Link> links = new ArrayList<>();
        dump(RTM_GETLINK, 16, AF_UNSPEC, (type, off, len) -> {
            if (type == RTM_NEWLINK) {
                links.add(Messages.link(socket.rbuf, off, len));
            }
        }, links::clear);
        return links;
    }

    /**
     * Device names by index for one whole-namespace read, looked up as the objects name them (if_indextoname,
     * one call per device met, remembered for the read): not a dump of every link per read, which with
     * 10 000 vifs cost ~0.2 s each (three per read of the vifs' objects), with no object on most of them at a
     * start. Inside {@link #call} only (if_indextoname answers for the calling thread's namespace; the calls
     * share {@link #nameBuffer}). An index without a device (gone meanwhile) names nothing: its objects are
     * left out, as before.
     */
    private IntFunction<String> names() {
        MemorySegment buf = nameBuffer;
        Map<Integer, String> known = new HashMap<>();
        return index -> {
            if (index <= 0) {
                return null;
            }
            String name = known.get(index);
            if (name == null && !known.containsKey(index)) {
                name = SocketCalls.ifIndexToName(index, buf) ? buf.getString(0) : null;
                known.put(index, name);
            }
            return name;
        };
    }

    @Override
    public List<Address> addresses() throws KernelException {
        return call(() -> {
            IntFunction<String> names = names();
            List<Address> out = new ArrayList<>();
            dump(RTM_GETADDR, 8, AF_UNSPEC, (type, off, len) -> {
                if (type == RTM_NEWADDR) {
                    addIfValid(out, () -> Messages.address(socket.rbuf, off, len, names));
                }
            }, out::clear);
            return out;
        });
    }

    @Override
    public List<Route> routes() throws KernelException {
        return routes(-1);
    }

    @Override
    public List<Route> routes(int protocol) throws KernelException {
        return call(() -> {
            IntFunction<String> names = names();
            List<Route> out = new ArrayList<>();
            dump(RTM_GETROUTE, 12, AF_UNSPEC, (type, off, len) -> {
                if (type == RTM_NEWROUTE && (protocol < 0 || u8(socket.rbuf, off + 21) == protocol)) {
                    addIfValid(out, () -> Messages.route(socket.rbuf, off, len, names));
                }
            }, out::clear);
            return out;
        });
    }

    @Override
    public List<Neighbour> neighbours() throws KernelException {
        return call(() -> {
            IntFunction<String> names = names();
            List<Neighbour> out = new ArrayList<>();
            dump(RTM_GETNEIGH, 12, AF_UNSPEC, (type, off, len) -> {
                if (type == RTM_NEWNEIGH) {
                    addIfValid(out, () -> Messages.neighbour(socket.rbuf, off, len, names));
                }
            }, out::clear);
            return out;
        });
    }

    // Per-device reads: the device's index, then a dump the kernel filters to that device (and, for
    // routes, the protocol); the device's own name for its objects.

    @Override
    public List<Address> addresses(String device) throws KernelException {
        return ofDevice(device, RTM_GETADDR, RTM_NEWADDR, 8, 0, Messages::address);
    }

    @Override
    public List<Route> routes(int protocol, String device) throws KernelException {
        List<Route> all = ofDevice(device, RTM_GETROUTE, RTM_NEWROUTE, 12, Math.max(0, protocol), Messages::route);
        return all.stream().filter(r -> device.equals(r.device()) && (protocol < 0 || r.protocol() == protocol))
                .toList();
    }

    @Override
    public List<Neighbour> neighbours(String device) throws KernelException {
        return ofDevice(device, RTM_GETNEIGH, RTM_NEWNEIGH, 12, 0, Messages::neighbour);
    }

    private interface Decoder<T> {
        /** The object, or null if it is not one of ours (another device, family or type). */
        T decode(MemorySegment s, long off, int len, IntFunction<String> names);
    }

    private <T> List<T> ofDevice(String device, int request, int answer, int bodyLen, int protocol, Decoder<T> decoder)
            throws KernelException {
        checkDevice(device);
        return call(() -> {
            int idx = ifindex(device);
            List<T> out = new ArrayList<>();
            if (idx <= 0) {
                return out;
            }
            // objects of other devices decode to null (their index is not in names): an older
            // kernel that ignores the filter gives the same result
            IntFunction<String> names = i -> i == idx ? device : null;
            dump(request, bodyLen, AF_UNSPEC, idx, protocol, (type, off, len) -> {
                if (type == answer) {
                    addIfValid(out, () -> decoder.decode(socket.rbuf, off, len, names));
                }
            }, out::clear);
            return out;
        });
    }

    /** Entries on devices whose names netvm cannot address (outside [A-Za-z0-9_.-]) are left out. */
    private static <T> void addIfValid(List<T> out, java.util.function.Supplier<T> decode) {
        try {
            T t = decode.get();
            if (t != null) {
                out.add(t);
            }
        } catch (IllegalArgumentException e) {
            // not addressable through this API
        }
    }

    @Override
    public int sysctl(Sysctl key) throws KernelException {
        return call(() -> {
            Path p = PROC_SYS.resolve(key.path());
            try {
                return readInt(p);
            } catch (IOException | NumberFormatException e) {
                throw new KernelException("read sysctl " + key.name() + ": " + e, e);
            }
        });
    }

    /**
     * One integer sysctl: a plain read of at most 32 bytes (a /proc/sys file answers in one read). Not
     * Files.readString: that path costs 2-3x as much per call, ~80 us before the JIT has compiled it,
     * and a start with 1 000s of vifs reads two per vif.
     */
    static int readInt(Path p) throws IOException {
        byte[] b = new byte[32];
        int n;
        try (java.io.FileInputStream in = new java.io.FileInputStream(p.toFile())) {
            n = in.read(b);
        }
        if (n <= 0 || n == b.length) {
            throw new NumberFormatException("not one integer in " + p);
        }
        return Integer.parseInt(new String(b, 0, n, java.nio.charset.StandardCharsets.US_ASCII).trim());
    }

    @Override
    public void apply(Batch batch) throws KernelException {
        List<Op> ops = List.copyOf(batch.ops());
        if (ops.isEmpty()) {
            return;
        }
        call(() -> {
            new BatchApplier(exchange, ops).run();
            return null;
        });
    }

    @Override
    public Subscription subscribeLinks(LinkListener listener) throws KernelException {
        java.util.Objects.requireNonNull(listener, "listener");
        NetlinkSocket s = call(() -> NetlinkSocket.open(RTMGRP_LINK, 200, 4 * 1024 * 1024));
        LinkEventReader r = new LinkEventReader(s, listener, netns, subscriptions::remove);
        subscriptions.add(r);
        r.start();
        if (closed) {
            r.close();
        }
        return r;
    }

    @Override
    public ConntrackTable conntrack() {
        return conntrack;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (LinkEventReader r : List.copyOf(subscriptions)) {
            r.close();
        }
        thread.close(this::closeSocket);
    }

    private void closeSocket() {
        conntrack.closeSocket();
        if (socket != null) {
            socket.close();
        }
    }
}
