package org.netvm.xenstore.server.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.netvm.xenstore.wire.MessageType.CONTROL;
import static org.netvm.xenstore.wire.MessageType.DIRECTORY;
import static org.netvm.xenstore.wire.MessageType.DIRECTORY_PART;
import static org.netvm.xenstore.wire.MessageType.GET_DOMAIN_PATH;
import static org.netvm.xenstore.wire.MessageType.GET_PERMS;
import static org.netvm.xenstore.wire.MessageType.INTRODUCE;
import static org.netvm.xenstore.wire.MessageType.IS_DOMAIN_INTRODUCED;
import static org.netvm.xenstore.wire.MessageType.MKDIR;
import static org.netvm.xenstore.wire.MessageType.READ;
import static org.netvm.xenstore.wire.MessageType.RELEASE;
import static org.netvm.xenstore.wire.MessageType.RESET_WATCHES;
import static org.netvm.xenstore.wire.MessageType.RM;
import static org.netvm.xenstore.wire.MessageType.SET_PERMS;
import static org.netvm.xenstore.wire.MessageType.TRANSACTION_END;
import static org.netvm.xenstore.wire.MessageType.TRANSACTION_START;
import static org.netvm.xenstore.wire.MessageType.UNWATCH;
import static org.netvm.xenstore.wire.MessageType.WATCH;
import static org.netvm.xenstore.wire.MessageType.WRITE;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.netvm.xenstore.wire.Message;
import org.netvm.xenstore.wire.MessageType;

/** The store, permissions, transactions and watch matching, driven through requests without sockets. */
class XenstoredCoreTest {

    static final class FakeSink implements MessageSink {
        final List<Message> got = new ArrayList<>();
        boolean closed;

        @Override
        public void send(Message message) {
            got.add(message);
        }

        @Override
        public void close() {
            closed = true;
        }

        List<String> events() {
            List<String> out = new ArrayList<>();
            for (Message m : got) {
                if (m.type() == MessageType.WATCH_EVENT.code()) {
                    List<String> f = m.fields();
                    out.add(f.get(0) + " " + f.get(1));
                }
            }
            got.removeIf(m -> m.type() == MessageType.WATCH_EVENT.code());
            return out;
        }
    }

    final List<Integer> introduced = new ArrayList<>();
    final List<Integer> released = new ArrayList<>();
    XenstoredCore core = new XenstoredCore(Quotas.DEFAULTS, new DomainListener() {
        @Override
        public void introduced(int domid) {
            introduced.add(domid);
        }

        @Override
        public void released(int domid) {
            released.add(domid);
        }
    });
    FakeSink sink0 = new FakeSink();
    Session dom0 = core.connect(0, sink0);

    static String req(XenstoredCore core, Session s, MessageType type, int tx, String payload) {
        FakeSink sink = (FakeSink) s.sink;
        int before = sink.got.size();
        core.handle(s, new Message(type.code(), 42, tx, payload.getBytes(StandardCharsets.ISO_8859_1)));
        for (int i = sink.got.size() - 1; i >= before; i--) {
            Message m = sink.got.get(i);
            if (m.type() != MessageType.WATCH_EVENT.code()) {
                assertEquals(42, m.requestId(), "reply echoes req_id");
                assertEquals(tx, m.txId(), "reply echoes tx_id");
                sink.got.remove(i);
                return RawClient.render(m);
            }
        }
        throw new AssertionError("no reply");
    }

    String req(Session s, MessageType type, String payload) {
        return req(core, s, type, 0, payload);
    }

    String req(Session s, MessageType type, int tx, String payload) {
        return req(core, s, type, tx, payload);
    }

    Session domain(int domid) {
        core.introduce(domid);
        return core.connect(domid, new FakeSink());
    }

    @Test
    void startsWithTheTreeOfCXenstored() {
        assertEquals("tool|", req(dom0, DIRECTORY, "/\0"));
        assertEquals("xenstored|", req(dom0, DIRECTORY, "/tool\0"));
        assertEquals("", req(dom0, READ, "/tool/xenstored\0"));
        assertEquals("n0|", req(dom0, GET_PERMS, "/\0"));
        assertEquals("ENOENT", req(dom0, READ, "/local/domain/0\0"));
    }

