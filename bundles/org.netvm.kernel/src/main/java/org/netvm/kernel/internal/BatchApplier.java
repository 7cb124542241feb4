package org.netvm.kernel.internal;

import static org.netvm.kernel.internal.Nl.*;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.netvm.kernel.BatchException;
import org.netvm.kernel.KernelException;
import org.netvm.kernel.Op;

/** Sends a batch in chunks over the one socket and collects the acks. Runs on the namespace thread. */
final class BatchApplier {
    /** Messages per sendmsg; their acks (one skb each) must fit the receive buffer. */
    static final int CHUNK = 256;
    /** Ask for an ack on every message (one receive each) instead of on the last one of a chunk. */
    static final boolean ACK_EACH = Boolean.getBoolean("netvm.kernel.ackEach");

    private final NetlinkExchange exchange;
    private final NetlinkSocket socket;
    private final List<Op> ops;
    private final List<BatchException.Failure> failures = new ArrayList<>();
    private final Map<String, Integer> indexes = new HashMap<>();
    private final int[] chunkOps = new int[CHUNK];
    private final int[] chunkOffsets = new int[CHUNK];
    private int chunkSize;
    private int chunkFirstSeq;

    BatchApplier(NetlinkExchange exchange, List<Op> ops) {
        this.exchange = exchange;
        this.socket = exchange.socket;
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
            int s = exchange.nextSeq();
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
            failures.sort(Comparator.comparingInt(BatchException.Failure::index));
            throw new BatchException(failures, ops.size());
        }
    }

    private void fail(int index, int errno, String message) {
        failures.add(new BatchException.Failure(index, ops.get(index), errno, Errno.name(errno), message));
    }

    private void writeSysctl(int index, Op.SysctlSet s) {
        try {
            // WRITE only: never create or truncate anything below /proc/sys; a channel and one write (Files.writeString
            // costs twice as much per call before the JIT has compiled it: two per vif at a start)
            try (FileChannel c = FileChannel.open(NetlinkKernel.PROC_SYS.resolve(s.key().path()), StandardOpenOption.WRITE)) {
                c.write(ByteBuffer.wrap(Integer.toString(s.value()).getBytes(StandardCharsets.US_ASCII)));
            }
        } catch (NoSuchFileException e) {
            fail(index, Errno.ENOENT, "no such sysctl " + s.key().name());
        } catch (IOException e) {
            fail(index, Errno.EIO, "write " + NetlinkKernel.PROC_SYS.resolve(s.key().path()) + ": " + e.getMessage());
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
                failUnanswered(answered, Errno.ETIMEDOUT, "no acknowledgement within " + NetlinkExchange.ACK_TIMEOUT_MILLIS + " ms");
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
