package org.netvm.xenstore.client.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.netvm.xenstore.Permission;
import org.netvm.xenstore.Transaction;
import org.netvm.xenstore.Watch;
import org.netvm.xenstore.WatchListener;
import org.netvm.xenstore.XenStore;
import org.netvm.xenstore.XenStoreError;
import org.netvm.xenstore.XenStoreException;
import org.netvm.xenstore.wire.Message;
import org.netvm.xenstore.wire.MessageType;

class XenStoreClientTest {

    private static final ClientOptions FAST = new ClientOptions(Duration.ofMillis(5), Duration.ofMillis(40), Duration.ofSeconds(5));

    private final FakeDaemon daemon = newDaemon();

    /** Callers read their own replies (the Unix socket's way); {@link XenStoreClientBlockingTest} runs the same tests with only the I/O thread reading. */
    FakeDaemon newDaemon() {
        return new FakeDaemon(true);
    }
    private XenStoreClient client;

    @AfterEach
    void close() {
        if (client != null) {
            client.close();
        }
    }

    private FakeDaemon.End connect() throws Exception {
        client = XenStoreClient.connect(daemon, FAST);
        return daemon.nextEnd();
    }

    private static <T> CompletableFuture<T> async(Call<T> call) {
        CompletableFuture<T> f = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                f.complete(call.run());
            } catch (Throwable e) {
                f.completeExceptionally(e);
            }
        });
        t.setDaemon(true);
        t.start();
        return f;
    }

    interface Call<T> {
        T run() throws Exception;
    }

    private static XenStoreException failure(CompletableFuture<?> f) throws Exception {
        try {
            f.get(5, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof XenStoreException x) {
                return x;
            }
            throw e;
        }
        throw new AssertionError("call did not fail");
    }

    @Test
    void readSendsPathAndReturnsTheRawValue() throws Exception {
        FakeDaemon.End end = connect();
        CompletableFuture<String> value = async(() -> client.read("/a/b"));
        Message req = end.nextRequest();
        assertEquals(MessageType.READ, req.messageType());
        assertEquals(0, req.txId());
        assertNotEquals(0, req.requestId());
        assertEquals("/a/b\0", new String(req.payload(), StandardCharsets.UTF_8));
        end.reply(req, "hello world");
        assertEquals("hello world", value.get(5, TimeUnit.SECONDS));
    }

    @Test
    void writeSendsPathNulValueWithoutTerminator() throws Exception {
        FakeDaemon.End end = connect();
        CompletableFuture<Void> done = async(() -> {
            client.write("x", "v 1");
            return null;
        });
        Message req = end.nextRequest();
        assertEquals(MessageType.WRITE, req.messageType());
        assertEquals("x\0v 1", new String(req.payload(), StandardCharsets.UTF_8));
        end.send(FakeDaemon.ok(req));
        done.get(5, TimeUnit.SECONDS);
    }

    @Test
    void repliesOutOfOrderReachTheirOwnCaller() throws Exception {
        FakeDaemon.End end = connect();
        List<CompletableFuture<String>> calls = new ArrayList<>();
        List<Message> requests = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            String path = "/p" + i;
            calls.add(async(() -> client.read(path)));
            requests.add(end.nextRequest());
        }
        for (int i = 2; i >= 0; i--) { // all three are in flight; answer backwards
            Message r = requests.get(i);
            end.reply(r, "value of " + new Message(r.type(), 0, 0, r.payload()).fields().get(0));
        }
        for (int i = 0; i < 3; i++) {
            assertEquals("value of /p" + i, calls.get(i).get(5, TimeUnit.SECONDS));
        }
    }

    @Test
    void errorReplyBecomesExceptionWithDaemonNameAndPath() throws Exception {
        FakeDaemon.End end = connect();
        CompletableFuture<String> value = async(() -> client.read("/missing"));
        end.error(end.nextRequest(), "ENOENT");
        XenStoreException e = failure(value);
        assertEquals(XenStoreError.ENOENT, e.error());
        assertEquals("/missing", e.path());

        CompletableFuture<String> odd = async(() -> client.read("/odd"));
        end.error(end.nextRequest(), "EWHATEVER");
        XenStoreException u = failure(odd);
        assertEquals(XenStoreError.UNKNOWN, u.error());
        assertEquals("EWHATEVER", u.errorName());
    }

    @Test
    void oversizedRequestsAndNulPathsAreRejectedWithoutSending() throws Exception {
        FakeDaemon.End end = connect();
        String path = "/big";
        String fits = "x".repeat(Message.MAX_PAYLOAD - path.length() - 1);
        assertEquals(XenStoreError.E2BIG, assertThrows(XenStoreException.class, () -> client.write(path, fits + "x")).error());
        assertEquals(XenStoreError.E2BIG, assertThrows(XenStoreException.class, () -> client.read("/" + "a".repeat(5000))).error());
        assertEquals(XenStoreError.EINVAL, assertThrows(XenStoreException.class, () -> client.read("/a\0b")).error());
        assertEquals(XenStoreError.EINVAL, assertThrows(XenStoreException.class, () -> client.watch("/a\0", p -> { })).error());
        assertNull(end.requests.poll(100, TimeUnit.MILLISECONDS), "nothing was sent");

        CompletableFuture<Void> max = async(() -> {
            client.write(path, fits);
            return null;
        });
        Message req = end.nextRequest();
        assertEquals(Message.MAX_PAYLOAD, req.payload().length);
        end.send(FakeDaemon.ok(req));
        max.get(5, TimeUnit.SECONDS);
    }

    @Test
    void watchEventsInterleavedWithRepliesGoToTheListenerByToken() throws Exception {
        FakeDaemon.End end = connect();
        BlockingQueue<String> a = new LinkedBlockingQueue<>();
        BlockingQueue<String> b = new LinkedBlockingQueue<>();
        CompletableFuture<Watch> wa = async(() -> client.watch("/w", a::add));
        Message watchA = end.nextRequest();
        end.send(FakeDaemon.ok(watchA));
        wa.get(5, TimeUnit.SECONDS);
        CompletableFuture<Watch> wb = async(() -> client.watch("/w", b::add));
        Message watchB = end.nextRequest();
        end.send(FakeDaemon.ok(watchB));
        wb.get(5, TimeUnit.SECONDS);
        String tokenA = new Message(watchA.type(), 0, 0, watchA.payload()).fields().get(1);
        String tokenB = new Message(watchB.type(), 0, 0, watchB.payload()).fields().get(1);
        assertEquals(MessageType.WATCH, watchA.messageType());
        assertNotEquals(tokenA, tokenB, "every watch has its own token");

        CompletableFuture<String> read = async(() -> client.read("/r"));
        Message readReq = end.nextRequest();
        end.event("/w/1", tokenA);       // event before the reply
        end.event("/w/2", tokenB);
        end.reply(readReq, "r");
        end.event("/w/3", tokenA);       // and after it
        end.event("/w/x", "someone-else");
        assertEquals("r", read.get(5, TimeUnit.SECONDS));
        assertEquals("/w/1", a.poll(5, TimeUnit.SECONDS));
        assertEquals("/w/3", a.poll(5, TimeUnit.SECONDS));
        assertEquals("/w/2", b.poll(5, TimeUnit.SECONDS));
        assertNull(a.poll(100, TimeUnit.MILLISECONDS));
        assertNull(b.poll(10, TimeUnit.MILLISECONDS));
    }

    @Test
    void aBlockedListenerDoesNotBlockReplies() throws Exception {
        FakeDaemon.End end = connect();
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch entered = new CountDownLatch(1);
        CompletableFuture<Watch> w = async(() -> client.watch("/slow", p -> {
            entered.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }));
        Message watch = end.nextRequest();
        end.send(FakeDaemon.ok(watch));
        w.get(5, TimeUnit.SECONDS);
        end.event("/slow", new Message(watch.type(), 0, 0, watch.payload()).fields().get(1));
        assertTrue(entered.await(5, TimeUnit.SECONDS));
        CompletableFuture<String> read = async(() -> client.read("/r"));
        end.reply(end.nextRequest(), "still flowing");
        assertEquals("still flowing", read.get(5, TimeUnit.SECONDS));
        release.countDown();
    }

    @Test
    void closingAWatchSendsUnwatchAndDropsLaterEvents() throws Exception {
        FakeDaemon.End end = connect();
        daemon.responder = FakeDaemon::ok;
        BlockingQueue<String> events = new LinkedBlockingQueue<>();
        Watch w = client.watch("/u", events::add);
        Message watch = end.nextRequest();
        String token = new Message(watch.type(), 0, 0, watch.payload()).fields().get(1);
        w.close();
        Message unwatch = end.nextRequest();
        assertEquals(MessageType.UNWATCH, unwatch.messageType());
        assertEquals("/u\0" + token + "\0", new String(unwatch.payload(), StandardCharsets.UTF_8));
        end.event("/u", token);
        CompletableFuture<String> fence = async(() -> client.read("/fence"));
        assertEquals("OK\0", fence.get(5, TimeUnit.SECONDS));
        assertEquals(MessageType.READ, end.nextRequest().messageType());
        assertNull(events.poll(200, TimeUnit.MILLISECONDS));
        w.close(); // twice is fine, sends nothing
        assertNull(end.requests.poll(100, TimeUnit.MILLISECONDS));
    }

    @Test
    void transactionOpsCarryItsIdAndEndSendsTOrF() throws Exception {
        FakeDaemon.End end = connect();
        CompletableFuture<Transaction> start = async(() -> client.transaction());
        Message s = end.nextRequest();
        assertEquals(MessageType.TRANSACTION_START, s.messageType());
        assertEquals("\0", new String(s.payload(), StandardCharsets.UTF_8));
        end.reply(s, "42\0");
        Transaction tx = start.get(5, TimeUnit.SECONDS);

        daemon.responder = r -> r.messageType() == MessageType.TRANSACTION_END
                ? new Message(MessageType.ERROR, r.requestId(), r.txId(), Message.strings("EAGAIN"))
                : FakeDaemon.ok(r);
        tx.write("/t", "1");
        Message w = end.nextRequest();
        assertEquals(42, w.txId());
        XenStoreException conflict = assertThrows(XenStoreException.class, tx::commit);
        assertEquals(XenStoreError.EAGAIN, conflict.error());
        Message commit = end.nextRequest();
        assertEquals(MessageType.TRANSACTION_END, commit.messageType());
        assertEquals(42, commit.txId());
        assertEquals("T\0", new String(commit.payload(), StandardCharsets.UTF_8));
        tx.abort(); // after commit: nothing sent
        assertNull(end.requests.poll(100, TimeUnit.MILLISECONDS));

        daemon.responder = r -> r.messageType() == MessageType.TRANSACTION_START
                ? new Message(r.type(), r.requestId(), 0, Message.strings("43")) : FakeDaemon.ok(r);
        try (Transaction t2 = client.transaction()) {
            end.nextRequest();
        }
        Message abort = end.nextRequest();
        assertEquals(43, abort.txId());
        assertEquals("F\0", new String(abort.payload(), StandardCharsets.UTF_8));
    }

    @Test
    void inTransactionRetriesOnEagain() throws Exception {
        FakeDaemon.End end = connect();
        AtomicInteger commits = new AtomicInteger();
        daemon.responder = r -> switch (r.messageType()) {
            case TRANSACTION_START -> new Message(r.type(), r.requestId(), 0, Message.strings("7"));
            case TRANSACTION_END -> commits.incrementAndGet() < 3
                    ? new Message(MessageType.ERROR, r.requestId(), r.txId(), Message.strings("EAGAIN"))
                    : FakeDaemon.ok(r);
            default -> FakeDaemon.ok(r);
        };
        AtomicInteger runs = new AtomicInteger();
        assertEquals("done", client.inTransaction(5, tx -> {
            runs.incrementAndGet();
            tx.write("/x", "y");
            return "done";
        }));
        assertEquals(3, runs.get());
        assertTrue(end.requests.size() >= 9);
    }

    @Test
    void directoryFallsBackToDirectoryPartOnE2big() throws Exception {
        FakeDaemon.End end = connect();
        CompletableFuture<List<String>> list = async(() -> client.directory("/big"));
        end.error(end.nextRequest(), "E2BIG");
        Message p0 = end.nextRequest();
        assertEquals(MessageType.DIRECTORY_PART, p0.messageType());
        assertEquals("/big\0" + "0\0", new String(p0.payload(), StandardCharsets.UTF_8));
        end.reply(p0, "9\0a\0bb\0");
        Message p1 = end.nextRequest();
        assertEquals("/big\0" + "5\0", new String(p1.payload(), StandardCharsets.UTF_8));
        end.reply(p1, "10\0zz\0"); // generation changed: start again
        Message p2 = end.nextRequest();
        assertEquals("/big\0" + "0\0", new String(p2.payload(), StandardCharsets.UTF_8));
        end.reply(p2, "10\0a\0ccc\0");
        Message p3 = end.nextRequest();
        assertEquals("/big\0" + "6\0", new String(p3.payload(), StandardCharsets.UTF_8));
        end.reply(p3, "10\0d\0\0");
        assertEquals(List.of("a", "ccc", "d"), list.get(5, TimeUnit.SECONDS));
    }

    @Test
    void oversizedDirectoryReplyAsOxenstoredSendsIt() throws Exception {
        FakeDaemon.End end = connect();
        CompletableFuture<List<String>> list = async(() -> client.directory("/big"));
        StringBuilder sb = new StringBuilder();
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < 500; i++) {
            String name = "child-number-" + i;
            expected.add(name);
            sb.append(name).append('\0');
        }
        byte[] payload = sb.toString().getBytes(StandardCharsets.UTF_8);
        assertTrue(payload.length > Message.MAX_PAYLOAD);
        end.oversizedReply(end.nextRequest(), payload);
        assertEquals(expected, list.get(5, TimeUnit.SECONDS));
    }

    @Test
    void permissionsAreSentAndParsedInXenstoredNotation() throws Exception {
        FakeDaemon.End end = connect();
        CompletableFuture<Void> set = async(() -> {
            client.setPermissions("/p", List.of(Permission.parse("n0"), Permission.parse("r5"), Permission.parse("b7")));
            return null;
        });
        Message s = end.nextRequest();
        assertEquals(MessageType.SET_PERMS, s.messageType());
        assertEquals("/p\0n0\0r5\0b7\0", new String(s.payload(), StandardCharsets.UTF_8));
        end.send(FakeDaemon.ok(s));
        set.get(5, TimeUnit.SECONDS);
        CompletableFuture<List<Permission>> get = async(() -> client.getPermissions("/p"));
        end.reply(end.nextRequest(), "n0\0r5\0b7\0");
        assertEquals(List.of(new Permission(0, Permission.Access.NONE), new Permission(5, Permission.Access.READ),
                new Permission(7, Permission.Access.BOTH)), get.get(5, TimeUnit.SECONDS));
        CompletableFuture<List<Permission>> bad = async(() -> client.getPermissions("/p"));
        end.reply(end.nextRequest(), "zz\0");
        assertEquals(XenStoreError.EIO, failure(bad).error());
    }

    @Test
    void domainPathAsksTheDaemon() throws Exception {
        FakeDaemon.End end = connect();
        CompletableFuture<String> path = async(() -> client.domainPath(5));
        Message req = end.nextRequest();
        assertEquals(MessageType.GET_DOMAIN_PATH, req.messageType());
        assertEquals("5\0", new String(req.payload(), StandardCharsets.UTF_8));
        end.reply(req, "/local/domain/5\0");
        assertEquals("/local/domain/5", path.get(5, TimeUnit.SECONDS));
    }

    @Test
    void requestWithoutReplyTimesOut() throws Exception {
        client = XenStoreClient.connect(daemon, new ClientOptions(Duration.ofMillis(5), Duration.ofMillis(5), Duration.ofMillis(100)));
        XenStoreException e = assertThrows(XenStoreException.class, () -> client.read("/never"));
        assertEquals("ETIMEDOUT", e.errorName());
        assertTrue(client.isConnected());
    }

    @Test
    void dropFailsPendingRequestsThenReconnectsReregistersWatchesAndResyncs() throws Exception {
        FakeDaemon.End end = connect();
        daemon.responder = FakeDaemon::ok;
        BlockingQueue<String> events = new LinkedBlockingQueue<>();
        AtomicInteger resyncs = new AtomicInteger();
        WatchListener listener = new WatchListener() {
            @Override
            public void changed(String path) {
                events.add(path);
            }

            @Override
            public void resync() {
                resyncs.incrementAndGet();
                events.add("RESYNC");
            }
        };
        client.watch("/keep", listener);
        Message watch = end.nextRequest();
        String token = new Message(watch.type(), 0, 0, watch.payload()).fields().get(1);
        Transaction tx;
        daemon.responder = r -> r.messageType() == MessageType.TRANSACTION_START
                ? new Message(r.type(), r.requestId(), 0, Message.strings("3")) : null;
        tx = client.transaction();
        end.nextRequest();
        CompletableFuture<String> inFlight = async(() -> client.read("/pending"));
        end.nextRequest();

        daemon.refuseNext.set(3);
        int attemptsBefore = daemon.attempts.get();
        end.hangUp();
        assertEquals(XenStoreError.DISCONNECTED, failure(inFlight).error());
        daemon.responder = FakeDaemon::ok;
        FakeDaemon.End second = daemon.nextEnd();
        assertTrue(daemon.attempts.get() - attemptsBefore >= 4, "retried with backoff");
        Message again = second.nextRequest();
        assertEquals(MessageType.WATCH, again.messageType());
        assertEquals("/keep\0" + token + "\0", new String(again.payload(), StandardCharsets.UTF_8));
        assertEquals("RESYNC", events.poll(5, TimeUnit.SECONDS));
        assertEquals(1, resyncs.get());
        assertTrue(client.isConnected());
        // events on the new connection still reach the listener
        second.event("/keep/x", token);
        assertEquals("/keep/x", events.poll(5, TimeUnit.SECONDS));
        // the old transaction is gone with the old connection; its id must not reach the new one
        assertEquals(XenStoreError.DISCONNECTED, assertThrows(XenStoreException.class, () -> tx.read("/t")).error());
        assertEquals(XenStoreError.DISCONNECTED, assertThrows(XenStoreException.class, tx::commit).error());
        assertNull(second.requests.poll(100, TimeUnit.MILLISECONDS));
    }

    @Test
    void statisticsCountSentRequestsAndReconnects() throws Exception {
        FakeDaemon.End end = connect();
        daemon.responder = FakeDaemon::ok;
        assertEquals(new XenStore.Statistics(0, 0), client.statistics().orElseThrow());
        client.write("/a", "1");
        client.write("/b", "2");
        assertThrows(XenStoreException.class, () -> client.write("/nul\0", "x")); // refused locally: not sent
        assertEquals(new XenStore.Statistics(2, 0), client.statistics().orElseThrow());
        end.hangUp();
        daemon.nextEnd();
        assertTrue(client.awaitConnected(Duration.ofSeconds(5)));
        for (int i = 0; i < 200 && client.statistics().orElseThrow().reconnects() == 0; i++) {
            Thread.sleep(10);
        }
        assertEquals(new XenStore.Statistics(2, 1), client.statistics().orElseThrow());
    }

    @Test
    void whileDownRequestsFailFastAndWatchesWaitForTheConnection() throws Exception {
        daemon.refuseNext.set(Integer.MAX_VALUE);
        client = XenStoreClient.start(daemon, FAST);
        assertFalse(client.isConnected());
        assertEquals(XenStoreError.DISCONNECTED, assertThrows(XenStoreException.class, () -> client.read("/x")).error());
        CountDownLatch resynced = new CountDownLatch(1);
        client.watch("/later", new WatchListener() {
            @Override
            public void changed(String path) {
            }

            @Override
            public void resync() {
                resynced.countDown();
            }
        });
        daemon.responder = FakeDaemon::ok;
        daemon.refuseNext.set(0);
        FakeDaemon.End end = daemon.nextEnd();
        assertTrue(client.awaitConnected(Duration.ofSeconds(5)));
        assertEquals(MessageType.WATCH, end.nextRequest().messageType());
        assertTrue(resynced.await(5, TimeUnit.SECONDS));
    }

    @Test
    void closeFailsWaitersAndStopsReconnecting() throws Exception {
        FakeDaemon.End end = connect();
        CompletableFuture<String> waiting = async(() -> client.read("/w"));
        end.nextRequest();
        client.close();
        assertEquals(XenStoreError.DISCONNECTED, failure(waiting).error());
        assertFalse(client.isConnected());
        int attempts = daemon.attempts.get();
        Thread.sleep(100);
        assertEquals(attempts, daemon.attempts.get());
        assertEquals(XenStoreError.DISCONNECTED, assertThrows(XenStoreException.class, () -> client.read("/x")).error());
    }

    @Test
    void interruptedCallerDoesNotBreakTheConnection() throws Exception {
        FakeDaemon.End end = connect();
        daemon.responder = r -> new Message(r.type(), r.requestId(), 0, "v".getBytes(StandardCharsets.UTF_8));
        Thread.currentThread().interrupt();
        try {
            client.write("/i", "x"); // write survives the interrupt flag; the wait for the reply does not
        } catch (XenStoreException e) {
            assertEquals("EINTR", e.errorName());
        }
        assertTrue(Thread.interrupted());
        assertEquals("v", client.read("/i"));
        assertTrue(client.isConnected());
        assertEquals(1, daemon.attempts.get());
        assertFalse(end.clientClosed);
    }
}
