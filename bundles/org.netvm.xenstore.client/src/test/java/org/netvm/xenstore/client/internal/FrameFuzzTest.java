package org.netvm.xenstore.client.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.ProtocolException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.ReadableByteChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.netvm.xenstore.Permission;
import org.netvm.xenstore.Transaction;
import org.netvm.xenstore.Watch;
import org.netvm.xenstore.XenStoreError;
import org.netvm.xenstore.XenStoreException;
import org.netvm.xenstore.wire.Message;
import org.netvm.xenstore.wire.MessageType;

/**
 * Seeded random and mutation fuzzing of the client's side of the wire: {@link Message#read} on hostile
 * byte streams, and a whole {@link XenStoreClient} against a daemon that answers with garbage. Both
 * must fail cleanly (IOException; XenStoreException for callers), never hang and never allocate
 * without bound. Rerun with {@code -Dxenstore.fuzz.seed=SEED}.
 */
class FrameFuzzTest {

    private static final String[] ERRORS = {"EINVAL", "ENOENT", "EACCES", "E2BIG", "EAGAIN", "ENOSPC", "EQUOTA", "EWHATEVER", ""};
    private static final ClientOptions FAST = new ClientOptions(Duration.ofMillis(5), Duration.ofMillis(20), Duration.ofMillis(300));

    private static long seed(String name) {
        long seed = Long.getLong("xenstore.fuzz.seed", System.nanoTime());
        System.out.println(name + " seed=" + seed + " (rerun: -Dxenstore.fuzz.seed=" + seed + ")");
        return seed;
    }

    static byte[] frame(int type, int req, int tx, int announced, byte[] payload) {
        return ByteBuffer.allocate(16 + payload.length).order(ByteOrder.LITTLE_ENDIAN)
                .putInt(type).putInt(req).putInt(tx).putInt(announced).put(payload).array();
    }

    /** What a daemon could send back for a request with this id: good, odd, mutated or broken. */
    static byte[] reply(Random r, int type, int req, int tx) {
        return reply(r, type, req, tx, true);
    }

    /** As above; without {@code breakFraming} every reply is whole (so the connection survives it). */
    static byte[] reply(Random r, int type, int req, int tx, boolean breakFraming) {
        byte[] payload;
        int kind = r.nextInt(12);
        if (!breakFraming && (kind == 9 || kind == 10)) {
            kind = 0;
        }
        switch (kind) {
            case 0 -> payload = "OK\0".getBytes(StandardCharsets.ISO_8859_1);
            case 1 -> {
                return wellFramed(MessageType.ERROR.code(), req, tx,
                        (ERRORS[r.nextInt(ERRORS.length)] + "\0").getBytes(StandardCharsets.ISO_8859_1));
            }
            case 2 -> {
                payload = new byte[r.nextInt(Message.MAX_PAYLOAD + 1)];
                r.nextBytes(payload);
                type = r.nextInt(5) == 0 ? r.nextInt() : r.nextInt(24);
            }
            case 3 -> {
                payload = Message.strings(Integer.toString(r.nextInt(100)), "a", "b" + r.nextInt(9));
                if (r.nextBoolean()) {
                    payload = ("7\0" + "x".repeat(r.nextInt(50))).getBytes(StandardCharsets.ISO_8859_1);
                }
            }
            case 4 -> payload = Message.strings("n0", "r" + r.nextInt(), "q1", "b");
            case 5 -> {
                // an event first (random fields), then the reply
                byte[] ev = new byte[r.nextInt(64)];
                r.nextBytes(ev);
                byte[] a = wellFramed(MessageType.WATCH_EVENT.code(), r.nextInt(3), 0, ev);
                byte[] b = wellFramed(type, req, tx, "OK\0".getBytes(StandardCharsets.ISO_8859_1));
                return concat(a, b);
            }
            case 6 -> {
                req = r.nextBoolean() ? req + 1 + r.nextInt(5) : r.nextInt(); // someone else's reply
                payload = "OK\0".getBytes(StandardCharsets.ISO_8859_1);
            }
            case 7 -> {
                payload = new byte[Message.MAX_PAYLOAD + 1 + r.nextInt(20000)]; // oxenstored-style oversized
                r.nextBytes(payload);
            }
            case 8 -> {
                return new byte[0]; // no answer
            }
            case 9 -> {
                byte[] p = new byte[r.nextInt(100)];
                r.nextBytes(p);
                int announced = switch (r.nextInt(4)) {
                    case 0 -> Message.MAX_INBOUND_PAYLOAD + 1 + r.nextInt(1 << 20);
                    case 1 -> -1 - r.nextInt(1000);
                    case 2 -> Integer.MAX_VALUE;
                    default -> p.length + 1 + r.nextInt(100000); // more than follows
                };
                return frame(type, req, tx, announced, p);
            }
            case 10 -> {
                byte[] junk = new byte[1 + r.nextInt(200)];
                r.nextBytes(junk);
                return junk;
            }
            default -> {
                payload = new byte[r.nextInt(40)];
                r.nextBytes(payload);
                for (int i = 0; i < payload.length; i++) {
                    if (r.nextInt(4) == 0) {
                        payload[i] = 0;
                    }
                }
            }
        }
        return wellFramed(type, req, tx, payload);
    }

