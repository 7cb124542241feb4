package org.netvm.xenstore.server.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.netvm.xenstore.wire.MessageType.DIRECTORY;
import static org.netvm.xenstore.wire.MessageType.READ;
import static org.netvm.xenstore.wire.MessageType.SET_PERMS;
import static org.netvm.xenstore.wire.MessageType.TRANSACTION_END;
import static org.netvm.xenstore.wire.MessageType.TRANSACTION_START;
import static org.netvm.xenstore.wire.MessageType.WATCH;
import static org.netvm.xenstore.wire.MessageType.WRITE;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.netvm.xenstore.wire.Message;
import org.netvm.xenstore.wire.MessageType;

/**
 * Hostile clients against the embedded xenstored over real sockets, and (where the behaviour is
 * defined for a dom0 socket client) the same attack against the real C xenstored of the test harness,
 * which must give the same answer. After every attack the server must still serve another connection
 * and still hold every value committed before the attack.
 */
class HostileInputTest {

    @TempDir
    static Path tmp;
    static EmbeddedXenstored embedded;
    static Path cSocket;
    static long cPid = -1;
    static final AtomicInteger probes = new AtomicInteger();
    /** What was committed before any attack, per server: path to value. */
    static final Map<String, Map<String, String>> committed = new LinkedHashMap<>();

    @BeforeAll
    static void start() throws Exception {
        embedded = EmbeddedXenstored.start(tmp.resolve("embedded/socket"),
                Options.defaults().withDomainSocketDir(tmp.resolve("embedded/domains")));
        commitBaseline(embedded.socketPath());
        Path harness = Harness.dir();
        if (harness != null && Harness.executable("/usr/bin/xenstore-read")) {
            Path sock = tmp.resolve("c/socket");
            Harness.Result r = Harness.run(List.of(harness.resolve("start-xenstored.sh").toString(), sock.toString()), Map.of(), 120);
            if (r.exit() == 0) {
                String[] lines = r.output().strip().split("\n");
                cPid = Long.parseLong(lines[lines.length - 1].strip());
                cSocket = sock;
                commitBaseline(cSocket);
            }
        }
    }

    @AfterAll
    static void stop() {
        embedded.close();
        if (cPid > 0) {
            ProcessHandle.of(cPid).ifPresent(ProcessHandle::destroy);
        }
    }

    /** Plain writes and one committed transaction, the data no attack may lose. */
    static void commitBaseline(Path socket) throws Exception {
        Map<String, String> values = new LinkedHashMap<>();
        try (RawClient c = new RawClient(socket)) {
            for (int i = 0; i < 20; i++) {
                String path = "/hostile/committed/k" + i;
                assertEquals("OK", c.req(WRITE, path + "\0v" + i));
                values.put(path, "v" + i);
            }
            String tx = c.req(TRANSACTION_START, "\0").replace("|", "");
            int id = Integer.parseInt(tx);
            assertEquals("OK", c.req(WRITE, id, "/hostile/committed/tx\0in-a-transaction"));
            assertEquals("OK", c.req(TRANSACTION_END, id, "T\0"));
            values.put("/hostile/committed/tx", "in-a-transaction");
        }
        committed.put(socket.toString(), values);
    }

    static Stream<String> servers() {
        return Stream.of("embedded", "c");
    }

    static Path socket(String server) {
        if (server.equals("c")) {
            assumeTrue(cSocket != null, "C xenstored of tests/harness/xenstored not available");
            return cSocket;
        }
        return embedded.socketPath();
    }

    /** A new connection reads back every committed value, and writes and reads a new one. */
    static void assertServesOthersAndKeepsData(Path socket) throws Exception {
        try (RawClient c = new RawClient(socket)) {
            for (Map.Entry<String, String> e : committed.get(socket.toString()).entrySet()) {
                assertEquals(e.getValue(), c.req(READ, e.getKey() + "\0"), e.getKey());
            }
            String probe = "/hostile/probe/p" + probes.incrementAndGet();
            assertEquals("OK", c.req(WRITE, probe + "\0alive"));
            assertEquals("alive", c.req(READ, probe + "\0"));
        }
    }

    static ByteBuffer header(int type, int req, int tx, int len) {
        return ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putInt(type).putInt(req).putInt(tx).putInt(len).flip();
    }

