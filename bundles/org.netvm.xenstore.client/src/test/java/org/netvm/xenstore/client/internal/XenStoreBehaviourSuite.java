package org.netvm.xenstore.client.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.netvm.xenstore.Permission;
import org.netvm.xenstore.Transaction;
import org.netvm.xenstore.Watch;
import org.netvm.xenstore.WatchListener;
import org.netvm.xenstore.XenStoreError;
import org.netvm.xenstore.XenStoreException;
import org.netvm.xenstore.wire.Message;
import org.netvm.xenstore.wire.MessageType;

/**
 * What a XenStore user relies on, checked through {@link XenStoreClient} against a running daemon on
 * a Unix socket. A subclass starts and stops one daemon: C xenstored, oxenstored, netvm's embedded
 * server. Where the reference daemons disagree the difference is a hook with the C daemon's behaviour
 * as default (a server should follow the C daemon).
 *
 * <p>One daemon serves the whole class (started in {@code @BeforeAll}; the class is skipped when it
 * cannot be started); every test works below its own {@code /netvmtest/<test>} node. The reconnect test
 * restarts the daemon and runs last.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
public abstract class XenStoreBehaviourSuite {

    protected static final ClientOptions OPTIONS = new ClientOptions(Duration.ofMillis(20), Duration.ofMillis(200), Duration.ofSeconds(10));
    private static final long EVENT_WAIT_MS = 5000;

    private Path dir;
    private Path socket;
    private XenStoreClient xs;
    private String base;

    /** Starts the daemon listening on {@code socket} (an absent path in a fresh folder); returns once it answers. */
    protected abstract void startServer(Path socket) throws Exception;

    /** Stops the daemon started last and waits until it is gone. */
    protected abstract void stopServer() throws Exception;

    /**
     * What the daemon answers for a transaction id it does not know (here: one already committed). The C
     * daemon says ENOENT, oxenstored EIO.
     */
    protected Set<XenStoreError> unknownTransactionErrors() {
        return Set.of(XenStoreError.ENOENT);
    }

    @BeforeAll
    void startDaemon() throws Exception {
        dir = Files.createTempDirectory("netvm-xs-");
        socket = dir.resolve("socket");
        try {
            startServer(socket);
        } catch (Exception e) {
            deleteDir();
            Assumptions.abort("cannot start the daemon: " + e.getMessage());
        }
        xs = XenStoreClient.connect(new UnixSocketTransport(socket), OPTIONS);
    }

    @AfterAll
    void stopDaemon() throws Exception {
        if (xs != null) {
            xs.close();
        }
        try {
            stopServer();
        } finally {
            deleteDir();
        }
    }

    private void deleteDir() throws IOException {
        if (dir == null) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    @BeforeEach
    void base(TestInfo info) throws Exception {
        assertTrue(xs.awaitConnected(Duration.ofSeconds(10)), "connected");
        base = "/netvmtest/" + info.getTestMethod().orElseThrow().getName();
    }

    /** The client the tests use (subclasses may add their own tests). */
    protected XenStoreClient client() {
        return xs;
    }

    protected Path socket() {
        return socket;
    }

    /** Records events; {@link #RESYNC} marks a resync. */
    protected static final class Events implements WatchListener {
        static final String RESYNC = "<resync>";
        final BlockingQueue<String> queue = new LinkedBlockingQueue<>();

        @Override
        public void changed(String path) {
            queue.add(path);
        }

        @Override
        public void resync() {
            queue.add(RESYNC);
        }

        /** Waits for {@code expected}, skipping other events; returns those skipped. */
        List<String> await(String expected) throws InterruptedException {
            List<String> skipped = new ArrayList<>();
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(EVENT_WAIT_MS);
            while (true) {
                String e = queue.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                if (e == null) {
                    fail("no event " + expected + " (got " + skipped + ")");
                }
                if (e.equals(expected)) {
                    return skipped;
                }
                skipped.add(e);
            }
        }
    }

    private static XenStoreError error(org.junit.jupiter.api.function.Executable call) {
        return assertThrows(XenStoreException.class, call).error();
    }

    private static List<String> sorted(List<String> l) {
        return l.stream().sorted().toList();
    }

    // ------------------------------------------------------------------ nodes

    @Test
    void writeThenRead() throws Exception {
        xs.write(base + "/a", "hello world");
        assertEquals("hello world", xs.read(base + "/a"));
        xs.write(base + "/a", "");
        assertEquals("", xs.read(base + "/a"));
        xs.write(base + "/u", "grüße \u2603");
        assertEquals("grüße \u2603", xs.read(base + "/u"));
    }

    @Test
    void readOfMissingNodeIsEnoent() throws Exception {
        XenStoreException e = assertThrows(XenStoreException.class, () -> xs.read(base + "/missing"));
        assertEquals(XenStoreError.ENOENT, e.error());
        assertEquals(base + "/missing", e.path());
        assertTrue(xs.readIfExists(base + "/missing").isEmpty());
    }

    @Test
    void directoryListsChildNames() throws Exception {
        xs.write(base + "/a", "1");
        xs.write(base + "/b", "2");
        xs.write(base + "/c/d", "3");
        assertEquals(List.of("a", "b", "c"), sorted(xs.directory(base)));
        assertEquals(List.of(), xs.directory(base + "/a"));
        assertEquals(XenStoreError.ENOENT, error(() -> xs.directory(base + "/nope")));
    }

    @Test
    void directoryLargerThanOnePayload() throws Exception {
        // C xenstored answers DIRECTORY with E2BIG here (the client then uses DIRECTORY_PART),
        // oxenstored sends one oversized reply
        List<String> names = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            names.add(String.format("child-with-a-rather-long-name-%03d", i));
        }
        int bytes = names.stream().mapToInt(n -> n.length() + 1).sum();
        assertTrue(bytes > Message.MAX_PAYLOAD);
        xs.inTransaction(5, tx -> {
            for (String n : names) {
                tx.write(base + "/" + n, "x");
            }
            return null;
        });
        assertEquals(names, sorted(xs.directory(base)));
    }

    @Test
    void readAllAndDirectoryAllKeepTheOrderAcrossMoreThanOneWindow() throws Exception {
        int n = XenStoreClient.PIPELINE_WINDOW * 3 + 5;
        List<String> paths = new ArrayList<>();
        List<java.util.Optional<String>> expected = new ArrayList<>();
        List<java.util.Optional<List<String>>> listings = new ArrayList<>();
        xs.inTransaction(5, tx -> {
            for (int i = 0; i < n; i++) {
                if (i % 3 != 0) {
                    tx.write(base + "/n" + i + "/c", "v" + i);
                }
            }
            return null;
        });
        for (int i = 0; i < n; i++) {
            paths.add(base + "/n" + i);
            expected.add(i % 3 == 0 ? java.util.Optional.empty() : java.util.Optional.of(""));
            listings.add(i % 3 == 0 ? java.util.Optional.empty() : java.util.Optional.of(List.of("c")));
        }
        assertEquals(expected, xs.readAll(paths));
        assertEquals(listings, xs.directoryAll(paths));
        List<String> values = paths.stream().map(p -> p + "/c").toList();
        List<java.util.Optional<String>> got = xs.readAll(values);
        for (int i = 0; i < n; i++) {
            assertEquals(i % 3 == 0 ? java.util.Optional.empty() : java.util.Optional.of("v" + i), got.get(i));
        }
        assertEquals(List.of(), xs.readAll(List.of()));
        xs.write(base + "/after", "still answers");
        assertEquals("still answers", xs.read(base + "/after"), "nothing left in flight");
    }

    @Test
    void readAllFailsWholeOnAnErrorOtherThanEnoent() throws Exception {
        xs.write(base + "/ok", "1");
        XenStoreException e = assertThrows(XenStoreException.class,
                () -> xs.readAll(List.of(base + "/ok", "bad//path", base + "/ok")));
        assertEquals(XenStoreError.EINVAL, e.error());
        assertEquals("1", xs.read(base + "/ok"));
    }

    @Test
    void mkdirCreatesAnEmptyNodeAndAcceptsAnExistingOne() throws Exception {
        xs.mkdir(base + "/m/n");
        assertEquals("", xs.read(base + "/m/n"));
        assertEquals(List.of(), xs.directory(base + "/m/n"));
        xs.write(base + "/m/n", "kept");
        xs.mkdir(base + "/m/n");
        assertEquals("kept", xs.read(base + "/m/n"));
    }

    @Test
    void rmRemovesTheSubtree() throws Exception {
        xs.write(base + "/r/a/b", "1");
        xs.write(base + "/r/c", "2");
        xs.write(base + "/keep", "3");
        xs.rm(base + "/r");
        assertEquals(XenStoreError.ENOENT, error(() -> xs.read(base + "/r")));
        assertEquals(XenStoreError.ENOENT, error(() -> xs.read(base + "/r/a/b")));
        assertEquals(List.of("keep"), xs.directory(base));
        // both daemons: removing a missing child of an existing node is fine, below a missing parent not
        xs.rm(base + "/r");
        assertEquals(XenStoreError.ENOENT, error(() -> xs.rm(base + "/r/a/b")));
    }

    @Test
    void relativePathsResolveUnderTheDom0Home() throws Exception {
        assertEquals("/local/domain/0", xs.domainPath(0));
        assertEquals("/local/domain/7", xs.domainPath(7));
        String name = "netvmtest-rel-" + ThreadLocalRandom.current().nextInt(1_000_000);
        xs.write(name + "/x", "42");
        try {
            assertEquals("42", xs.read("/local/domain/0/" + name + "/x"));
            assertEquals("42", xs.read(name + "/x"));
            assertEquals(List.of("x"), xs.directory(name));
        } finally {
            xs.rm(name);
        }
    }

    @Test
    void permissionsRoundTrip() throws Exception {
        String p = base + "/p";
        xs.write(p, "v");
        assertEquals(0, xs.getPermissions(p).get(0).domid(), "dom0 owns what it creates");
        List<Permission> perms = List.of(Permission.parse("n0"), Permission.parse("r5"), Permission.parse("b7"));
        xs.setPermissions(p, perms);
        assertEquals(perms, xs.getPermissions(p));
        xs.setPermissions(p, List.of(Permission.parse("b3")));
        assertEquals(List.of(new Permission(3, Permission.Access.BOTH)), xs.getPermissions(p));
        assertEquals(XenStoreError.ENOENT, error(() -> xs.getPermissions(base + "/none")));
    }

    /**
     * The longest value (in bytes) the daemon stores at {@code path} for a socket client: the C daemon
     * takes whatever fits in one request (dom0 has no quota); oxenstored applies its entry-size quota
     * (2048) to socket clients too.
     */
    protected int largestValue(String path) {
        return Message.MAX_PAYLOAD - path.getBytes(java.nio.charset.StandardCharsets.UTF_8).length - 1;
    }

    @Test
    void largestValueRoundTrips() throws Exception {
        String p = base + "/big";
        int max = largestValue(p);
        String value = "v".repeat(max);
        xs.write(p, value);
        assertEquals(value, xs.read(p));
        if (max < Message.MAX_PAYLOAD - p.length() - 1) {
            assertEquals(XenStoreError.E2BIG, error(() -> xs.write(p, value + "v")), "the daemon's limit");
            assertEquals(value, xs.read(p));
        }
    }

    @Test
    void overlongValueIsRejectedBeforeSending() throws Exception {
        String p = base + "/toobig";
        String value = "v".repeat(Message.MAX_PAYLOAD - p.length());
        assertEquals(XenStoreError.E2BIG, error(() -> xs.write(p, value)));
        assertEquals(XenStoreError.EINVAL, error(() -> xs.write(base + "/nul\0x", "v")));
        assertEquals(XenStoreError.ENOENT, error(() -> xs.read(p)));
        assertTrue(xs.isConnected());
    }

    // ------------------------------------------------------------------ transactions

    @Test
    void transactionCommitAppliesAllWritesAtOnce() throws Exception {
        Transaction tx = xs.transaction();
        tx.write(base + "/a", "1");
        tx.write(base + "/b", "2");
        assertEquals("1", tx.read(base + "/a"));
        assertTrue(xs.readIfExists(base + "/a").isEmpty(), "invisible outside before commit");
        tx.commit();
        assertEquals("1", xs.read(base + "/a"));
        assertEquals("2", xs.read(base + "/b"));
    }

    @Test
    void conflictingTransactionFailsWithEagainOnCommit() throws Exception {
        String p = base + "/c";
        xs.write(p, "0");
        Transaction tx = xs.transaction();
        assertEquals("0", tx.read(p));
        tx.write(p, "from tx");
        xs.write(p, "from outside");
        XenStoreException e = assertThrows(XenStoreException.class, tx::commit);
        assertEquals(XenStoreError.EAGAIN, e.error());
        assertEquals("from outside", xs.read(p));
    }

    @Test
    void inTransactionRetriesAConflict() throws Exception {
        String p = base + "/counter";
        xs.write(p, "0");
        int[] runs = {0};
        int result = xs.inTransaction(5, tx -> {
            int v = Integer.parseInt(tx.read(p));
            if (runs[0]++ == 0) {
                xs.write(p, "10"); // a concurrent writer, once
            }
            tx.write(p, Integer.toString(v + 1));
            return v + 1;
        });
        assertEquals(2, runs[0]);
        assertEquals(11, result);
        assertEquals("11", xs.read(p));
    }

    @Test
    void abortDiscardsWrites() throws Exception {
        try (Transaction tx = xs.transaction()) {
            tx.write(base + "/gone", "x");
        }
        assertEquals(XenStoreError.ENOENT, error(() -> xs.read(base + "/gone")));
    }

    @Test
    void endedTransactionIsUnknownToTheDaemon() throws Exception {
        xs.write(base + "/x", "1");
        Transaction tx = xs.transaction();
        tx.commit();
        XenStoreError e = error(() -> tx.read(base + "/x"));
        assertTrue(unknownTransactionErrors().contains(e), "got " + e);
    }

    // ------------------------------------------------------------------ watches

    @Test
    void watchGetsInitialEventChildChangesAndRemoval() throws Exception {
        String p = base + "/w";
        Events ev = new Events();
        try (Watch w = xs.watch(p, ev)) {
            assertEquals(p, w.path());
            assertEquals(List.of(), ev.await(p), "initial event first");
            xs.write(p + "/x", "1");
            ev.await(p + "/x");
            xs.write(p + "/x/y", "2");
            ev.await(p + "/x/y");
            xs.write(base + "/sibling", "3");
            xs.rm(p);
            List<String> skipped = ev.await(p);
            assertFalse(skipped.contains(base + "/sibling"), "no events outside the watched subtree");
        }
    }

    @Test
    void closedWatchGetsNoMoreEvents() throws Exception {
        String p = base + "/u";
        Events first = new Events();
        Watch w = xs.watch(p, first);
        first.await(p);
        w.close();
        Events second = new Events();
        try (Watch w2 = xs.watch(p, second)) {
            second.await(p);
            xs.write(p + "/after", "1");
            second.await(p + "/after");
            // events are dispatched in order: had the first watch still been there, its event came first
            assertTrue(first.queue.isEmpty(), "events after close: " + first.queue);
        }
    }

    @Test
    void twoWatchesOnOnePathBothFire() throws Exception {
        String p = base + "/two";
        Events a = new Events();
        Events b = new Events();
        try (Watch wa = xs.watch(p, a); Watch wb = xs.watch(p, b)) {
            a.await(p);
            b.await(p);
            xs.write(p, "1");
            a.await(p);
            b.await(p);
        }
    }

    @Test
    void introduceAndReleaseDomainFireTheirSpecialWatches() throws Exception {
        int domid = 100 + ThreadLocalRandom.current().nextInt(30000);
        Events intro = new Events();
        Events release = new Events();
        try (Watch wi = xs.watch("@introduceDomain", intro); Watch wr = xs.watch("@releaseDomain", release)) {
            intro.await("@introduceDomain");
            release.await("@releaseDomain");
            introduce(domid);
            intro.await("@introduceDomain");
            assertEquals("T", xs.request(MessageType.IS_DOMAIN_INTRODUCED, 0, Message.strings(Integer.toString(domid))).text());
            xs.request(MessageType.RELEASE, 0, Message.strings(Integer.toString(domid)));
            release.await("@releaseDomain");
        }
    }

    /** INTRODUCE domid, a (fake) ring frame and event channel, as the toolstack does for a new guest. */
    protected void introduce(int domid) throws XenStoreException {
        xs.request(MessageType.INTRODUCE, 0, Message.strings(Integer.toString(domid), "4096", "1"));
    }

    // ------------------------------------------------------------------ concurrency and reconnect

    @Test
    void twoHundredConcurrentReadsFromSeveralThreads() throws Exception {
        int nodes = 20;
        for (int i = 0; i < nodes; i++) {
            xs.write(base + "/n" + i, "value-" + i);
        }
        int threads = 8;
        int perThread = 25;
        CyclicBarrier go = new CyclicBarrier(threads);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<Integer>> results = new ArrayList<>();
            long start = System.nanoTime();
            for (int t = 0; t < threads; t++) {
                int first = t;
                results.add(pool.submit(() -> {
                    go.await();
                    int ok = 0;
                    for (int i = 0; i < perThread; i++) {
                        int n = (first * perThread + i) % nodes;
                        assertEquals("value-" + n, xs.read(base + "/n" + n));
                        ok++;
                    }
                    return ok;
                }));
            }
            int total = 0;
            for (Future<Integer> f : results) {
                total += f.get(30, TimeUnit.SECONDS);
            }
            long micros = TimeUnit.NANOSECONDS.toMicros(System.nanoTime() - start);
            assertEquals(threads * perThread, total);
            System.out.printf("%s: %d reads from %d threads in %d us%n", getClass().getSimpleName(), total, threads, micros);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    @Order(Integer.MAX_VALUE)
    void reconnectsAfterDaemonRestartReregistersWatchesAndResyncs() throws Exception {
        try (XenStoreClient c = XenStoreClient.connect(new UnixSocketTransport(socket), OPTIONS)) {
            Events ev = new Events();
            c.watch(base, ev);
            ev.await(base);

            stopServer();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (c.isConnected() && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertFalse(c.isConnected());
            assertEquals(XenStoreError.DISCONNECTED, error(() -> c.read(base)));

            startServer(socket);
            assertTrue(c.awaitConnected(Duration.ofSeconds(10)), "reconnected");
            List<String> before = ev.await(Events.RESYNC);
            assertFalse(before.contains(Events.RESYNC));
            c.write(base + "/after", "1");
            ev.await(base + "/after");
            assertNotNull(c.read(base + "/after"));
        }
        assertTrue(xs.awaitConnected(Duration.ofSeconds(10)), "the shared client is back too");
    }
}