    @Test
    void writeCreatesParentsAndListsInCreationOrder() {
        assertEquals("OK", req(dom0, WRITE, "/a/b/c\0val"));
        assertEquals("val", req(dom0, READ, "/a/b/c\0"));
        assertEquals("", req(dom0, READ, "/a/b\0"));
        req(dom0, WRITE, "/a/b/0\0");
        req(dom0, WRITE, "/a/b/aa\0");
        assertEquals("c|0|aa|", req(dom0, DIRECTORY, "/a/b\0"));
        assertEquals("OK", req(dom0, WRITE, "/a/b/d\0x\0y"));
        assertEquals("x|y", req(dom0, READ, "/a/b/d\0"), "value may hold NULs");
    }

    @Test
    void relativePathsResolveUnderTheConnectionsHome() {
        assertEquals("OK", req(dom0, WRITE, "rel\u000042"));
        assertEquals("42", req(dom0, READ, "/local/domain/0/rel\0"));
        assertEquals("/local/domain/7|", req(dom0, GET_DOMAIN_PATH, "7\0"));
    }

    @Test
    void rejectsInvalidPathsAndMalformedPayloads() {
        for (String bad : List.of("/a//b\0", "/a/\0", "\0", "", "/a b\0", "@foo\0", "/tool\0extra\0", "/tool", "/\u00e9\0")) {
            assertEquals("EINVAL", req(dom0, READ, bad), bad);
        }
        assertEquals("EINVAL", req(dom0, WRITE, "/no-nul"));
        assertEquals("EINVAL", req(dom0, WATCH, "/a\0"));
        assertEquals("EINVAL", req(dom0, SET_PERMS, "/tool\0x0\0"));
        assertEquals("EINVAL", req(dom0, SET_PERMS, "/tool\0"));
        String tooLong = "/" + "a".repeat(2048);
        assertEquals("EINVAL", req(dom0, WRITE, tooLong + "\0x"));
        assertEquals("OK", req(dom0, WRITE, "/local/domain/5/" + "a".repeat(2048) + "\0x"), "home prefix not counted");
    }

    @Test
    void unknownTypesAreAnsweredWithEnosysAsCDoes() {
        for (int type : new int[] {20, 23, 30, 15, 16}) {
            core.handle(dom0, new Message(type, 9, 0, "x\0".getBytes(StandardCharsets.ISO_8859_1)));
            Message m = sink0.got.removeLast();
            assertEquals(MessageType.ERROR.code(), m.type());
            assertEquals(9, m.requestId());
            assertEquals("ENOSYS", m.text());
        }
    }

    @Test
    void rmOfRootIsRefusedAndRmOfMissingNodeNeedsAParent() {
        assertEquals("EINVAL", req(dom0, RM, "/\0"));
        assertEquals("OK", req(dom0, RM, "/nope\0"));
        assertEquals("ENOENT", req(dom0, RM, "/nope/deeper\0"));
        req(dom0, WRITE, "/x/y/z\0");
        assertEquals("OK", req(dom0, RM, "/x\0"));
        assertEquals("ENOENT", req(dom0, READ, "/x/y\0"));
        assertEquals("tool|", req(dom0, DIRECTORY, "/\0"));
    }

    @Test
    void mkdirIsFineOnExistingNodesAndKeepsTheirValue() {
        req(dom0, WRITE, "/m\0v");
        assertEquals("OK", req(dom0, MKDIR, "/m\0"));
        assertEquals("v", req(dom0, READ, "/m\0"));
        assertEquals("OK", req(dom0, MKDIR, "/m/n/o\0"));
        assertEquals("", req(dom0, READ, "/m/n\0"));
    }