    static byte[] wellFramed(int type, int req, int tx, byte[] payload) {
        return frame(type, req, tx, payload.length, payload);
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] c = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    /** A channel that hands out a random number of bytes per read, as sockets do. */
    static ReadableByteChannel chunky(byte[] b, Random r) {
        ReadableByteChannel in = Channels.newChannel(new ByteArrayInputStream(b));
        return new ReadableByteChannel() {
            @Override
            public int read(ByteBuffer dst) throws IOException {
                if (!dst.hasRemaining()) {
                    return 0;
                }
                int lim = dst.limit();
                dst.limit(Math.min(lim, dst.position() + 1 + r.nextInt(Math.min(dst.remaining(), 5000))));
                try {
                    return in.read(dst);
                } finally {
                    dst.limit(lim);
                }
            }

            @Override
            public boolean isOpen() {
                return true;
            }

            @Override
            public void close() {
            }
        };
    }

    @Test
    void frameReaderRaisesCleanExceptionsOnHostileStreams() {
        long seed = seed("FrameFuzzTest.frameReader");
        Random r = new Random(seed);
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            int frames = 0;
            int eof = 0;
            int rejected = 0;
            for (int stream = 0; stream < 20000; stream++) {
                ByteArrayOutputStream s = new ByteArrayOutputStream();
                int n = 1 + r.nextInt(4);
                for (int i = 0; i < n; i++) {
                    s.writeBytes(reply(r, r.nextInt(24), r.nextInt(), r.nextInt(3)));
                }
                byte[] bytes = s.toByteArray();
                if (r.nextInt(4) == 0 && bytes.length > 0) {
                    bytes[r.nextInt(bytes.length)] ^= (byte) (1 << r.nextInt(8)); // flip one bit anywhere
                }
                ReadableByteChannel ch = chunky(bytes, r);
                long consumed = 0;
                while (true) {
                    Message f;
                    try {
                        f = Message.read(ch, Message.MAX_INBOUND_PAYLOAD);
                    } catch (EOFException e) {
                        eof++;
                        break;
                    } catch (IOException e) {
                        assertTrue(e instanceof ProtocolException && e.getMessage().contains("announced payload"), e.toString());
                        rejected++;
                        break;
                    }
                    frames++;
                    consumed += 16 + f.payload().length;
                    assertTrue(f.payload().length <= Message.MAX_INBOUND_PAYLOAD);
                    assertTrue(consumed <= bytes.length, "read more than was sent");
                    // everything a caller does with a frame must work on any frame
                    f.fields();
                    f.text();
                    f.raw();
                    f.toString();
                    f.messageType();
                }
            }
            System.out.printf("FrameFuzzTest.frameReader: 20000 streams, %d frames, %d ended in EOF, %d rejected lengths%n",
                    frames, eof, rejected);
        });
    }

    @Test
    void clientSurvivesADaemonThatAnswersWithGarbage() throws Exception {
        long seed = seed("FrameFuzzTest.client");
        FakeDaemon daemon = new FakeDaemon();
        List<Throwable> unexpected = Collections.synchronizedList(new ArrayList<>());
        Thread server = Thread.ofVirtual().start(() -> {
            Random r = new Random(seed);
            try {
                while (true) {
                    FakeDaemon.End end = daemon.ends.take();
                    long endSeed = r.nextLong();
                    Thread.ofVirtual().start(() -> answerWithGarbage(end, new Random(endSeed)));
                }
            } catch (InterruptedException e) {
                // done
            }
        });
        XenStoreClient client = XenStoreClient.start(daemon, FAST);
        try {
            assertTrue(client.awaitConnected(Duration.ofSeconds(5)));
            List<Thread> callers = new ArrayList<>();
            int[] outcomes = new int[2];
            for (int t = 0; t < 4; t++) {
                long callerSeed = seed + t;
                callers.add(Thread.ofVirtual().start(() -> {
                    Random r = new Random(callerSeed);
                    for (int i = 0; i < 400; i++) {
                        long start = System.nanoTime();
                        try {
                            randomOperation(client, r);
                            synchronized (outcomes) {
                                outcomes[0]++;
                            }
                        } catch (XenStoreException e) {
                            synchronized (outcomes) {
                                outcomes[1]++;
                            }
                        } catch (Throwable e) {
                            unexpected.add(e);
                        }
                        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
                        if (ms > 20000) {
                            unexpected.add(new AssertionError("an operation took " + ms + " ms"));
                        }
                    }
                }));
            }
            for (Thread t : callers) {
                t.join(TimeUnit.MINUTES.toMillis(3));
                assertTrue(!t.isAlive(), "a caller hangs (seed " + seed + ")");
            }
            assertEquals(List.of(), unexpected, "seed " + seed);
            System.out.printf("FrameFuzzTest.client: %d calls returned, %d failed with XenStoreException, %d connections%n",
                    outcomes[0], outcomes[1], daemon.attempts.get());
        } finally {
            server.interrupt();
            client.close();
        }
    }

    private static void answerWithGarbage(FakeDaemon.End end, Random r) {
        try {
            while (!end.clientClosed) {
                Message m = end.requests.poll(100, TimeUnit.MILLISECONDS);
                if (m == null) {
                    continue;
                }
                // mostly whole frames, so requests reach the reply logic; now and then a broken one
                byte[] b = reply(r, m.type(), m.requestId(), m.txId(), r.nextInt(50) == 0);
                if (b.length > 0) {
                    end.sendRaw(ByteBuffer.wrap(b));
                }
                if (r.nextInt(200) == 0) {
                    end.hangUp();
                    return;
                }
            }
        } catch (IOException | InterruptedException e) {
            // the client closed this connection (it gave up on a broken frame): fine
        }
    }

    private static void randomOperation(XenStoreClient c, Random r) throws XenStoreException {
        String path = r.nextBoolean() ? "/fuzz/a" : "fuzz/b";
        switch (r.nextInt(9)) {
            case 0 -> c.read(path);
            case 1 -> c.write(path, "v" + r.nextInt());
            case 2 -> c.directory(path);
            case 3 -> {
                List<Permission> p = c.getPermissions(path);
                p.size();
            }
            case 4 -> {
                try (Transaction t = c.transaction()) {
                    t.write(path, "x");
                    t.commit();
                }
            }
            case 5 -> {
                try (Watch w = c.watch(path, changed -> { })) {
                    w.path();
                }
            }
            case 6 -> c.mkdir(path);
            case 7 -> c.rm(path);
            default -> c.domainPath(r.nextInt(100));
        }
    }

    /** A daemon whose DIRECTORY_PART replies never end the listing must not keep the caller forever. */
    @Test
    void aListingInPartsThatNeverEndsFailsInsteadOfGrowingForever() throws Exception {
        FakeDaemon daemon = new FakeDaemon();
        daemon.responder = m -> m.messageType() == MessageType.DIRECTORY
                ? new Message(MessageType.ERROR, m.requestId(), 0, Message.strings("E2BIG"))
                : new Message(m.type(), m.requestId(), 0, "1\0abc".getBytes(StandardCharsets.ISO_8859_1));
        try (XenStoreClient client = XenStoreClient.connect(daemon, FAST)) {
            XenStoreException e = assertTimeoutPreemptively(Duration.ofSeconds(30),
                    () -> assertThrows(XenStoreException.class, () -> client.directory("/big")));
            assertEquals(XenStoreError.E2BIG, e.error());
        }
    }
}
