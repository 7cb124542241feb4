package org.netvm.kernel.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.AtomicBoolean;

import org.netvm.kernel.KernelException;
import org.netvm.util.SocketCalls;

/**
 * One netlink socket (NETLINK_ROUTE unless opened for another protocol) with its native send and receive buffers. The socket lives in the
 * network namespace of the thread that opened it. Not thread-safe: one user at a time.
 */
final class NetlinkSocket implements AutoCloseable {
    static final int SEND_BUFFER = 64 * 1024;
    static final int RECV_BUFFER = 256 * 1024;

    private final Arena arena;
    private final int fd;
    private final MemorySegment dest;
    final Nl.Writer writer;
    final MemorySegment rbuf;
    private final AtomicBoolean closed = new AtomicBoolean();

    private NetlinkSocket(Arena arena, int fd) {
        this.arena = arena;
        this.fd = fd;
        this.dest = arena.allocate(12, 4); // sockaddr_nl of the kernel: all zero but the family
        Nl.put16(dest, 0, SocketCalls.AF_NETLINK);
        this.writer = new Nl.Writer(arena.allocate(SEND_BUFFER, 8));
        this.rbuf = arena.allocate(RECV_BUFFER, 8);
    }

    /**
     * Opens a socket in the calling thread's network namespace, bound to the multicast
     * {@code groups}, with acks capped and extended acks on.
     *
     * @param receiveTimeoutMillis how long {@link #recv()} blocks before reporting a timeout
     */
    static NetlinkSocket open(int groups, int receiveTimeoutMillis, int receiveBufferBytes) throws KernelException {
        return open(SocketCalls.NETLINK_ROUTE, groups, receiveTimeoutMillis, receiveBufferBytes);
    }

    /** Like {@link #open(int, int, int)} for another netlink protocol ({@link Libc#NETLINK_NETFILTER}). */
    static NetlinkSocket open(int protocol, int groups, int receiveTimeoutMillis, int receiveBufferBytes)
            throws KernelException {
        int fd = SocketCalls.socket(SocketCalls.AF_NETLINK, SocketCalls.SOCK_RAW | SocketCalls.SOCK_CLOEXEC, protocol);
        if (fd < 0) {
            throw Libc.failure("socket(AF_NETLINK, " + protocol + ")", SocketCalls.errno());
        }
        Arena arena = Arena.ofShared();
        NetlinkSocket s = new NetlinkSocket(arena, fd);
        try {
            s.configure(groups, receiveTimeoutMillis, receiveBufferBytes);
            return s;
        } catch (KernelException | RuntimeException e) {
            s.close();
            throw e;
        }
    }

    private void configure(int groups, int receiveTimeoutMillis, int receiveBufferBytes) throws KernelException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment one = a.allocate(ValueLayout.JAVA_INT);
            one.set(ValueLayout.JAVA_INT, 0, 1);
            // best effort: older kernels lack them, and the seam works without
            SocketCalls.setsockopt(fd, SocketCalls.SOL_NETLINK, SocketCalls.NETLINK_CAP_ACK, one, 4);
            SocketCalls.setsockopt(fd, SocketCalls.SOL_NETLINK, SocketCalls.NETLINK_EXT_ACK, one, 4);
            // dump requests are checked strictly, and their filters (one device) honoured
            SocketCalls.setsockopt(fd, SocketCalls.SOL_NETLINK, SocketCalls.NETLINK_GET_STRICT_CHK, one, 4);
            MemorySegment size = a.allocate(ValueLayout.JAVA_INT);
            size.set(ValueLayout.JAVA_INT, 0, receiveBufferBytes);
            if (SocketCalls.setsockopt(fd, SocketCalls.SOL_SOCKET, SocketCalls.SO_RCVBUFFORCE, size, 4) != 0) {
                SocketCalls.setsockopt(fd, SocketCalls.SOL_SOCKET, SocketCalls.SO_RCVBUF, size, 4); // capped by rmem_max without CAP_NET_ADMIN
            }
            size.set(ValueLayout.JAVA_INT, 0, 1024 * 1024);
            SocketCalls.setsockopt(fd, SocketCalls.SOL_SOCKET, SocketCalls.SO_SNDBUF, size, 4);
            MemorySegment tv = a.allocate(16, 8); // struct timeval
            tv.set(ValueLayout.JAVA_LONG, 0, receiveTimeoutMillis / 1000);
            tv.set(ValueLayout.JAVA_LONG, 8, (receiveTimeoutMillis % 1000) * 1000L);
            if (SocketCalls.setsockopt(fd, SocketCalls.SOL_SOCKET, SocketCalls.SO_RCVTIMEO, tv, 16) != 0) {
                throw Libc.failure("setsockopt(SO_RCVTIMEO)", SocketCalls.errno());
            }
            MemorySegment local = a.allocate(12, 4);
            Nl.put16(local, 0, SocketCalls.AF_NETLINK);
            Nl.put32(local, 8, groups);
            if (SocketCalls.bind(fd, local, 12) != 0) {
                throw Libc.failure("bind(AF_NETLINK, groups=" + groups + ")", SocketCalls.errno());
            }
        }
    }

    /** Sends what the writer holds as one datagram and resets the writer. */
    void send() throws KernelException {
        int len = writer.pos;
        writer.reset();
        while (true) {
            long n = SocketCalls.sendto(fd, writer.buf, len, 0, dest, 12);
            if (n >= 0) {
                return;
            }
            int e = SocketCalls.errno();
            if (e != Errno.EINTR) {
                throw Libc.failure("sendto(netlink, " + len + " bytes)", e);
            }
        }
    }

    /**
     * Receives one datagram into {@link #rbuf}: its length, or -1 if the receive timeout passed.
     * Throws with ENOBUFS when the kernel dropped messages for this socket.
     */
    int recv() throws KernelException {
        while (true) {
            long n = SocketCalls.recv(fd, rbuf, rbuf.byteSize(), SocketCalls.MSG_TRUNC);
            if (n > rbuf.byteSize()) {
                throw Libc.failure("recv(netlink): datagram of " + n + " bytes truncated", Errno.EMSGSIZE);
            }
            if (n >= 0) {
                return (int) n;
            }
            int e = SocketCalls.errno();
            if (e == Errno.EAGAIN) {
                return -1;
            }
            if (e != Errno.EINTR) {
                throw Libc.failure("recv(netlink)", e);
            }
        }
    }

    boolean isClosed() {
        return closed.get();
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            SocketCalls.close(fd);
            arena.close();
        }
    }
}
