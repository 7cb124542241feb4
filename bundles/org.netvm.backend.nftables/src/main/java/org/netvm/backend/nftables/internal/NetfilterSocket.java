package org.netvm.backend.nftables.internal;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.netvm.util.SocketCalls.AF_NETLINK;
import static org.netvm.util.SocketCalls.EAGAIN;
import static org.netvm.util.SocketCalls.EINTR;
import static org.netvm.util.SocketCalls.NETLINK_CAP_ACK;
import static org.netvm.util.SocketCalls.NETLINK_NETFILTER;
import static org.netvm.util.SocketCalls.SOCK_CLOEXEC;
import static org.netvm.util.SocketCalls.SOCK_RAW;
import static org.netvm.util.SocketCalls.SOL_NETLINK;
import static org.netvm.util.SocketCalls.SOL_SOCKET;
import static org.netvm.util.SocketCalls.SO_RCVTIMEO;
import static org.netvm.util.SocketCalls.SO_SNDBUF;
import static org.netvm.util.SocketCalls.SO_SNDBUFFORCE;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

import org.netvm.util.SocketCalls;

/**
 * One {@code NETLINK_NETFILTER} socket ({@link NetlinkElements.Transport}): a batch goes out as one
 * datagram and the kernel's acks come back, matched by sequence number (acks of an earlier batch whose
 * answer came too late are skipped). Opened in the backend's network namespace by a short-lived thread
 * that enters it ({@code NetnsEntry}); a socket keeps its namespace, so any thread may use it afterwards, one
 * at a time (the backend's lock). Acks are capped ({@code NETLINK_CAP_ACK}: the failed message's header
 * only). It also answers one-message requests ({@link Generation}: the ruleset generation). The libc calls are
 * {@code org.netvm.util.SocketCalls} (foreign-function downcalls, errno per thread), shared with the kernel seam.
 */
final class NetfilterSocket implements NetlinkElements.Transport, Generation.Query {
    private static final int RECV_BUFFER = 64 * 1024;

    private final Arena arena = Arena.ofShared();
    private final MemorySegment kernel = arena.allocate(12, 4); // sockaddr_nl of the kernel: all zero but the family
    private final MemorySegment rbuf = arena.allocate(RECV_BUFFER, 8);
    private MemorySegment sbuf = arena.allocate(64 * 1024, 8);
    private final int fd;
    private boolean closed;

    private NetfilterSocket(int fd) {
        this.fd = fd;
        kernel.set(ValueLayout.JAVA_SHORT, 0, (short) AF_NETLINK);
    }

    /**
     * Opens the socket in {@code netns} (an {@code ip netns} name; empty: the process's own namespace).
     *
     * @param timeout how long a batch's acks may take before its outcome counts as unknown
     */
    static NetfilterSocket open(String netns, Duration timeout) throws IOException {
        CompletableFuture<NetfilterSocket> opened = new CompletableFuture<>();
        Thread.ofPlatform().daemon().name("netvm-nfnetlink-open").start(() -> {
            try {
                if (!netns.isEmpty()) {
                    org.netvm.util.NetnsEntry.enter(java.nio.file.Path.of("/var/run/netns", netns)); // this thread only, for good
                }
                opened.complete(openHere(timeout));
            } catch (IOException | RuntimeException e) {
                opened.completeExceptionally(e);
            }
        });
        try {
            return opened.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while opening a netfilter netlink socket", e);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof IOException io ? io : new IOException(String.valueOf(e.getCause()), e.getCause());
        }
    }