    @Test
    void permissionsParseLikeStrtolAndInherit() {
        req(dom0, WRITE, "/p/a\0");
        assertEquals("OK", req(dom0, SET_PERMS, "/p\0n0\0r5\0b7\0"));
        req(dom0, WRITE, "/p/new\0");
        assertEquals("n0|r5|b7|", req(dom0, GET_PERMS, "/p/new\0"), "new child inherits");
        assertEquals("n0|", req(dom0, GET_PERMS, "/p/a\0"), "existing child keeps its own");
        assertEquals("OK", req(dom0, SET_PERMS, "/p\0r0x10\0w010\0"));
        assertEquals("r16|w8|", req(dom0, GET_PERMS, "/p\0"));
        assertEquals("ENOENT", req(dom0, SET_PERMS, "/p\0n40000\0"), "owner must be a real domain");
        assertEquals("ENOENT", req(dom0, SET_PERMS, "/nope\0n0\0"));
    }

    @Test
    void domainsSeeOnlyWhatPermissionsAllow() {
        req(dom0, WRITE, "/local/domain/5/x\0mine");
        req(dom0, SET_PERMS, "/local/domain/5\0n5\0");
        req(dom0, SET_PERMS, "/local/domain/5/x\0n5\0");
        req(dom0, WRITE, "/local/domain/6/secret\0s");
        req(dom0, WRITE, "/shared\0hello");
        Session d5 = domain(5);
        assertEquals("mine", req(d5, READ, "x\0"));
        assertEquals("OK", req(d5, WRITE, "y\0new"));
        assertEquals("n5|", req(d5, GET_PERMS, "y\0"), "created by 5, owned by 5");
        assertEquals("EACCES", req(d5, READ, "/local/domain/6/secret\0"));
        assertEquals("EACCES", req(d5, READ, "/local/domain/6/nothing\0"), "no hint that it does not exist");
        assertEquals("EACCES", req(d5, WRITE, "/local/domain/6/x\0v"));
        assertEquals("EACCES", req(d5, READ, "/shared\0"));
        req(dom0, SET_PERMS, "/shared\0n0\0r5\0");
        assertEquals("hello", req(d5, READ, "/shared\0"));
        assertEquals("EACCES", req(d5, WRITE, "/shared\0v"));
        assertEquals("ENOENT", req(d5, READ, "nothing\0"), "own home is readable, so the truth is told");
        assertEquals("EPERM", req(d5, SET_PERMS, "y\0n6\0"), "may not give away");
        assertEquals("OK", req(d5, SET_PERMS, "y\0n5\0r6\0"));
        assertEquals("EACCES", req(d5, INTRODUCE, "9\0" + "0\0" + "1\0"));
        assertEquals("EACCES", req(d5, RELEASE, "5\0"));
        assertEquals("EACCES", req(d5, IS_DOMAIN_INTRODUCED, "5\0"));
    }

    @Test
    void watchesFireForChangesBelowAndRelativeWatchesReportRelativePaths() {
        assertEquals("OK", req(dom0, WATCH, "/w\0tok\0"));
        assertEquals(List.of("/w tok"), sink0.events(), "initial event");
        assertEquals("EEXIST", req(dom0, WATCH, "/w\0tok\0"));
        req(dom0, WRITE, "/w/x/y\u00001");
        req(dom0, WRITE, "/other\u00001");
        assertEquals(List.of("/w/x/y tok"), sink0.events(), "only the path written");
        req(dom0, WATCH, "rel\0r\0");
        req(dom0, WRITE, "rel/a\0");
        assertEquals(List.of("rel r", "rel/a r"), sink0.events());
        assertEquals("ENOENT", req(dom0, UNWATCH, "/local/domain/0/rel\0x\0"));
        assertEquals("OK", req(dom0, UNWATCH, "rel\0r\0"));
        req(dom0, WRITE, "rel/b\0");
        assertEquals(List.of(), sink0.events());
    }

    @Test
    void eventOfTheWritersOwnWatchPrecedesItsReply() {
        req(dom0, WATCH, "/o\0t\0");
        sink0.events();
        core.handle(dom0, new Message(WRITE, 3, 0, "/o\0v".getBytes(StandardCharsets.ISO_8859_1)));
        assertEquals(2, sink0.got.size());
        assertEquals(MessageType.WATCH_EVENT.code(), sink0.got.get(0).type());
        assertEquals(WRITE.code(), sink0.got.get(1).type());
    }

