package org.netvm.xenstore.server.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.netvm.xenstore.wire.MessageType.READ;
import static org.netvm.xenstore.wire.MessageType.SET_PERMS;
import static org.netvm.xenstore.wire.MessageType.TRANSACTION_END;
import static org.netvm.xenstore.wire.MessageType.TRANSACTION_START;
import static org.netvm.xenstore.wire.MessageType.WRITE;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 15: each guest domain is bounded (DomainQuotaTest), and so are all of them together: the
 * memory of every guest's queued output and open transactions is capped as a sum
 * ({@link Quotas#memoryAllGuests}), dom0 exempt. Real sockets; a small cap (3 MiB) so that two
 * domains reach it while each stays under its own 2.5 MB quota.
 */
class AllGuestsQuotaTest {

    static final long CAP = 3L << 20;
    static final int[] GUESTS = {5, 6, 7};
    static final String VALUE = "x".repeat(1900); // a node record just under the 2048-byte node-size quota

    @TempDir
    Path tmp;
    EmbeddedXenstored xs;
    RawClient dom0;
    final List<RawClient> clients = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        Options o = Options.defaults().withDomainSocketDir(tmp.resolve("domains"))
                .withQuotas(Quotas.DEFAULTS.withMemoryAllGuests(CAP));
        xs = EmbeddedXenstored.start(tmp.resolve("socket"), o);
        dom0 = new RawClient(xs.socketPath());
        for (int d : GUESTS) {
            assertEquals("OK", dom0.req(WRITE, "/local/domain/" + d + "/name\0guest"));
            assertEquals("OK", dom0.req(SET_PERMS, "/local/domain/" + d + "\0n" + d + "\0r0\0"));
            assertEquals("OK", dom0.req(SET_PERMS, "/local/domain/" + d + "/name\0n" + d + "\0"));
            assertTrue(xs.introduce(d));
        }
    }

    @AfterEach
    void stop() throws Exception {
        for (RawClient c : clients) {
            c.close();
        }
        dom0.close();
        xs.close();
    }

    RawClient guest(int domid) throws Exception {
        RawClient c = new RawClient(xs.domainSocketPath(domid));
        clients.add(c);
        return c;
    }

    long memory(int domid) {
        return xs.core().account(domid).memory();
    }

    long allGuests() {
        long sum = 0;
        for (int d : GUESTS) {
            sum += memory(d);
        }
        return sum;
    }

    /** Writes 1.9 kB nodes in open transactions (two per connection, as many connections as needed) until refused. */
    static String fill(List<RawClient> conns, int maxNodes) throws Exception {
        int written = 0;
        for (RawClient g : conns) {
            for (int t = 0; t < 2; t++) {
                String start = g.req(TRANSACTION_START, "\0");
                if (!start.endsWith("|")) {
                    return start;
                }
                int tx = Integer.parseInt(start.replace("|", ""));
                for (int i = 0; i < 400; i++) {
                    String r = g.req(WRITE, tx, "t" + t + "/n" + i + "\0" + VALUE);
                    if (!r.equals("OK")) {
                        return r;
                    }
                    if (++written >= maxNodes) {
                        return "OK";
                    }
                }
            }
        }
        return "OK";
    }

    @Test
    void twoGuestsTogetherStopAtTheCapEachUnderItsOwnQuota() throws Exception {
        // domain 5 takes 2 MB (under its 2.5 MB quota): accepted
        List<RawClient> five = List.of(guest(5), guest(5), guest(5));
        assertEquals("OK", fill(five, 1000));
        long m5 = memory(5);
        assertTrue(m5 > 1_800_000 && m5 < Quotas.DEFAULTS.memoryHard(), "domain 5 holds " + m5);
        // domain 6 gets ENOMEM when the sum reaches the cap, far below its own quota
        List<RawClient> six = List.of(guest(6), guest(6), guest(6));
        String refusal = fill(six, 1300);
        long m6 = memory(6);
        System.out.printf("AllGuestsQuotaTest: domain 5 holds %d bytes, domain 6 %d bytes, then %s; all guests %d of %d%n",
                m5, m6, refusal, allGuests(), CAP);
        assertEquals("ENOMEM", refusal, "refused at the all-guests cap");
        assertTrue(m6 < Quotas.DEFAULTS.memoryHard() - 1_000_000, "domain 6 is far under its own quota: " + m6);
        assertTrue(allGuests() <= CAP, "the sum stays under the cap: " + allGuests());
        // dom0 is exempt and keeps working; a guest that holds nothing may still read
        assertEquals("", dom0.req(READ, "/tool/xenstored\0"));
        assertTrue(dom0.req(TRANSACTION_START, "\0").endsWith("|"), "dom0 starts transactions");
        assertEquals("guest", guest(7).req(READ, "name\0"), "a guest holding nothing is answered");
    }

    @Test
    void closingOneGuestsConnectionsGivesTheRoomBack() throws Exception {
        List<RawClient> five = List.of(guest(5), guest(5), guest(5));
        assertEquals("OK", fill(five, 1000));
        List<RawClient> six = List.of(guest(6), guest(6), guest(6));
        assertEquals("ENOMEM", fill(six, 1300));
        for (RawClient c : five) {
            c.close();
        }
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (memory(5) > 0 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(0, memory(5), "domain 5's transactions are released");
        assertFalse(allGuests() > CAP);
        RawClient seven = guest(7);
        int tx = Integer.parseInt(seven.req(TRANSACTION_START, "\0").replace("|", ""));
        assertEquals("OK", seven.req(WRITE, tx, "after\0" + VALUE), "room again once another guest let go");
        assertEquals("OK", seven.req(TRANSACTION_END, tx, "T\0"));
    }

    @Test
    void theSharedAccountCountsRepliesAlwaysAndTheRestOnlyUnderTheCap() {
        DomainAccount.AllGuests all = new DomainAccount.AllGuests(1000);
        DomainAccount a = new DomainAccount(5, Quotas.DEFAULTS, all);
        DomainAccount b = new DomainAccount(6, Quotas.DEFAULTS, all);
        assertTrue(a.addTransactionBytes(800));
        assertFalse(b.addTransactionBytes(300), "over the cap together");
        assertEquals(0, b.memory(), "nothing counted when refused");
        assertFalse(b.eventQueued(300), "an event does not fit either");
        b.replyQueued(300); // a reply to an accepted request is always queued
        assertEquals(1100, all.used());
        assertTrue(all.full());
        b.dequeued(0, 300);
        a.addTransactionBytes(-800);
        assertEquals(0, all.used(), "everything released");
        assertTrue(b.addTransactionBytes(900));
    }
}
