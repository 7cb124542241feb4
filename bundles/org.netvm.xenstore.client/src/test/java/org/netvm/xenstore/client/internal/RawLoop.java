package org.netvm.xenstore.client.internal;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * The floor of {@link XenStoreBench} ({@code raw} mode): what a sequential caller gets when the client
 * costs next to nothing. One blocking socket, one reused direct buffer, one write and (usually) one
 * read per request, no request-id matching or checks. Not a client: a measurement.
 */
final class RawLoop {

    private static final int READ = 2;
    private static final int WRITE = 11;

    private RawLoop() {
    }

    static void main(Path socket, boolean read, int n) throws IOException {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            byte[] path = "/bench/j/0".getBytes(StandardCharsets.UTF_8);
            byte[] value = "value-0123456789".getBytes(StandardCharsets.UTF_8);
            ByteBuffer out = ByteBuffer.allocateDirect(256).order(ByteOrder.LITTLE_ENDIAN);
            ByteBuffer in = ByteBuffer.allocateDirect(8192).order(ByteOrder.LITTLE_ENDIAN);
            ByteBuffer writeReq = request(WRITE, path, value);
            ByteBuffer req = read ? request(READ, path, null) : writeReq;
            roundTrip(ch, writeReq, out, in, 1);
            loop(ch, req, out, in, n); // warm-up
            long cpu = processCpuNanos();
            long start = System.nanoTime();
            loop(ch, req, out, in, n);
            report(n, System.nanoTime() - start, processCpuNanos() - cpu);
        }
    }

    private static ByteBuffer request(int type, byte[] path, byte[] value) {
        int len = path.length + 1 + (value == null ? 0 : value.length);
        ByteBuffer b = ByteBuffer.allocate(16 + len).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(type).putInt(0).putInt(0).putInt(len).put(path).put((byte) 0);
        if (value != null) {
            b.put(value);
        }
        return b.flip();
    }

    private static void loop(SocketChannel ch, ByteBuffer req, ByteBuffer out, ByteBuffer in, int n) throws IOException {
        for (int i = 0; i < n; i++) {
            roundTrip(ch, req, out, in, i + 2);
        }
    }

    private static void roundTrip(SocketChannel ch, ByteBuffer req, ByteBuffer out, ByteBuffer in, int id) throws IOException {
        out.clear();
        out.put(req.duplicate()).putInt(4, id).flip();
        while (out.hasRemaining()) {
            ch.write(out);
        }
        in.clear();
        while (in.position() < 16 || in.position() < 16 + in.getInt(12)) {
            if (ch.read(in) < 0) {
                throw new IOException("daemon hung up");
            }
        }
        if (in.getInt(4) != id) {
            throw new IOException("reply " + in.getInt(4) + " to request " + id);
        }
    }

    /** CPU time of this process so far, all threads. */
    static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    static void report(long ops, long nanos, long cpuNanos) {
        double seconds = nanos / 1e9;
        System.out.printf("%d %.3f %.0f %.1f%n", ops, seconds, ops / seconds, cpuNanos / 1e3 / ops);
    }
}
