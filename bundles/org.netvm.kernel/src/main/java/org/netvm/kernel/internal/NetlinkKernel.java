package org.netvm.kernel.internal;

import static org.netvm.kernel.internal.Nl.*;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Pattern;

import org.netvm.kernel.Address;
import org.netvm.kernel.Batch;
import org.netvm.kernel.BatchException;
import org.netvm.kernel.CloseableKernel;
import org.netvm.kernel.KernelException;
import org.netvm.kernel.Link;
import org.netvm.kernel.LinkListener;
import org.netvm.kernel.Neighbour;
import org.netvm.kernel.Op;
import org.netvm.kernel.Route;
import org.netvm.kernel.Subscription;
import org.netvm.kernel.Sysctl;

/**
 * The kernel seam over rtnetlink.
 *
 * <p>Namespaces: a netlink socket belongs to the network namespace its creator was in, and
 * {@code /proc/sys/net} shows the namespace of the thread that opens a file there (checked on
 * kernel 6.18: a thread that did {@code setns(CLONE_NEWNET)} reads and writes the other
 * namespace's sysctls, the JVM's other threads keep seeing their own). So a kernel bound to a
 * named namespace owns one platform thread that enters it once and never leaves; every socket
 * creation, netlink exchange, {@code if_nametoindex} and {@code /proc/sys} access runs there. A
 * kernel of the process's own namespace runs calls on the caller's thread under a lock.
 */
public final class NetlinkKernel implements CloseableKernel {
    private static final Pattern NETNS = Pattern.compile("[A-Za-z0-9_.-]{1,64}");
    private static final Pattern DEVICE = Pattern.compile("[A-Za-z0-9_.-]{1,15}");
    private static final Path NETNS_DIR = Path.of("/var/run/netns");
    private static final Path PROC_SYS = Path.of("/proc/sys");
    /** Messages per sendmsg; their acks (one skb each) must fit the receive buffer. */
    static final int CHUNK = 256;
    static final int ACK_TIMEOUT_MILLIS = 10_000;
    /** Ask for an ack on every message (one receive each) instead of on the last one of a chunk. */
    static final boolean ACK_EACH = Boolean.getBoolean("netvm.kernel.ackEach");

    private final String netns;
    private final ExecutorService nsThread; // null: the process's own namespace
    private final ReentrantLock lock = new ReentrantLock();
    private final Set<LinkEventReader> subscriptions = ConcurrentHashMap.newKeySet();
    private NetlinkSocket socket;
    private int seq = (int) (System.nanoTime() & 0x3fffffff);
    private volatile boolean closed;

    private NetlinkKernel(String netns, ExecutorService nsThread) {
        this.netns = netns;
        this.nsThread = nsThread;
    }

    /** A kernel bound to {@code /var/run/netns/<netns>}, or the own namespace for "". */
    public static NetlinkKernel open(String netns) throws KernelException {
        if (netns == null || netns.isEmpty()) {
            NetlinkKernel k = new NetlinkKernel("", null);
            k.socket = NetlinkSocket.open(0, ACK_TIMEOUT_MILLIS, 4 * 1024 * 1024);
            return k;
        }
        if (!NETNS.matcher(netns).matches() || netns.equals(".") || netns.equals("..")) {
            throw new IllegalArgumentException("invalid network namespace name: " + netns);
        }
        ExecutorService thread = Executors.newSingleThreadExecutor(
                Thread.ofPlatform().daemon().name("netvm-kernel-netns-" + netns).factory());
        NetlinkKernel k = new NetlinkKernel(netns, thread);
        try {
            k.call(() -> {
                enterNamespace(NETNS_DIR.resolve(netns));
                k.socket = NetlinkSocket.open(0, ACK_TIMEOUT_MILLIS, 4 * 1024 * 1024);
                return null;
            });
        } catch (KernelException | RuntimeException e) {
            k.close();
            throw e;
        }
        return k;
    }

    /** setns(CLONE_NEWNET) of the calling thread, for good. */
    static void enterNamespace(Path nsFile) throws KernelException {
        try (Arena a = Arena.ofConfined()) {
            int fd = Libc.open(a.allocateFrom(nsFile.toString()), Libc.O_RDONLY | Libc.O_CLOEXEC);
            if (fd < 0) {
                throw Libc.failure("open(" + nsFile + ")", Libc.errno());
            }
            try {
                if (Libc.setns(fd, Libc.CLONE_NEWNET) != 0) {
                    throw Libc.failure("setns(" + nsFile + ", CLONE_NEWNET)", Libc.errno());
                }
            } finally {
                Libc.close(fd);
            }
        }
    }

    @FunctionalInterface
    interface IoCall<T> {
        T call() throws KernelException;
    }