    @Test
    void rmOfSubtreeFiresExactEventsForDescendantsAndPrefixEventForItsRoot() {
        req(dom0, WRITE, "/r/a/b\0");
        req(dom0, WRITE, "/r/a/c\0");
        req(dom0, WATCH, "/r\0top\0");
        req(dom0, WATCH, "/r/a/b\0exact\0");
        req(dom0, WATCH, "/r/a/b/never\0ne\0");
        sink0.events();
        req(dom0, RM, "/r/a\0");
        assertEquals(List.of("/r/a/b exact", "/r/a top"), sink0.events());
    }

    @Test
    void watchEventsRespectReadPermissions() {
        Session d5 = domain(5);
        FakeSink s5 = (FakeSink) d5.sink;
        assertEquals("OK", req(d5, WATCH, "/private\0p\0"));
        assertEquals("OK", req(d5, WATCH, "@introduceDomain\0i\0"));
        s5.events();
        req(dom0, WRITE, "/private/x\0secret");
        assertEquals(List.of(), s5.events(), "cannot read /private/x");
        req(dom0, SET_PERMS, "/private\0n0\0r5\0");
        assertEquals(List.of("/private p"), s5.events(), "may read it now");
        core.introduce(6);
        assertEquals(List.of(), s5.events(), "@introduceDomain is n0 by default");
        req(dom0, SET_PERMS, "@introduceDomain\0n0\0r5\0");
        core.introduce(7);
        assertEquals(List.of("@introduceDomain i"), s5.events());
    }

    @Test
    void transactionsSeeTheirOwnWritesAndConflictWithEagain() {
        Session other = core.connect(0, new FakeSink());
        req(dom0, WRITE, "/t/a\u00001");
        String tx = req(dom0, TRANSACTION_START, "\0");
        assertEquals("1|", tx);
        assertEquals("EBUSY", req(dom0, TRANSACTION_START, 1, "\0"));
        assertEquals("1", req(dom0, READ, 1, "/t/a\0"));
        assertEquals("OK", req(dom0, WRITE, 1, "/t/c\0new"));
        assertEquals("new", req(dom0, READ, 1, "/t/c\0"));
        assertEquals("ENOENT", req(dom0, READ, "/t/c\0"), "not visible outside");
        assertEquals("a|c|", req(dom0, DIRECTORY, 1, "/t\0"));
        req(other, WRITE, "/t/a\u00002");
        assertEquals("EAGAIN", req(dom0, TRANSACTION_END, 1, "T\0"));
        assertEquals("ENOENT", req(dom0, TRANSACTION_END, 1, "T\0"), "gone after EAGAIN");
        assertEquals("ENOENT", req(dom0, READ, "/t/c\0"));

        assertEquals("2|", req(dom0, TRANSACTION_START, "\0"));
        req(dom0, WRITE, 2, "/t/c\0new");
        req(other, WRITE, "/t/unrelated\0x");
        assertEquals("EAGAIN", req(dom0, TRANSACTION_END, 2, "T\0"), "the parent /t changed, as in C");

        req(dom0, TRANSACTION_START, "\0");
        req(dom0, WRITE, 3, "/t/c\0new");
        assertEquals("EINVAL", req(dom0, TRANSACTION_END, 3, "X\0"));
        assertEquals("OK", req(dom0, TRANSACTION_END, 3, "T\0"));
        assertEquals("new", req(dom0, READ, "/t/c\0"));

        req(dom0, TRANSACTION_START, "\0");
        req(dom0, WRITE, 4, "/t/d\0x");
        assertEquals("OK", req(dom0, TRANSACTION_END, 4, "F\0"));
        assertEquals("ENOENT", req(dom0, READ, "/t/d\0"));
        assertEquals("ENOENT", req(dom0, READ, 99, "/t/a\0"), "unknown transaction");
    }

    @Test
    void transactionWatchEventsFireAtCommit() {
        req(dom0, WATCH, "/tw\0w\0");
        sink0.events();
        req(dom0, TRANSACTION_START, "\0");
        req(dom0, WRITE, 1, "/tw/x\0v");
        assertEquals(List.of(), sink0.events());
        req(dom0, TRANSACTION_END, 1, "T\0");
        assertEquals(List.of("/tw/x w"), sink0.events());
    }

