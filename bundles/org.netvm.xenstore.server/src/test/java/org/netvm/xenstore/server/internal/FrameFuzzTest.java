package org.netvm.xenstore.server.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.EOFException;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.netvm.xenstore.XenStoreError;
import org.netvm.xenstore.wire.Message;
import org.netvm.xenstore.wire.MessageType;

/**
 * Seeded random and mutation fuzzing of the embedded xenstored's frame parser and request logic over
 * real sockets. Rerun a failure with {@code -Dxenstore.fuzz.seed=SEED} (printed at the start);
 * {@code -Dxenstore.fuzz.frames=N} changes the number of frames (default 20 000).
 *
 * <p>Well-framed frames (the header's length is right; anything else may be mutated) go over a few
 * long-lived pipelined connections: each must get exactly one reply, in order, echoing its request
 * id, transaction id and type (or ERROR with a known error name). Badly framed streams go over many
 * short connections: whatever comes back must be well-formed frames, and the server must close the
 * connection when the client hangs up. Afterwards a control connection must still work and still
 * read what it committed before, and no server thread may have died of an exception.
 */
class FrameFuzzTest {

    private static final int CONNECTIONS = 4;
    private static final int WINDOW = 32;
    private static final int GUEST = 4000;
    private static final Set<String> ERROR_NAMES = Stream.of(XenStoreError.values()).map(Enum::name).collect(Collectors.toSet());

    @TempDir
    Path tmp;