    /** Runs on the namespace thread (or under the lock for the own namespace). */
    <T> T call(IoCall<T> c) throws KernelException {
        if (closed) {
            throw new KernelException("kernel seam closed" + (netns.isEmpty() ? "" : " (netns " + netns + ")"), 0, "", null);
        }
        if (nsThread == null) {
            lock.lock();
            try {
                return c.call();
            } finally {
                lock.unlock();
            }
        }
        Future<T> f;
        try {
            f = nsThread.submit(c::call);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            throw new KernelException("kernel seam closed (netns " + netns + ")", 0, "", null);
        }
        try {
            return f.get();
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof KernelException k) {
                throw k;
            }
            if (cause instanceof RuntimeException r) {
                throw r;
            }
            if (cause instanceof Error err) {
                throw err;
            }
            throw new KernelException("kernel call failed", cause);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KernelException("interrupted while waiting for the kernel", e);
        }
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
    private static int ifindex(String device) {
        try (Arena a = Arena.ofConfined()) {
            return Libc.ifNameToIndex(a.allocateFrom(device));
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

    private Map<Integer, String> names() throws KernelException {
        Map<Integer, String> names = new HashMap<>();
        for (Link l : dumpLinks()) {
            names.put(l.index(), l.name());
        }
        return names;
    }

    @Override
    public List<Address> addresses() throws KernelException {
        return call(() -> {
            Map<Integer, String> names = names();
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
            Map<Integer, String> names = names();
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
            Map<Integer, String> names = names();
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
    // routes, the protocol); no link dump for names, unlike the whole-namespace reads.

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
        T decode(MemorySegment s, long off, int len, Map<Integer, String> names);
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
            Map<Integer, String> names = Map.of(idx, device);
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
                return Integer.parseInt(Files.readString(p).trim());
            } catch (IOException | NumberFormatException e) {
                throw new KernelException("read sysctl " + key.name() + ": " + e, e);
            }
        });
    }

    @Override
    public void apply(Batch batch) throws KernelException {
        List<Op> ops = List.copyOf(batch.ops());
        if (ops.isEmpty()) {
            return;
        }
        call(() -> {
            new Applier(ops).run();
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
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (LinkEventReader r : List.copyOf(subscriptions)) {
            r.close();
        }
        if (nsThread != null) {
            nsThread.submit(this::closeSocket);
            nsThread.shutdown();
        } else {
            lock.lock();
            try {
                closeSocket();
            } finally {
                lock.unlock();
            }
        }
    }

    private void closeSocket() {
        if (socket != null) {
            socket.close();
        }
    }

    private int nextSeq() {
        seq = (seq + 1) & 0x7fffffff;
        if (seq == 0) {
            seq = 1;
        }
        return seq;
    }

    // ---- receiving

    /** Sees one message of the current datagram; returns true when the exchange is complete. */
    @FunctionalInterface
    private interface Handler {
        boolean message(int type, long off, int len) throws KernelException;
    }

    @FunctionalInterface
    private interface DumpHandler {
        void message(int type, long off, int len) throws KernelException;
    }

    /** Receives until the handler says the exchange of sequence number {@code s} is complete. */
    private void receiveUntil(int s, Handler h) throws KernelException {
        MemorySegment b = socket.rbuf;
        while (true) {
            int n = socket.recv();
            if (n < 0) {
                throw Libc.failure("no answer from the kernel within " + ACK_TIMEOUT_MILLIS + " ms", Errno.ETIMEDOUT);
            }
            boolean done = false;
            for (long off = 0; off + HDRLEN <= n; ) {
                int len = i32(b, off);
                if (len < HDRLEN || off + len > n) {
                    break;
                }
                if (i32(b, off + 8) == s && h.message(u16(b, off + 4), off, len)) {
                    done = true;
                }
                off += align(len);
            }
            if (done) {
                return;
            }
        }
    }

    /** A complete dump; restarts it (calling {@code reset}) if the kernel flags it inconsistent. */
    private void dump(int type, int bodyLen, int family, DumpHandler h, Runnable reset) throws KernelException {
        dump(type, bodyLen, family, 0, 0, h, reset);
    }

    /**
     * A dump; with {@code ifindex} > 0 (and {@code protocol} > 0 for routes) the request asks the
     * kernel to filter (strict checking, kernel 5.3+); callers filter again, so an older kernel that
     * sends everything gives the same result, only slower.
     */
    private void dump(int type, int bodyLen, int family, int ifindex, int protocol, DumpHandler h, Runnable reset)
            throws KernelException {
        for (int attempt = 0; ; attempt++) {
            int s = nextSeq();
            Messages.dumpRequest(socket.writer, type, bodyLen, family, s, ifindex, protocol);
            socket.send();
            boolean[] interrupted = {false};
            receiveUntil(s, (t, off, len) -> {
                if ((u16(socket.rbuf, off + 6) & NLM_F_DUMP_INTR) != 0) {
                    interrupted[0] = true;
                }
                if (t == NLMSG_DONE) {
                    return true;
                }
                if (t == NLMSG_ERROR) {
                    int err = -i32(socket.rbuf, off + HDRLEN);
                    throw Libc.failure("dump " + type, err);
                }
                h.message(t, off, len);
                return false;
            });
            if (!interrupted[0] || attempt >= 4) {
                return;
            }
            reset.run();
        }
    }

    /** Sends a batch in chunks over the one socket and collects the acks. Runs on the namespace thread. */
    private final class Applier {
        private final List<Op> ops;
        private final List<BatchException.Failure> failures = new ArrayList<>();
        private final Map<String, Integer> indexes = new HashMap<>();
        private final int[] chunkOps = new int[CHUNK];
        private final int[] chunkOffsets = new int[CHUNK];
        private int chunkSize;
        private int chunkFirstSeq;

        Applier(List<Op> ops) {
            this.ops = ops;
        }

        void run() throws KernelException {
            socket.writer.reset();
            for (int i = 0; i < ops.size(); i++) {
                Op op = ops.get(i);
                if (op instanceof Op.SysctlSet s) {
                    flush();
                    writeSysctl(i, s);
                    continue;
                }
                int ifindex = indexes.computeIfAbsent(op.device(), NetlinkKernel::ifindex);
                if (ifindex <= 0) {
                    fail(i, Errno.ENODEV, "no such device \"" + op.device() + "\"");
                    continue;
                }
                if (chunkSize == CHUNK || socket.writer.remaining() < Messages.MAX_OP_BYTES) {
                    flush();
                }
                int s = nextSeq();
                if (chunkSize == 0) {
                    chunkFirstSeq = s;
                } else if (s != chunkFirstSeq + chunkSize) { // sequence wrapped: start a new chunk
                    flush();
                    chunkFirstSeq = s;
                }
                chunkOffsets[chunkSize] = socket.writer.pos;
                Messages.encode(socket.writer, op, ifindex, s);
                chunkOps[chunkSize++] = i;
            }
            flush();
            if (!failures.isEmpty()) {
                failures.sort(java.util.Comparator.comparingInt(BatchException.Failure::index));
                throw new BatchException(failures, ops.size());
            }
        }

        private void fail(int index, int errno, String message) {
            failures.add(new BatchException.Failure(index, ops.get(index), errno, Errno.name(errno), message));
        }

        private void writeSysctl(int index, Op.SysctlSet s) {
            try {
                // WRITE only: never create or truncate anything below /proc/sys
                Files.writeString(PROC_SYS.resolve(s.key().path()), Integer.toString(s.value()),
                        java.nio.file.StandardOpenOption.WRITE);
            } catch (java.nio.file.NoSuchFileException e) {
                fail(index, Errno.ENOENT, "no such sysctl " + s.key().name());
            } catch (IOException e) {
                fail(index, Errno.EIO, "write " + PROC_SYS.resolve(s.key().path()) + ": " + e.getMessage());
            }
        }

        /**
         * Sends the chunk as one datagram and reads the answers. Unless {@link #ACK_EACH}, only the
         * chunk's last message asks for an ack: the kernel answers every failed message with an
         * error anyway, and handles and answers the messages of a datagram in order, so that last
         * ack arrives after all errors of the chunk and means "everything else succeeded". One
         * receive per chunk instead of one per operation.
         */
        private void flush() throws KernelException {
            if (chunkSize == 0) {
                return;
            }
            int count = chunkSize;
            chunkSize = 0;
            boolean[] answered = new boolean[count];
            int[] pending = {ACK_EACH ? count : 1};
            if (!ACK_EACH) {
                for (int k = 0; k < count - 1; k++) {
                    int flagsAt = chunkOffsets[k] + 6;
                    Nl.put16(socket.writer.buf, flagsAt, Nl.u16(socket.writer.buf, flagsAt) & ~NLM_F_ACK);
                }
            }
            try {
                socket.send();
            } catch (KernelException e) {
                for (int k = 0; k < count; k++) {
                    fail(chunkOps[k], e.errno(), "not sent: " + e.getMessage());
                }
                return;
            }
            MemorySegment b = socket.rbuf;
            while (pending[0] > 0) {
                int n;
                try {
                    n = socket.recv();
                } catch (KernelException e) { // ENOBUFS: answers were dropped, the outcome is unknown
                    failUnanswered(answered, e.errno(), "outcome unknown, acknowledgement lost: " + e.getMessage());
                    return;
                }
                if (n < 0) {
                    failUnanswered(answered, Errno.ETIMEDOUT, "no acknowledgement within " + ACK_TIMEOUT_MILLIS + " ms");
                    return;
                }
                for (long off = 0; off + HDRLEN <= n; ) {
                    int len = i32(b, off);
                    if (len < HDRLEN || off + len > n) {
                        break;
                    }
                    int k = i32(b, off + 8) - chunkFirstSeq;
                    if (u16(b, off + 4) == NLMSG_ERROR && k >= 0 && k < count && !answered[k]) {
                        answered[k] = true;
                        if (ACK_EACH || k == count - 1) {
                            pending[0]--;
                        }
                        int err = -i32(b, off + HDRLEN);
                        if (err != 0) {
                            String ext = Messages.extAck(b, off, len);
                            fail(chunkOps[k], err, Errno.text(err) + (ext.isEmpty() ? "" : ": " + ext));
                        }
                    }
                    off += align(len);
                }
            }
        }

        private void failUnanswered(boolean[] answered, int errno, String message) {
            for (int k = 0; k < answered.length; k++) {
                if (!answered[k]) {
                    fail(chunkOps[k], errno, message);
                }
            }
        }
    }
}