    @Test
    void quotasApplyToDomainsOnly() {
        core = new XenstoredCore(new Quotas(5, 100, 2, 1, 5, 1024, 2048), DomainListener.NONE);
        dom0 = core.connect(0, sink0);
        req(dom0, WRITE, "/local/domain/5\0");
        req(dom0, SET_PERMS, "/local/domain/5\0n5\0");
        Session d5 = domain(5);
        // owns /local/domain/5 already: 4 more nodes allowed
        for (int i = 0; i < 4; i++) {
            assertEquals("OK", req(d5, WRITE, "n" + i + "\0"), "node " + i);
        }
        assertEquals("ENOSPC", req(d5, WRITE, "n4\0"));
        assertEquals("OK", req(dom0, WRITE, "/local/domain/5/byDom0\0"), "dom0 is not limited");
        assertEquals("ENOSPC", req(d5, WRITE, "n0\0" + "v".repeat(100)), "entry size");
        assertEquals("OK", req(d5, WATCH, "a\0t\0"));
        assertEquals("OK", req(d5, WATCH, "b\0t\0"));
        assertEquals("OK", req(d5, WATCH, "c\0t\0"), "C allows one more than the quota");
        assertEquals("E2BIG", req(d5, WATCH, "d\0t\0"));
        assertEquals("1|", req(d5, TRANSACTION_START, "\0"));
        assertEquals("2|", req(d5, TRANSACTION_START, "\0"));
        assertEquals("ENOSPC", req(d5, TRANSACTION_START, "\0"));
        assertEquals("ENOSPC", req(d5, SET_PERMS, "n0\0n5\0r1\0r2\0r3\0r4\0r6\0"));
        assertEquals("OK", req(d5, RESET_WATCHES, ""));
        assertEquals("OK", req(d5, WATCH, "d\0t\0"));
    }

    @Test
    void introduceAndReleaseFireSpecialWatchesAndRemoveOwnedNodes() {
        req(dom0, WATCH, "@introduceDomain\0i\0");
        req(dom0, WATCH, "@releaseDomain\0r\0");
        req(dom0, WATCH, "/local\0l\0");
        sink0.events();
        assertEquals("OK", req(dom0, INTRODUCE, "5\0" + "0\0" + "3\0"));
        assertEquals(List.of("@introduceDomain i"), sink0.events());
        assertEquals(List.of(5), introduced);
        assertEquals("OK", req(dom0, INTRODUCE, "5\0" + "0\0" + "3\0"));
        assertEquals(List.of(), sink0.events(), "second introduce fires nothing");
        assertEquals("EINVAL", req(dom0, INTRODUCE, "6\0" + "0\0" + "0\0"));
        assertEquals("T|", req(dom0, IS_DOMAIN_INTRODUCED, "5\0"));
        assertEquals("ENOENT", req(dom0, READ, "/local/domain/5\0"), "INTRODUCE creates no home");
        req(dom0, WRITE, "/local/domain/5/x\0");
        req(dom0, SET_PERMS, "/local/domain/5\0n5\0r0\0");
        req(dom0, WRITE, "/local/domain/keep\0");
        Session d5 = core.connect(5, new FakeSink());
        sink0.events();
        assertEquals("OK", req(dom0, RELEASE, "5\0"));
        assertEquals(List.of("/local/domain/5 l", "@releaseDomain r"), sink0.events());
        assertTrue(((FakeSink) d5.sink).closed, "its connections are closed");
        assertEquals(List.of(5), released);
        assertEquals("keep|", req(dom0, DIRECTORY, "/local/domain\0"));
        assertEquals("ENOENT", req(dom0, RELEASE, "5\0"));
        assertEquals("EINVAL", req(dom0, RELEASE, "0\0"));
        assertEquals("F|", req(dom0, IS_DOMAIN_INTRODUCED, "5\0"));
        assertEquals(null, core.connect(5, new FakeSink()), "no new connections for a released domain");
    }

