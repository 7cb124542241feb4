package org.netvm.kernel.internal;

import static org.netvm.kernel.internal.Nl.*;

import java.lang.foreign.MemorySegment;

import org.netvm.kernel.KernelException;

/**
 * Requests and answers on one rtnetlink socket: sequence numbers, receiving until an exchange is
 * complete, complete dumps. Used only on the seam's {@link NamespaceThread}.
 */
final class NetlinkExchange {
    static final int ACK_TIMEOUT_MILLIS = 10_000;

    final NetlinkSocket socket;
    private int seq = (int) (System.nanoTime() & 0x3fffffff);

    NetlinkExchange(NetlinkSocket socket) {
        this.socket = socket;
    }

    int nextSeq() {
        seq = (seq + 1) & 0x7fffffff;
        if (seq == 0) {
            seq = 1;
        }
        return seq;
    }

    /** Sees one message of the current datagram; returns true when the exchange is complete. */
    @FunctionalInterface
    interface Handler {
        boolean message(int type, long off, int len) throws KernelException;
    }

    @FunctionalInterface
    interface DumpHandler {
        void message(int type, long off, int len) throws KernelException;
    }

    /** Receives until the handler says the exchange of sequence number {@code s} is complete. */
    void receiveUntil(int s, Handler h) throws KernelException {
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
    void dump(int type, int bodyLen, int family, DumpHandler h, Runnable reset) throws KernelException {
        dump(type, bodyLen, family, 0, 0, h, reset);
    }

    /**
     * A dump; with {@code ifindex} > 0 (and {@code protocol} > 0 for routes) the request asks the
     * kernel to filter (strict checking, kernel 5.3+); callers filter again, so an older kernel that
     * sends everything gives the same result, only slower.
     */
    void dump(int type, int bodyLen, int family, int ifindex, int protocol, DumpHandler h, Runnable reset)
            throws KernelException {
        dump("dump " + type, s -> Messages.dumpRequest(socket.writer, type, bodyLen, family, s, ifindex, protocol), h,
                reset);
    }

    /** Writes one request with the given sequence number into the socket's writer. */
    @FunctionalInterface
    interface Request {
        void write(int seq);
    }

    /** A complete dump of what {@code request} asks for (restarted like the rtnetlink dumps). */
    void dump(String what, Request request, DumpHandler h, Runnable reset) throws KernelException {
        for (int attempt = 0; ; attempt++) {
            int s = nextSeq();
            request.write(s);
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
                    throw Libc.failure(what, err);
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

    /** Sends what the writer holds (one request, sequence number {@code s}) and returns its ack's error (0: done). */
    int acked(int s) throws KernelException {
        socket.send();
        int[] error = {0};
        receiveUntil(s, (t, off, len) -> {
            if (t == NLMSG_ERROR) {
                error[0] = -i32(socket.rbuf, off + HDRLEN);
                return true;
            }
            return false;
        });
        return error[0];
    }
}