    static SocketChannel raw(Path socket) throws IOException {
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        ch.connect(UnixDomainSocketAddress.of(socket));
        return ch;
    }

    static String reqRaw(RawClient c, int type, int tx, byte[] payload) throws Exception {
        List<Message> all = c.call(type, tx, payload);
        Message last = all.get(all.size() - 1);
        return last.type() == -1 ? "EOF" : RawClient.render(last);
    }

    // ------------------------------------------------------------------ malformed frames

    @ParameterizedTest
    @MethodSource("servers")
    void truncatedHeaderOrPayloadThenHangUp(String server) throws Exception {
        Path socket = socket(server);
        for (int cut : new int[] {1, 7, 15, 16, 18}) {
            try (SocketChannel ch = raw(socket)) {
                ByteBuffer whole = ByteBuffer.allocate(16 + 8).order(ByteOrder.LITTLE_ENDIAN)
                        .put(header(WRITE.code(), 1, 0, 8)).put("/h/t\0abc".getBytes(StandardCharsets.ISO_8859_1)).flip();
                ch.write(whole.limit(cut));
            }
        }
        assertServesOthersAndKeepsData(socket);
        try (RawClient c = new RawClient(socket)) {
            assertEquals("ENOENT", c.req(READ, "/h/t\0"), "a truncated WRITE must not be carried out");
        }
    }

    @ParameterizedTest
    @MethodSource("servers")
    void aClientStalledInTheMiddleOfAFrameDoesNotBlockOthers(String server) throws Exception {
        Path socket = socket(server);
        try (SocketChannel ch = raw(socket)) {
            byte[] payload = "/hostile/stalled\0late".getBytes(StandardCharsets.ISO_8859_1);
            ByteBuffer frame = ByteBuffer.allocate(16 + payload.length).order(ByteOrder.LITTLE_ENDIAN)
                    .put(header(WRITE.code(), 42, 0, payload.length)).put(payload).flip();
            ch.write(frame.limit(9));
            assertServesOthersAndKeepsData(socket);
            ch.write(frame.limit(20));
            assertServesOthersAndKeepsData(socket);
            ch.write(frame.limit(frame.capacity()));
            ByteBuffer reply = ByteBuffer.allocate(19);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (reply.hasRemaining() && System.nanoTime() < deadline) {
                if (ch.read(reply) < 0) {
                    break;
                }
            }
            reply.flip();
            Message m = Message.decode(reply);
            assertEquals(WRITE.code(), m.type());
            assertEquals(42, m.requestId());
        }
        try (RawClient c = new RawClient(socket)) {
            assertEquals("late", c.req(READ, "/hostile/stalled\0"));
        }
    }