    @Test
    void permissionsForAReleasedDomainAreNotInheritedByItsSuccessor() {
        req(dom0, WRITE, "/p\0x");
        req(dom0, SET_PERMS, "/p\0n0\0r9\0");
        assertEquals("x", req(domain(9), READ, "/p\0"));
        core.release(9);
        req(dom0, WRITE, "/vm/other\0x"); // the store moves on (as in C, a domain born at a node's generation would still match)
        assertEquals("EACCES", req(domain(9), READ, "/p\0"), "a new domain 9 is not the old one");
        assertEquals("n0|r9|", req(dom0, GET_PERMS, "/p\0"));
    }

    @Test
    void directoryPartPagesLikeC() {
        req(dom0, WRITE, "/d/c\0");
        req(dom0, WRITE, "/d/d\0");
        String all = req(dom0, DIRECTORY_PART, "/d\0" + "0\0");
        String gen = all.substring(0, all.indexOf('|'));
        assertEquals(gen + "|c|d||", all);
        assertEquals(gen + "|d||", req(dom0, DIRECTORY_PART, "/d\0" + "2\0"));
        assertEquals(gen + "||", req(dom0, DIRECTORY_PART, "/d\0" + "100\0"));
        assertEquals("EINVAL", req(dom0, DIRECTORY_PART, "/d\0"));
        for (int i = 0; i < 600; i++) {
            req(dom0, WRITE, "/big/child-number-" + i + "\0");
        }
        assertEquals("E2BIG", req(dom0, DIRECTORY, "/big\0"));
        int offset = 0;
        int seen = 0;
        while (true) {
            String part = req(dom0, DIRECTORY_PART, "/big\0" + offset + "\0");
            String body = part.substring(part.indexOf('|') + 1);
            if (body.endsWith("||") || body.equals("|")) {
                seen += body.equals("|") ? 0 : body.substring(0, body.length() - 1).split("\\|").length;
                break;
            }
            seen += body.split("\\|").length;
            offset += body.length();
        }
        assertEquals(600, seen);
    }

    @Test
    void disconnectDropsWatchesAndTransactions() {
        Session d5 = domain(5);
        req(d5, WATCH, "/x\0t\0");
        req(d5, TRANSACTION_START, "\0");
        core.disconnect(d5);
        assertTrue(d5.closed);
        assertTrue(d5.watches.isEmpty());
        assertFalse(core.connect(5, new FakeSink()) == null);
    }

    /** Issue 15, defect 10: CONTROL help, print and quota answer as C xenstored 4.17 does. */
    @Test
    void controlOffersCsDebugVerbs() {
        assertEquals("check\t|print\t<string>|quota\t[<domid>]|quota-soft\t|help\t||",
                req(dom0, CONTROL, "help\0").replace('\n', '|'));
        assertEquals("OK", req(dom0, CONTROL, "print\0hello\0"));
        assertEquals("EINVAL", req(dom0, CONTROL, "print\0"));
        assertEquals("EINVAL", req(dom0, CONTROL, "log\0on\0"), "no trace log to switch");
        String quota = req(dom0, CONTROL, "quota\0");
        assertTrue(quota.startsWith("Quota settings:\nnodes            :     1000 Nodes per domain\n"), quota);
        assertTrue(quota.contains("\noutstanding      :       20 Outstanding requests per domain\n"), quota);
        assertTrue(quota.contains("\nmemory           :  2621440 Total Xenstore memory per domain (error level)\n"), quota);
        assertEquals("Quota settings:\nmemory           :  2097152 Total Xenstore memory per domain (warning level)\n|",
                req(dom0, CONTROL, "quota-soft\0"));
        Session d5 = domain(5);
        req(dom0, WRITE, "/local/domain/5\0");
        req(dom0, SET_PERMS, "/local/domain/5\0n5\0");
        assertEquals("OK", req(d5, WATCH, "x\0t\0"));
        assertEquals("1|", req(d5, TRANSACTION_START, "\0"));
        String usage = req(dom0, CONTROL, "quota\0" + "5\0");
        assertTrue(usage.startsWith("Domain 5:\nnodes           :        1\nwatches         :        1\n"
                + "transactions    :        1\n"), usage);
        assertEquals("ENOENT", req(dom0, CONTROL, "quota\0" + "9\0"));
        assertEquals("EACCES", req(d5, CONTROL, "help\0"), "privileged only");
    }
}