    private static NetfilterSocket openHere(Duration timeout) throws IOException {
        int fd = SocketCalls.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
        if (fd < 0) {
            throw new IOException("socket(AF_NETLINK, NETLINK_NETFILTER) failed, errno " + SocketCalls.errno());
        }
        NetfilterSocket s = new NetfilterSocket(fd);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment one = a.allocate(JAVA_INT);
            one.set(JAVA_INT, 0, 1);
            SocketCalls.setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, one, 4); // best effort
            MemorySegment size = a.allocate(JAVA_INT);
            size.set(JAVA_INT, 0, 1024 * 1024);
            if (SocketCalls.setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, size, 4) != 0) {
                SocketCalls.setsockopt(fd, SOL_SOCKET, SO_SNDBUF, size, 4);
            }
            long millis = Math.max(1, timeout.toMillis());
            MemorySegment tv = a.allocate(16, 8); // struct timeval
            tv.set(JAVA_LONG, 0, millis / 1000);
            tv.set(JAVA_LONG, 8, (millis % 1000) * 1000L);
            if (SocketCalls.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, tv, 16) != 0) {
                throw new IOException("setsockopt(SO_RCVTIMEO) failed, errno " + SocketCalls.errno());
            }
            MemorySegment local = a.allocate(12, 4);
            local.set(ValueLayout.JAVA_SHORT, 0, (short) AF_NETLINK);
            if (SocketCalls.bind(fd, local, 12) != 0) {
                throw new IOException("bind(AF_NETLINK) failed, errno " + SocketCalls.errno());
            }
            return s;
        } catch (IOException | RuntimeException e) {
            s.close();
            throw e;
        }
    }

    @Override
    public synchronized Map<Integer, Integer> exchange(byte[] datagram, int firstSeq, int lastSeq,
            int expectedAcks) throws IOException {
        if (closed) {
            throw new IOException("netfilter netlink socket closed");
        }
        send(datagram);
        Map<Integer, Integer> acks = new HashMap<>();
        while (acks.size() < expectedAcks) {
            int n = recv();
            for (int at = 0; at + 16 <= n; ) {
                int len = rbuf.get(ValueLayout.JAVA_INT_UNALIGNED, at);
                int type = Short.toUnsignedInt(rbuf.get(ValueLayout.JAVA_SHORT_UNALIGNED, at + 4));
                int seq = rbuf.get(ValueLayout.JAVA_INT_UNALIGNED, at + 8);
                if (len < 16 || at + len > n) {
                    throw new IOException("netlink: a malformed answer (length " + len + ")");
                }
                if (type == SetElementBatch.NLMSG_ERROR && len >= 20 && seq - firstSeq >= 0 && lastSeq - seq >= 0) {
                    int error = -rbuf.get(ValueLayout.JAVA_INT_UNALIGNED, at + 16);
                    acks.put(seq, error);
                    if (error != 0 && (seq == firstSeq || seq == lastSeq)) {
                        return acks; // the batch as a whole was refused: no per-message answer may follow
                    }
                }
                at += (len + 3) & ~3;
            }
        }
        return acks;
    }

    @Override
    public synchronized byte[] query(byte[] request, int seq) throws IOException {
        if (closed) {
            throw new IOException("netfilter netlink socket closed");
        }
        send(request);
        while (true) {
            int n = recv();
            for (int at = 0; at + 16 <= n; ) {
                int len = rbuf.get(ValueLayout.JAVA_INT_UNALIGNED, at);
                if (len < 16 || at + len > n) {
                    throw new IOException("netlink: a malformed answer (length " + len + ")");
                }
                if (rbuf.get(ValueLayout.JAVA_INT_UNALIGNED, at + 8) == seq) {
                    return rbuf.asSlice(at, len).toArray(ValueLayout.JAVA_BYTE);
                }
                at += (len + 3) & ~3; // a late answer to an earlier request
            }
        }
    }

    private void send(byte[] datagram) throws IOException {
        if (sbuf.byteSize() < datagram.length) {
            sbuf = arena.allocate(datagram.length, 8);
        }
        MemorySegment.copy(datagram, 0, sbuf, ValueLayout.JAVA_BYTE, 0, datagram.length);
        while (true) {
            long n = SocketCalls.sendto(fd, sbuf, datagram.length, 0, kernel, 12);
            if (n >= 0) {
                return;
            }
            int e = SocketCalls.errno();
            if (e != EINTR) {
                throw new IOException("sendto(netfilter netlink, " + datagram.length + " bytes) failed, errno " + e);
            }
        }
    }

    private int recv() throws IOException {
        while (true) {
            long n = SocketCalls.recv(fd, rbuf, rbuf.byteSize(), 0);
            if (n >= 0) {
                return (int) n;
            }
            int e = SocketCalls.errno();
            if (e == EAGAIN) {
                throw new IOException("netlink: no answer from the kernel within the timeout (outcome unknown)");
            }
            if (e != EINTR) {
                throw new IOException("recv(netfilter netlink) failed, errno " + e);
            }
        }
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            SocketCalls.close(fd);
            arena.close();
        }
    }
}
