package org.netvm.xenstore.server.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.netvm.xenstore.wire.MessageType.READ;
import static org.netvm.xenstore.wire.MessageType.SET_PERMS;
import static org.netvm.xenstore.wire.MessageType.TRANSACTION_END;
import static org.netvm.xenstore.wire.MessageType.TRANSACTION_START;
import static org.netvm.xenstore.wire.MessageType.WRITE;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.netvm.xenstore.wire.Message;

/**
 * Issue 15, defect 1: a guest cannot take the embedded xenstored down through its own socket. Real
 * sockets, the module's tests run with the agent's 64 MB heap (see the pom). Each test is an attack
 * the issue measured: many connections, requests without reading replies, fat transactions; in each
 * the domain's usage stays within its quotas and dom0 keeps being served.
 */
class DomainQuotaTest {

    static final int DOMID = 5;

    @TempDir
    Path tmp;
    EmbeddedXenstored xs;
    RawClient dom0;

    @BeforeEach
    void start() throws Exception {
        xs = EmbeddedXenstored.start(tmp.resolve("socket"), Options.defaults().withDomainSocketDir(tmp.resolve("domains")));
        dom0 = new RawClient(xs.socketPath());
        assertEquals("OK", dom0.req(WRITE, "/local/domain/" + DOMID + "/name\0guest"));
        assertEquals("OK", dom0.req(SET_PERMS, "/local/domain/" + DOMID + "\0n" + DOMID + "\0r0\0"));
        assertEquals("OK", dom0.req(SET_PERMS, "/local/domain/" + DOMID + "/name\0n" + DOMID + "\0"));
        assertTrue(xs.introduce(DOMID));
    }

    @AfterEach
    void stop() throws Exception {
        dom0.close();
        xs.close();
    }

    Path guestSocket() {
        return xs.domainSocketPath(DOMID);
    }

    DomainAccount account() {
        return xs.core().account(DOMID);
    }

    static SocketChannel connect(Path socket) throws IOException {
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        ch.connect(UnixDomainSocketAddress.of(socket));
        return ch;
    }

    /** Those of the channels the server has not closed (non-blocking read: -1 is closed). */
    static int stillOpen(List<SocketChannel> channels) throws IOException {
        int open = 0;
        ByteBuffer b = ByteBuffer.allocate(64);
        for (SocketChannel ch : channels) {
            ch.configureBlocking(false);
            int n;
            try {
                n = ch.read(b.clear());
            } catch (IOException e) {
                n = -1;
            }
            if (n >= 0) {
                open++;
            }
        }
        return open;
    }