    @ParameterizedTest
    @MethodSource("servers")
    void headerAnnouncingMoreThan4096BytesClosesOnlyThatConnection(String server) throws Exception {
        Path socket = socket(server);
        try (RawClient bystander = new RawClient(socket)) {
            assertEquals("OK", bystander.req(WATCH, "/hostile/bystander\0b\0"));
            List<ByteBuffer> attacks = new ArrayList<>();
            for (int len : new int[] {4097, 65536, Integer.MAX_VALUE, -1}) {
                attacks.add(header(READ.code(), 1, 0, len));
            }
            // someone points an HTTP client at the socket: bytes 12..15 "1\r\nH" announce ~1.2 GB
            attacks.add(ByteBuffer.wrap("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1)));
            for (ByteBuffer attack : attacks) {
                try (RawClient evil = new RawClient(socket)) {
                    evil.sendRaw(attack);
                    assertTrue(evil.closedWithin(5000), server + " must close a connection announcing " + attack);
                }
            }
            assertEquals("OK", bystander.req(WRITE, "/hostile/bystander\0still-here"));
            assertFalse(bystander.closedWithin(100));
        }
        assertServesOthersAndKeepsData(socket);
    }

    @ParameterizedTest
    @MethodSource("servers")
    void fieldsWithoutTheirNulAreEinval(String server) throws Exception {
        Path socket = socket(server);
        Object[][] cases = {
            {READ, "/tool"}, {READ, ""}, {READ, "/tool\0x\0"}, {READ, "\0\0"},
            {WRITE, "/hostile/nonul"}, {WRITE, ""}, {WRITE, "\0v"},
            {MessageType.MKDIR, "/hostile/m"}, {MessageType.RM, "/hostile/committed"},
            {DIRECTORY, "/"}, {MessageType.GET_PERMS, "/"},
            {SET_PERMS, "/hostile\0n0"}, {SET_PERMS, "/hostile\0"},
            {WATCH, "/hostile\0tok"}, {WATCH, "/hostile\0"}, {WATCH, ""}, {MessageType.UNWATCH, "/x\0tok"},
            {TRANSACTION_END, "T"}, {TRANSACTION_END, ""},
            {MessageType.GET_DOMAIN_PATH, "1"}, {MessageType.IS_DOMAIN_INTRODUCED, "1"},
            {MessageType.DIRECTORY_PART, "/\0"}, {MessageType.CONTROL, ""},
            {MessageType.RELEASE, "x\0"}, {MessageType.INTRODUCE, "x\0y\0z\0"},
        };
        try (RawClient c = new RawClient(socket)) {
            List<String> wrong = new ArrayList<>();
            for (Object[] k : cases) {
                MessageType type = (MessageType) k[0];
                String got = c.req(type, (String) k[1]);
                // C's onearg() failures leave errno as it was: C answers with a stale error name there
                boolean stale = server.equals("c") && java.util.EnumSet.of(READ, DIRECTORY, MessageType.GET_PERMS,
                        MessageType.MKDIR, MessageType.RM).contains(type);
                if (stale ? !got.matches("E[A-Z0-9]+") : !got.equals("EINVAL")) {
                    wrong.add(k[0] + " " + ((String) k[1]).replace('\0', '|') + " -> " + got);
                }
            }
            assertEquals(List.of(), wrong);
            assertEquals("ENOENT", c.req(READ, "/hostile/nonul\0"));
        }
        assertServesOthersAndKeepsData(socket);
    }

    @ParameterizedTest
    @MethodSource("servers")
    void badPathsAreEinvalAndCreateNothing(String server) throws Exception {
        Path socket = socket(server);
        String at2048 = "/" + "a".repeat(2047);
        String[] bad = {"/hostile//x", "/hostile/x/", "//", "/hostile/a b", "/hostile/a.b", "/hostile/\u00e9",
            "/hostile/a\tb", "/hostile/a:b", "@foo", "hostile/" + "r".repeat(3000), "/" + "a".repeat(2100), at2048 + "b"};
        try (RawClient c = new RawClient(socket)) {
            List<String> wrong = new ArrayList<>();
            for (String p : bad) {
                for (String[] req : new String[][] {{"READ", p + "\0"}, {"WRITE", p + "\0v"}, {"MKDIR", p + "\0"},
                        {"RM", p + "\0"}, {"GET_PERMS", p + "\0"}, {"SET_PERMS", p + "\0n0\0"}}) {
                    String got = c.req(MessageType.valueOf(req[0]), req[1]);
                    if (!got.equals("EINVAL")) {
                        wrong.add(req[0] + " " + p.substring(0, Math.min(p.length(), 30)) + " -> " + got);
                    }
                }
            }
            for (String p : new String[] {"/hostile//w", "/hostile/w/", "/hostile/w w"}) {
                String got = c.req(WATCH, p + "\0t\0");
                if (!got.equals("EINVAL")) {
                    wrong.add("WATCH " + p + " -> " + got);
                }
            }
            assertEquals(List.of(), wrong);
            // the longest valid path is fine
            assertEquals("OK", c.req(WRITE, at2048 + "\0edge"));
            assertEquals("edge", c.req(READ, at2048 + "\0"));
            assertEquals("OK", c.req(MessageType.RM, at2048 + "\0"));
            for (String stray : new String[] {"x", "a b", "a.b", "\u00e9", "a\tb", "a:b", "w", "w w"}) {
                assertFalse(Arrays.asList(c.req(DIRECTORY, "/hostile\0").split("\\|")).contains(stray), stray);
            }
            assertFalse(c.req(DIRECTORY, "/\0").contains("aaaa"), "no over-long node at the root");
            assertEquals("ENOENT", c.req(READ, "hostile\0"), "no relative node");
        }
        assertServesOthersAndKeepsData(socket);
    }

    @ParameterizedTest
    @MethodSource("servers")
    void unknownAndReplyOnlyTypesAreEnosys(String server) throws Exception {
        Path socket = socket(server);
        try (RawClient c = new RawClient(socket)) {
            for (int type : new int[] {20, 23, 24, 99, 0x7FFFFFFF, -1, MessageType.WATCH_EVENT.code(), MessageType.ERROR.code()}) {
                assertEquals("ENOSYS", reqRaw(c, type, 0, "/hostile/committed/k1\0x\0".getBytes(StandardCharsets.ISO_8859_1)),
                        "type " + type);
                assertEquals("ENOSYS", reqRaw(c, type, 77, new byte[0]), "type " + type + " with a tx id");
            }
            assertEquals("v1", c.req(READ, "/hostile/committed/k1\0"));
        }
        assertServesOthersAndKeepsData(socket);
    }

    @ParameterizedTest
    @MethodSource("servers")
    void unknownTransactionIdsAreEnoentAndWriteNothing(String server) throws Exception {
        Path socket = socket(server);
        try (RawClient c = new RawClient(socket)) {
            for (int tx : new int[] {12345, -1, 0x7FFFFFFF}) {
                assertEquals("ENOENT", c.req(WRITE, tx, "/hostile/committed/k2\0overwritten"));
                assertEquals("ENOENT", c.req(MessageType.RM, tx, "/hostile/committed/k3\0"));
                assertEquals("ENOENT", c.req(TRANSACTION_END, tx, "T\0"));
            }
        }
        assertServesOthersAndKeepsData(socket);
    }

    // ------------------------------------------------------------------ oversized payloads

    @ParameterizedTest
    @MethodSource("servers")
    void payloadsAtAndOverTheLimit(String server) throws Exception {
        Path socket = socket(server);
        try (RawClient c = new RawClient(socket)) {
            String path = "/hostile/huge/v";
            byte[] value = new byte[Message.MAX_PAYLOAD - path.length() - 1];
            Arrays.fill(value, (byte) 'x');
            assertEquals("OK", RawClient.render(last(c.call(WRITE.code(), 0, Message.pathAndValue(path, value)))));
            assertEquals(new String(value, StandardCharsets.ISO_8859_1), c.req(READ, path + "\0"));
            // a listing over 4096 bytes cannot be sent in one reply
            for (int i = 0; i < 40; i++) {
                assertEquals("OK", c.req(MessageType.MKDIR, "/hostile/huge/" + "n".repeat(120) + i + "\0"));
            }
            assertEquals("E2BIG", c.req(DIRECTORY, "/hostile/huge\0"));
            // a watch event over 4096 bytes is not sent (the watch itself is registered)
            String deep = "/hostile/huge/" + "d".repeat(2000);
            String token = "t".repeat(2060);
            assertEquals("OK", c.req(WATCH, deep + "\0" + token + "\0"));
            assertEquals(List.of(deep + " " + token), c.events(1, 2000), "the initial event fits");
            String child = deep + "/" + "c".repeat(30); // event: 2045 + 2060 + 2 bytes
            List<Message> got = c.call(WRITE.code(), 0, Message.pathAndValue(child, new byte[] {'x'}));
            assertEquals(List.of("OK"), got.stream().map(RawClient::render).toList(), "no event, no error for the event");
            assertEquals(List.of(), c.events(0, 300));
            assertEquals("OK", c.req(MessageType.RM, "/hostile/huge\0"));
        }
        assertServesOthersAndKeepsData(socket);
    }

    private static Message last(List<Message> l) {
        return l.get(l.size() - 1);
    }

    // ------------------------------------------------------------------ transactions

    @ParameterizedTest
    @MethodSource("servers")
    void aClientThatDisconnectsInTheMiddleOfATransactionLeavesNoTrace(String server) throws Exception {
        Path socket = socket(server);
        String base = "/hostile/tx/" + server;
        try (RawClient other = new RawClient(socket); RawClient watcher = new RawClient(socket)) {
            assertEquals("OK", other.req(WRITE, base + "/shared\0before"));
            assertEquals("OK", watcher.req(WATCH, base + "\0w\0"));
            watcher.events(1, 1000);
            RawClient quitter = new RawClient(socket);
            int tx = Integer.parseInt(quitter.req(TRANSACTION_START, "\0").replace("|", ""));
            assertEquals("OK", quitter.req(WRITE, tx, base + "/partial-a\0" + "a"));
            assertEquals("OK", quitter.req(WRITE, tx, base + "/shared\0from-quitter"));
            assertEquals("OK", quitter.req(MessageType.RM, tx, "/hostile/committed/k4\0"));
            assertEquals("OK", quitter.req(WRITE, tx, "/hostile/committed/k5\0clobbered"));
            // the other client's transaction on the same node commits while the quitter's is open
            int otx = Integer.parseInt(other.req(TRANSACTION_START, "\0").replace("|", ""));
            assertEquals("before", other.req(READ, otx, base + "/shared\0"));
            assertEquals("OK", other.req(WRITE, otx, base + "/shared\0from-other"));
            assertEquals("OK", other.req(TRANSACTION_END, otx, "T\0"));
            quitter.close(); // gone without TRANSACTION_END
            Thread.sleep(200);
            assertEquals("from-other", other.req(READ, base + "/shared\0"));
            assertEquals("ENOENT", other.req(READ, base + "/partial-a\0"));
            assertEquals(List.of(base + "/shared w"), watcher.events(1, 1000), "only the committed change fires");
            // the quitter's transaction id means nothing to another connection
            assertEquals("ENOENT", other.req(WRITE, tx, base + "/partial-b\0b"));
        }
        assertServesOthersAndKeepsData(socket);
    }

    // ------------------------------------------------------------------ floods (embedded only: a dom0
    // socket client has no quotas, in C as here; the C daemon has no per-connection output limit)

    @Test
    void aGuestFloodingWatchesGetsE2bigAndOthersKeepTheirLatency() throws Exception {
        int domid = 11;
        Path socket = embedded.socketPath();
        try (RawClient dom0 = new RawClient(socket)) {
            assertEquals("OK", dom0.req(WRITE, "/local/domain/" + domid + "/name\0flooder"));
            assertEquals("OK", dom0.req(SET_PERMS, "/local/domain/" + domid + "\0n" + domid + "\0"));
            assertEquals("OK", dom0.req(SET_PERMS, "/local/domain/" + domid + "/name\0n" + domid + "\0"));
            assertTrue(embedded.introduce(domid));
            long before = medianReadWriteMicros(dom0, "/hostile/flood/before", 300);
            int quota = Quotas.DEFAULTS.maxWatches();
            try (RawClient guest = new RawClient(embedded.domainSocketPath(domid))) {
                int accepted = 0;
                String last = "";
                for (int i = 0; i < quota + 10; i++) {
                    last = guest.req(WATCH, "w" + i + "\0t" + i + "\0");
                    if (last.equals("OK")) {
                        accepted++;
                    } else {
                        break;
                    }
                }
                assertEquals("E2BIG", last);
                assertEquals(quota + 1, accepted, "like C, one watch more than the quota is accepted");
                // a second connection of the same domain shares the quota
                try (RawClient guest2 = new RawClient(embedded.domainSocketPath(domid))) {
                    assertEquals("E2BIG", guest2.req(WATCH, "other\0t\0"));
                }
                // keep hammering with pipelined watch requests
                Thread hammer = Thread.ofVirtual().start(() -> {
                    try {
                        for (int i = 0; i < 20000; i++) {
                            guest.send(WATCH.code(), 0, Message.strings("x" + i, "t"));
                        }
                    } catch (IOException e) {
                        // dropped
                    }
                });
                long during = medianReadWriteMicros(dom0, "/hostile/flood/during", 300);
                hammer.join(30000);
                System.out.printf("HostileInputTest: median dom0 write+read %d us before, %d us during a watch flood%n", before, during);
                assertTrue(during < Math.max(20 * before, 20000), "median " + during + " us during the flood vs " + before + " before");
                // the guest's own connection still works and its registered watches still fire
                assertEquals("flooder", guest.req(READ, "name\0"));
                guest.events(0, 0);
                assertEquals("OK", dom0.req(WRITE, "/local/domain/" + domid + "/w0\0x"));
                assertEquals(List.of("w0 t0"), guest.events(1, 2000));
            } finally {
                embedded.release(domid);
            }
        }
        assertServesOthersAndKeepsData(socket);
    }

    private static long medianReadWriteMicros(RawClient c, String path, int n) throws Exception {
        long[] t = new long[n];
        for (int i = 0; i < n; i++) {
            long s = System.nanoTime();
            assertEquals("OK", c.req(WRITE, path + "\0" + i));
            assertEquals(Integer.toString(i), c.req(READ, path + "\0"));
            t[i] = (System.nanoTime() - s) / 1000;
        }
        Arrays.sort(t);
        return t[n / 2];
    }

    @Test
    void aClientThatNeverReadsIsDroppedAtTheQueueLimitAndOthersAreServed() throws Exception {
        Path socket = embedded.socketPath();
        String path = "/hostile/flood/big";
        byte[] value = new byte[4000];
        Arrays.fill(value, (byte) 'b');
        try (RawClient dom0 = new RawClient(socket)) {
            assertEquals("OK", RawClient.render(last(dom0.call(WRITE.code(), 0, Message.pathAndValue(path, value)))));
            long before = medianReadWriteMicros(dom0, "/hostile/flood/n", 200);
            // replies worth 4 times the server's queue limit, never read
            int requests = 4 * SocketConnection.MAX_QUEUED_BYTES / (Message.HEADER_SIZE + value.length);
            try (SocketChannel sleeper = raw(socket)) {
                byte[] req = Message.strings(path);
                Thread sender = Thread.ofVirtual().start(() -> {
                    try {
                        for (int i = 0; i < requests; i++) {
                            ByteBuffer b = new Message(READ, i + 1, 0, req).encode();
                            while (b.hasRemaining()) {
                                sleeper.write(b);
                            }
                        }
                    } catch (IOException e) {
                        // the server dropped us: expected
                    }
                });
                long during = medianReadWriteMicros(dom0, "/hostile/flood/n", 200);
                sender.join(30000);
                assertFalse(sender.isAlive(), "the server neither read nor dropped the client");
                // what the server had written before dropping us is still in the socket; then EOF
                int replies = drainReplies(sleeper, 10000);
                System.out.printf("HostileInputTest: non-reading client dropped (%d of %d replies readable before EOF/reset); "
                        + "median dom0 write+read %d us before, %d us during%n", replies, requests, before, during);
                assertTrue(replies < requests, "dropped before all " + requests + " replies were queued: " + replies);
                assertTrue(during < Math.max(20 * before, 20000), "median " + during + " us vs " + before + " before");
            }
        }
        assertServesOthersAndKeepsData(socket);
    }

    /** Reads whole replies until EOF (fails if none comes within the time), returns how many. */
    private static int drainReplies(SocketChannel ch, long millis) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        ch.configureBlocking(false);
        ByteBuffer buf = ByteBuffer.allocate(1 << 16);
        long bytes = 0;
        while (System.nanoTime() < deadline) {
            int n;
            try {
                n = ch.read(buf.clear());
            } catch (IOException e) {
                n = -1; // reset by peer counts as closed
            }
            if (n < 0) {
                return (int) (bytes / (Message.HEADER_SIZE + 4000));
            }
            bytes += n;
            if (n == 0) {
                Thread.sleep(5);
            }
        }
        fail("the server did not close a client that never reads");
        return -1;
    }

    // ------------------------------------------------------------------ garbage

    @ParameterizedTest
    @MethodSource("servers")
    void randomGarbageStreams(String server) throws Exception {
        Path socket = socket(server);
        long seed = 20261127L;
        Random r = new Random(seed);
        for (int round = 0; round < 30; round++) {
            byte[] junk = new byte[1 + r.nextInt(5000)];
            r.nextBytes(junk);
            if (round % 2 == 0) {
                // plausible header, random body: more of it reaches the request logic
                ByteBuffer.wrap(junk).order(ByteOrder.LITTLE_ENDIAN).putInt(0, r.nextInt(24));
                if (junk.length >= 16) {
                    ByteBuffer.wrap(junk).order(ByteOrder.LITTLE_ENDIAN).putInt(12, Math.min(junk.length - 16, r.nextInt(4097)));
                }
            }
            try (RawClient evil = new RawClient(socket)) {
                evil.sendRaw(ByteBuffer.wrap(junk));
                evil.sendRaw(header(READ.code(), 1, 0, 0)); // something that may complete a frame
            } catch (IOException e) {
                // the server closed this connection (a header announcing over 4096 bytes): allowed
            }
        }
        assertServesOthersAndKeepsData(socket);
    }
}