    @Test
    void serverSurvivesRandomAndMutatedFrames() throws Exception {
        long seed = Long.getLong("xenstore.fuzz.seed", System.nanoTime());
        int total = Integer.getInteger("xenstore.fuzz.frames", 20000);
        System.out.println("FrameFuzzTest seed=" + seed + " frames=" + total + " (rerun: -Dxenstore.fuzz.seed=" + seed + ")");
        List<Throwable> died = Collections.synchronizedList(new ArrayList<>());
        Thread.UncaughtExceptionHandler previous = Thread.getDefaultUncaughtExceptionHandler();
        Thread.setDefaultUncaughtExceptionHandler((t, e) -> died.add(e));
        try (EmbeddedXenstored xs = EmbeddedXenstored.start(tmp.resolve("socket"),
                Options.defaults().withDomainSocketDir(tmp.resolve("domains")))) {
            Path socket = xs.socketPath();
            try (RawClient control = new RawClient(socket)) {
                assertEquals("OK", control.req(MessageType.WRITE, "/control-data/k\0before the fuzzing"));
                // one fuzzing connection is an unprivileged guest (permissions, quotas); the generator's
                // RELEASE requests name domains below 45, so this one stays
                assertEquals("OK", control.req(MessageType.WRITE, "/local/domain/" + GUEST + "/name\0fuzz"));
                assertEquals("OK", control.req(MessageType.SET_PERMS, "/local/domain/" + GUEST + "\0n" + GUEST + "\0"));
            }
            xs.introduce(GUEST);
            FuzzFrames gen = new FuzzFrames(seed);
            int wellFramed = total * 4 / 5;
            // 1. well-framed, pipelined over a few connections
            List<List<FuzzFrames.Frame>> batches = new ArrayList<>();
            for (int c = 0; c < CONNECTIONS; c++) {
                batches.add(new ArrayList<>());
            }
            for (int i = 0; i < wellFramed; i++) {
                batches.get(i % CONNECTIONS).add(gen.wellFramed());
            }
            List<Thread> threads = new ArrayList<>();
            AtomicReference<String> failure = new AtomicReference<>();
            AtomicInteger events = new AtomicInteger();
            for (int c = 0; c < CONNECTIONS; c++) {
                List<FuzzFrames.Frame> batch = batches.get(c);
                Path to = c == CONNECTIONS - 1 ? xs.domainSocketPath(GUEST) : socket;
                threads.add(Thread.ofVirtual().start(() -> {
                    try {
                        runPipelined(to, batch, events);
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e.toString());
                    }
                }));
            }
            for (Thread t : threads) {
                t.join(TimeUnit.MINUTES.toMillis(3));
                if (t.isAlive()) {
                    fail("the server stopped answering (seed " + seed + ")");
                }
            }
            assertEquals(null, failure.get(), "seed " + seed);
            // 2. badly framed streams, each on its own short connection, several at a time
            int badFrames = total - wellFramed;
            List<byte[]> streams = new ArrayList<>();
            for (int done = 0; done < badFrames;) {
                java.io.ByteArrayOutputStream s = new java.io.ByteArrayOutputStream();
                int before = gen.random().nextInt(10);
                for (int i = 0; i < before; i++) {
                    s.writeBytes(gen.wellFramed().bytes());
                }
                s.writeBytes(gen.badlyFramed());
                int after = gen.random().nextInt(10);
                for (int i = 0; i < after; i++) {
                    s.writeBytes(gen.random().nextBoolean() ? gen.wellFramed().bytes() : gen.badlyFramed());
                }
                done += before + 1 + after;
                streams.add(s.toByteArray());
            }
            ConcurrentLinkedQueue<byte[]> todo = new ConcurrentLinkedQueue<>(streams);
            AtomicInteger replies = new AtomicInteger();
            threads.clear();
            for (int w = 0; w < 8; w++) {
                threads.add(Thread.ofVirtual().start(() -> {
                    byte[] stream;
                    while ((stream = todo.poll()) != null) {
                        try {
                            replies.addAndGet(sendAndHangUp(socket, stream));
                        } catch (Throwable e) {
                            failure.compareAndSet(null, e.toString());
                        }
                    }
                }));
            }
            for (Thread t : threads) {
                t.join(TimeUnit.MINUTES.toMillis(3));
                if (t.isAlive()) {
                    fail("a badly framed connection was not closed (seed " + seed + ")");
                }
            }
            assertEquals(null, failure.get(), "seed " + seed);
            System.out.printf("FrameFuzzTest: %d well-framed frames answered (+%d watch events), %d badly framed streams "
                    + "(%d replies)%n", wellFramed, events.get(), streams.size(), replies.get());
            // 3. the server is alive and kept what was committed
            try (RawClient control = new RawClient(socket)) {
                assertEquals("before the fuzzing", control.req(MessageType.READ, "/control-data/k\0"));
                assertEquals("OK", control.req(MessageType.WRITE, "/control-data/k2\0after"));
                assertEquals("after", control.req(MessageType.READ, "/control-data/k2\0"));
            }
        } finally {
            Thread.setDefaultUncaughtExceptionHandler(previous);
        }
        assertEquals(List.of(), died, "server threads died (seed " + seed + ")");
    }

    /** Sends the batch with at most WINDOW requests in flight and checks each reply against its request. */
    private static void runPipelined(Path socket, List<FuzzFrames.Frame> batch, AtomicInteger events) throws Exception {
        try (SocketChannel ch = open(socket)) {
            Semaphore window = new Semaphore(WINDOW);
            ConcurrentLinkedQueue<FuzzFrames.Frame> inFlight = new ConcurrentLinkedQueue<>();
            AtomicReference<Throwable> writerFailed = new AtomicReference<>();
            Thread writer = Thread.ofVirtual().start(() -> {
                try {
                    for (FuzzFrames.Frame f : batch) {
                        window.acquire();
                        inFlight.add(f);
                        ByteBuffer b = ByteBuffer.wrap(f.bytes());
                        while (b.hasRemaining()) {
                            ch.write(b);
                        }
                    }
                } catch (Throwable e) {
                    writerFailed.set(e);
                }
            });
            int answered = 0;
            while (answered < batch.size()) {
                Message m;
                try {
                    m = readMessage(ch);
                } catch (EOFException e) {
                    throw new AssertionError("server closed a well-framed connection after " + answered + " replies; next request "
                            + describe(inFlight.peek()) + (writerFailed.get() == null ? "" : "; writer: " + writerFailed.get()));
                }
                if (m.type() == MessageType.WATCH_EVENT.code()) {
                    checkEvent(m);
                    events.incrementAndGet();
                    continue;
                }
                FuzzFrames.Frame sent = inFlight.poll();
                if (sent == null) {
                    throw new AssertionError("reply without a request: " + m);
                }
                checkReply(sent, m);
                answered++;
                window.release();
            }
            writer.join(5000);
        }
    }

    private static String describe(FuzzFrames.Frame f) {
        if (f == null) {
            return "none";
        }
        return "type=" + f.type() + " req=" + f.requestId() + " tx=" + f.txId() + " " + f.bytes().length + " bytes";
    }

    static void checkReply(FuzzFrames.Frame sent, Message m) {
        String what = describe(sent) + " -> " + m;
        assertEquals(sent.requestId(), m.requestId(), "request id echo: " + what);
        assertEquals(sent.txId(), m.txId(), "transaction id echo: " + what);
        if (m.type() == MessageType.ERROR.code()) {
            byte[] p = m.payload();
            assertTrue(p.length > 1 && p[p.length - 1] == 0, "error payload NUL-terminated: " + what);
            assertTrue(ERROR_NAMES.contains(m.text()), "known error name: " + what);
        } else {
            assertEquals(sent.type(), m.type(), "type echo: " + what);
        }
    }

    static void checkEvent(Message m) {
        byte[] p = m.payload();
        assertEquals(0, m.requestId(), "event " + m);
        assertEquals(0, m.txId(), "event " + m);
        int nuls = 0;
        for (byte b : p) {
            nuls += b == 0 ? 1 : 0;
        }
        assertTrue(nuls == 2 && p[p.length - 1] == 0, "event is path NUL token NUL: " + m);
    }

    /** Sends a stream, hangs up its sending side, reads until the server closes; returns the replies read. */
    private static int sendAndHangUp(Path socket, byte[] stream) throws Exception {
        try (SocketChannel ch = open(socket)) {
            Thread writer = Thread.ofVirtual().start(() -> {
                try {
                    ByteBuffer b = ByteBuffer.wrap(stream);
                    while (b.hasRemaining()) {
                        ch.write(b);
                    }
                    ch.shutdownOutput();
                } catch (IOException e) {
                    // the server closed the connection first (e.g. a length over 4096): fine
                }
            });
            int n = 0;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (true) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("server did not close the connection after the client hung up");
                }
                Message m;
                try {
                    m = readMessage(ch);
                } catch (EOFException e) {
                    break; // closed (possibly mid-frame: the server drops pending output when the client goes, as C does)
                } catch (IOException e) {
                    break; // reset
                }
                if (m.type() == MessageType.WATCH_EVENT.code()) {
                    checkEvent(m);
                } else if (m.type() == MessageType.ERROR.code()) {
                    assertTrue(ERROR_NAMES.contains(m.text()), "known error name: " + m);
                }
                n++;
            }
            writer.join(5000);
            return n;
        }
    }

    private static SocketChannel open(Path socket) throws IOException {
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        ch.connect(UnixDomainSocketAddress.of(socket));
        return ch;
    }

    /** One reply, parsed strictly: a length over 4096 fails the test (IllegalArgumentException). */
    static Message readMessage(SocketChannel ch) throws IOException {
        ByteBuffer h = ByteBuffer.allocate(Message.HEADER_SIZE);
        fill(ch, h);
        h.flip();
        int len = Message.payloadLength(h);
        ByteBuffer all = ByteBuffer.allocate(Message.HEADER_SIZE + len).put(h);
        fill(ch, all);
        return Message.decode(all.flip());
    }

    private static void fill(SocketChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            if (ch.read(b) < 0) {
                throw new EOFException();
            }
        }
    }
}