    @Test
    void tenThousandConnectionsAreCappedPerDomainAndDom0KeepsAnswering() throws Exception {
        List<SocketChannel> clients = new ArrayList<>();
        try {
            for (int i = 0; i < 10_000; i++) {
                clients.add(connect(guestSocket()));
            }
            assertEquals("", dom0.req(READ, "/tool/xenstored\0"), "dom0 answered while the guest holds 10 000 connections");
            int open = Integer.MAX_VALUE;
            for (int i = 0; i < 100 && open > Quotas.DEFAULTS.maxConnections(); i++) {
                Thread.sleep(100);
                open = stillOpen(clients);
            }
            System.out.printf("DomainQuotaTest: %d of 10000 guest connections kept open%n", open);
            assertEquals(Quotas.DEFAULTS.maxConnections(), open, "connections of one domain are capped");
            assertEquals(Quotas.DEFAULTS.maxConnections(), account().connections());
        } finally {
            for (SocketChannel ch : clients) {
                ch.close();
            }
        }
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (account().connections() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(0, account().connections(), "closed connections are uncounted");
        try (RawClient again = new RawClient(guestSocket())) {
            assertEquals("guest", again.req(READ, "name\0"), "the guest can connect again");
        }
    }

    @Test
    void requestsWithoutReadingRepliesAreHeldBackNotBuffered() throws Exception {
        byte[] value = new byte[4000];
        java.util.Arrays.fill(value, (byte) 'v');
        assertEquals("OK", RawClient.render(dom0.call(WRITE.code(), 0, Message.pathAndValue("/local/domain/5/big", value))
                .getLast()));
        // 40 connections each sending 40 000 reads of a 4 kB node, never reading a reply
        List<SocketChannel> clients = new ArrayList<>();
        List<Thread> senders = new ArrayList<>();
        AtomicLong sent = new AtomicLong();
        for (int c = 0; c < 40; c++) {
            SocketChannel ch = connect(guestSocket());
            clients.add(ch);
            senders.add(Thread.ofVirtual().start(() -> {
                byte[] req = Message.strings("big");
                try {
                    for (int i = 0; i < 40_000; i++) {
                        ByteBuffer b = new Message(READ, i + 1, 0, req).encode();
                        while (b.hasRemaining()) {
                            ch.write(b);
                        }
                        sent.incrementAndGet();
                    }
                } catch (IOException e) {
                    // closed by the server (over the connection quota) or by the test
                }
            }));
        }
        try {
            Thread.sleep(2000);
            long mid = sent.get();
            assertEquals("", dom0.req(READ, "/tool/xenstored\0"), "dom0 answered during the flood");
            Thread.sleep(500);
            DomainAccount a = account();
            System.out.printf("DomainQuotaTest: %d requests sent without reading; domain holds %d outstanding, %d bytes%n",
                    sent.get(), a.outstanding(), a.memory());
            assertTrue(a.outstanding() <= Quotas.DEFAULTS.maxOutstanding(), "outstanding " + a.outstanding());
            assertTrue(a.memory() <= Quotas.DEFAULTS.memoryHard(), "memory " + a.memory());
            assertTrue(sent.get() < 40L * 40_000, "the senders are held back by their sockets");
            assertEquals(mid, sent.get(), "no more requests taken while the replies are not read");
            // the connections within the quota are not dropped: once every client reads, each kept
            // connection answers, in order, from its first request (which one got its requests taken
            // first depends on scheduling, so all are drained at once, as real clients would)
            List<Thread> readers = new ArrayList<>();
            List<Message> firstReplies = java.util.Collections.synchronizedList(new ArrayList<>());
            AtomicLong closedByServer = new AtomicLong();
            for (SocketChannel ch : clients) {
                readers.add(Thread.ofVirtual().start(() -> {
                    try {
                        Message m = Message.read(ch, Message.MAX_PAYLOAD);
                        firstReplies.add(m);
                        while (true) {
                            Message.read(ch, Message.MAX_PAYLOAD);
                        }
                    } catch (IOException e) {
                        if (firstReplies.size() < clients.size() && !ch.isOpen()) {
                            return; // closed by the test
                        }
                        closedByServer.incrementAndGet(); // over the connection quota: EOF before any reply
                    }
                }));
            }
            long answered = System.nanoTime() + 20_000_000_000L;
            while (firstReplies.size() + closedByServer.get() < clients.size() && System.nanoTime() < answered) {
                Thread.sleep(20);
            }
            assertEquals(Quotas.DEFAULTS.maxConnections(), firstReplies.size(), "every kept connection answers");
            for (Message reply : List.copyOf(firstReplies)) {
                assertEquals(1, reply.requestId(), "replies come in order");
                assertEquals(4000, reply.payload().length);
            }
        } finally {
            for (SocketChannel ch : clients) {
                ch.close();
            }
            for (Thread t : senders) {
                t.join(10_000);
            }
        }
        long deadline = System.nanoTime() + 5_000_000_000L;
        while ((account().memory() > 0 || account().outstanding() > 0 || account().connections() > 0)
                && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(0, account().memory(), "what closed connections held is released");
        assertEquals(0, account().outstanding());
        assertEquals(0, account().connections(), "every closed connection is counted out");
        try (RawClient again = new RawClient(guestSocket())) {
            assertEquals("guest", again.req(READ, "name\0"));
        }
    }

    @Test
    void fatTransactionsGetEnomemAtTheDomainsMemoryQuota() throws Exception {
        String value = "x".repeat(1900); // a node record just under the 2048-byte node-size quota
        List<RawClient> guests = new ArrayList<>();
        int written = 0;
        String refusal = null;
        try {
            // up to 8 transactions over 4 connections, each filled until the transaction-nodes quota
            // (ENOSPC, about 420 nodes) or the domain's memory quota (ENOMEM)
            for (int c = 0; c < 4 && !"ENOMEM".equals(refusal); c++) {
                RawClient g = new RawClient(guestSocket());
                guests.add(g);
                for (int t = 0; t < 2 && !"ENOMEM".equals(refusal); t++) {
                    int tx = Integer.parseInt(g.req(TRANSACTION_START, "\0").replace("|", ""));
                    for (int i = 0; i < 1000; i++) {
                        refusal = g.req(WRITE, tx, "t" + c + "-" + t + "/n" + i + "\0" + value);
                        if (!refusal.equals("OK")) {
                            break;
                        }
                        written++;
                    }
                }
            }
            long held = account().memory();
            System.out.printf("DomainQuotaTest: %d nodes of 1.9 kB written in open transactions, then %s; domain holds %d bytes%n",
                    written, refusal, held);
            assertEquals("ENOMEM", refusal, "C's answer at the memory quota");
            assertTrue(held <= Quotas.DEFAULTS.memoryHard(), "held " + held);
            assertTrue(written < 1400, "at most about the quota's worth: " + written);
            assertEquals("", dom0.req(READ, "/tool/xenstored\0"), "dom0 is not limited");
            assertTrue(dom0.req(TRANSACTION_START, "\0").endsWith("|"), "dom0 starts transactions");
        } finally {
            for (RawClient g : guests) {
                g.close();
            }
        }
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (account().memory() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(0, account().memory(), "closing the connections released their transactions");
        try (RawClient again = new RawClient(guestSocket())) {
            String tx = again.req(TRANSACTION_START, "\0").replace("|", "");
            assertEquals("OK", again.req(WRITE, Integer.parseInt(tx), "after\0" + value));
            assertEquals("OK", again.req(TRANSACTION_END, Integer.parseInt(tx), "T\0"));
        }
    }

    @Test
    void openTransactionsAreCountedPerDomainOverItsConnections() throws Exception {
        try (RawClient a = new RawClient(guestSocket()); RawClient b = new RawClient(guestSocket())) {
            for (int i = 0; i <= Quotas.DEFAULTS.maxTransactions(); i++) {
                assertTrue(a.req(TRANSACTION_START, "\0").endsWith("|"), "transaction " + i + " (C accepts one more)");
            }
            assertEquals("ENOSPC", b.req(TRANSACTION_START, "\0"), "the domain's other connection shares the quota");
            assertEquals("ENOSPC", a.req(TRANSACTION_START, "\0"));
            assertTrue(a.req(TRANSACTION_END, 1, "F\0").equals("OK"));
            assertTrue(b.req(TRANSACTION_START, "\0").endsWith("|"), "room again after one ended");
        }
    }
}
