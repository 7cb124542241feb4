package org.netvm.xenstore.server.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.netvm.xenstore.wire.Message;
import org.netvm.xenstore.wire.MessageType;

/**
 * Replays one request sequence against the real C xenstored (started with the test harness) and
 * against the embedded server, and compares everything each connection receives: replies, error
 * names, listings, watch events and their order. Skipped when the C daemon cannot be started.
 */
class CompareWithCXenstoredTest {

    record Step(int conn, int type, int tx, String payload) {
    }

    @TempDir
    static Path tmp;
    static long cPid = -1;
    static Path cSocket;

    @BeforeAll
    static void startC() throws Exception {
        Path harness = Harness.dir();
        assumeTrue(harness != null, "no tests/harness/xenstored");
        assumeTrue(Harness.executable("/usr/bin/xenstore-read"), "xenstore-utils missing (run the harness's prepare.sh)");
        cSocket = tmp.resolve("c/socket");
        Harness.Result r = Harness.run(List.of(harness.resolve("start-xenstored.sh").toString(), cSocket.toString()),
                Map.of(), 120);
        assumeTrue(r.exit() == 0, "C xenstored did not start: " + r.output());
        String[] lines = r.output().strip().split("\n");
        cPid = Long.parseLong(lines[lines.length - 1].strip());
    }

    @AfterAll
    static void stopC() {
        if (cPid > 0) {
            ProcessHandle.of(cPid).ifPresent(ProcessHandle::destroy);
        }
    }

    static Step s(int conn, MessageType type, String payload) {
        return new Step(conn, type.code(), 0, payload);
    }

    static Step s(int conn, MessageType type, int tx, String payload) {
        return new Step(conn, type.code(), tx, payload);
    }

    static List<Step> script() {
        List<Step> l = new ArrayList<>();
        // the initial tree
        l.add(s(0, MessageType.DIRECTORY, "/\0"));
        l.add(s(0, MessageType.GET_PERMS, "/tool/xenstored\0"));
        l.add(s(0, MessageType.READ, "/local/domain/0\0"));
        // watches (one relative) on the second connection
        l.add(s(1, MessageType.WATCH, "/cmp\0tok\0"));
        l.add(s(1, MessageType.WATCH, "cmprel\0rel\0"));
        l.add(s(1, MessageType.WATCH, "/cmp\0tok\0"));
        // writes create parents; listing order is creation order
        l.add(s(0, MessageType.WRITE, "/cmp/a/b\0v"));
        l.add(s(0, MessageType.WRITE, "/cmp/z\0"));
        l.add(s(0, MessageType.WRITE, "/cmp/c\0x\0y"));
        l.add(s(0, MessageType.DIRECTORY, "/cmp\0"));
        l.add(s(0, MessageType.READ, "/cmp/a\0"));
        l.add(s(0, MessageType.READ, "/cmp/c\0"));
        l.add(s(0, MessageType.DIRECTORY_PART, "/cmp\0" + "0\0"));
        l.add(s(0, MessageType.DIRECTORY_PART, "/cmp\0" + "2\0"));
        l.add(s(0, MessageType.DIRECTORY_PART, "/cmp\0" + "99\0"));
        // permissions: parsing, inheritance
        l.add(s(0, MessageType.SET_PERMS, "/cmp/a\0n0\0r5\0b7\0"));
        l.add(s(0, MessageType.WRITE, "/cmp/a/new\0"));
        l.add(s(0, MessageType.GET_PERMS, "/cmp/a/new\0"));
        l.add(s(0, MessageType.GET_PERMS, "/cmp/a/b\0"));
        l.add(s(0, MessageType.SET_PERMS, "/cmp/z\0r0x10\0w010\0"));
        l.add(s(0, MessageType.GET_PERMS, "/cmp/z\0"));
        l.add(s(0, MessageType.SET_PERMS, "/cmp/z\0n40000\0"));
        l.add(s(0, MessageType.SET_PERMS, "/cmp/z\0q1\0"));
        l.add(s(0, MessageType.SET_PERMS, "/cmp/nope\0n0\0"));
        // mkdir
        l.add(s(0, MessageType.MKDIR, "/cmp/a\0"));
        l.add(s(0, MessageType.MKDIR, "/cmp/m/n\0"));
        // invalid paths
        l.add(s(0, MessageType.READ, "/cmp/\0"));
        l.add(s(0, MessageType.READ, "/cmp//a\0"));
        l.add(s(0, MessageType.WRITE, "/cmp/a b\0x"));
        l.add(s(0, MessageType.READ, "@cmp\0"));
        // relative paths and relative watch events
        l.add(s(0, MessageType.WRITE, "cmprel/x\0001"));
        l.add(s(0, MessageType.READ, "/local/domain/0/cmprel/x\0"));
        // rm: exact events for descendants, prefix events for the root
        l.add(s(1, MessageType.WATCH, "/cmp/a/b\0exact\0"));
        l.add(s(1, MessageType.WATCH, "/cmp/a/b/never\0never\0"));
        l.add(s(0, MessageType.RM, "/cmp/a\0"));
        l.add(s(0, MessageType.RM, "/\0"));
        l.add(s(0, MessageType.RM, "/cmp/nope\0"));
        l.add(s(0, MessageType.RM, "/cmp/nope/deeper\0"));
        l.add(s(0, MessageType.RM, "cmprel\0"));
        // unknown and reply-only types
        l.add(s(0, MessageType.WATCH_EVENT, "x\0"));
        l.add(new Step(0, 30, 0, "x\0"));
        l.add(new Step(0, 20, 0, "x\0"));
        // transactions
        l.add(s(0, MessageType.TRANSACTION_START, "\0"));
        l.add(s(0, MessageType.TRANSACTION_START, 1, "\0"));
        l.add(s(0, MessageType.READ, 1, "/cmp/m\0"));
        l.add(s(0, MessageType.WRITE, 1, "/cmp/t\0001"));
        l.add(s(0, MessageType.READ, 1, "/cmp/t\0"));
        l.add(s(0, MessageType.READ, "/cmp/t\0"));
        l.add(s(0, MessageType.DIRECTORY, 1, "/cmp\0"));
        l.add(s(1, MessageType.WRITE, "/cmp/m\0changed"));
        l.add(s(0, MessageType.TRANSACTION_END, 1, "T\0"));
        l.add(s(0, MessageType.TRANSACTION_END, 1, "T\0"));
        l.add(s(0, MessageType.TRANSACTION_START, "\0"));
        l.add(s(0, MessageType.WRITE, 2, "/cmp/t\0001"));
        l.add(s(0, MessageType.RM, 2, "/cmp/z\0"));
        l.add(s(0, MessageType.TRANSACTION_END, 2, "X\0"));
        l.add(s(0, MessageType.TRANSACTION_END, 2, "T\0"));
        l.add(s(0, MessageType.DIRECTORY, "/cmp\0"));
        l.add(s(0, MessageType.TRANSACTION_START, "\0"));
        l.add(s(0, MessageType.WRITE, 3, "/cmp/f\0001"));
        l.add(s(0, MessageType.TRANSACTION_END, 3, "F\0"));
        l.add(s(0, MessageType.READ, "/cmp/f\0"));
        l.add(s(0, MessageType.READ, 77, "/cmp\0"));
        l.add(s(0, MessageType.TRANSACTION_END, "T\0"));
        // domains and special watches
        l.add(s(1, MessageType.WATCH, "@introduceDomain\0i\0"));
        l.add(s(1, MessageType.WATCH, "@releaseDomain\0r\0"));
        l.add(s(1, MessageType.WATCH, "/local\0l\0"));
        l.add(s(0, MessageType.INTRODUCE, "7\0" + "0\0" + "3\0"));
        l.add(s(0, MessageType.INTRODUCE, "7\0" + "0\0" + "3\0"));
        l.add(s(0, MessageType.INTRODUCE, "8\0" + "0\0" + "0\0"));
        l.add(s(0, MessageType.IS_DOMAIN_INTRODUCED, "7\0"));
        l.add(s(0, MessageType.IS_DOMAIN_INTRODUCED, "8\0"));
        l.add(s(0, MessageType.GET_DOMAIN_PATH, "7\0"));
        l.add(s(0, MessageType.READ, "/local/domain/7\0"));
        l.add(s(0, MessageType.WRITE, "/local/domain/7/x\0"));
        l.add(s(0, MessageType.SET_PERMS, "/local/domain/7\0n7\0r0\0"));
        l.add(s(0, MessageType.RELEASE, "7\0"));
        l.add(s(0, MessageType.RELEASE, "7\0"));
        l.add(s(0, MessageType.RELEASE, "0\0"));
        l.add(s(0, MessageType.DIRECTORY, "/local/domain\0"));
        l.add(s(0, MessageType.CONTROL, "check\0"));
        l.add(s(0, MessageType.CONTROL, "check\0x\0"));
        l.add(s(0, MessageType.CONTROL, "print\0hello from the comparison\0"));
        l.add(s(0, MessageType.CONTROL, "print\0"));
        l.add(s(0, MessageType.CONTROL, "help\0x\0"));
        l.add(s(0, MessageType.CONTROL, "quota-soft\0"));
        l.add(s(0, MessageType.CONTROL, "quota-soft\0" + "0\0"));
        l.add(s(0, MessageType.CONTROL, "quota\0" + "1\0"));
        l.add(s(0, MessageType.CONTROL, "no-such-verb\0"));
        // unwatch and reset
        l.add(s(1, MessageType.UNWATCH, "cmprel\0rel\0"));
        l.add(s(1, MessageType.UNWATCH, "cmprel\0rel\0"));
        l.add(s(1, MessageType.RESET_WATCHES, ""));
        l.add(s(0, MessageType.WRITE, "/cmp/after\0"));
        l.add(s(0, MessageType.RM, "/cmp\0"));
        return l;
    }

    static String render(int conn, Message m) {
        MessageType t = m.messageType();
        String body = RawClient.render(m);
        if (t == MessageType.DIRECTORY_PART) {
            body = body.replaceFirst("^[0-9]+\\|", "GEN|"); // generation counters differ by design
        }
        return conn + " " + (t == null ? "type" + m.type() : t.name()) + " req=" + m.requestId() + " tx=" + m.txId()
                + " " + body;
    }

    /** Runs the script; after each step every connection is synced (GET_DOMAIN_PATH) so all its events are in. */
    static String transcript(Path socket) throws Exception {
        List<String> out = new ArrayList<>();
        try (RawClient c0 = new RawClient(socket); RawClient c1 = new RawClient(socket)) {
            RawClient[] conns = {c0, c1};
            for (Step st : script()) {
                out.add("> " + st.conn() + " " + st.type() + " tx=" + st.tx() + " " + st.payload().replace('\0', '|'));
                for (Message m : conns[st.conn()].call(st.type(), st.tx(), RawClient.bytes(st.payload()))) {
                    out.add(render(st.conn(), m));
                }
                for (int i = 0; i < conns.length; i++) {
                    List<Message> got = conns[i].call(MessageType.GET_DOMAIN_PATH.code(), 0, RawClient.bytes("0\0"));
                    for (Message m : got.subList(0, got.size() - 1)) {
                        out.add(render(i, m));
                    }
                }
            }
        }
        return String.join("\n", out);
    }

    @Test
    void sameRepliesAndEventsAsCXenstored() throws Exception {
        String expected = transcript(cSocket);
        try (EmbeddedXenstored xs = EmbeddedXenstored.start(tmp.resolve("j/socket"), Options.defaults())) {
            String actual = transcript(xs.socketPath());
            if (!expected.equals(actual)) {
                java.nio.file.Files.writeString(Path.of("target/compare-c.txt"), expected);
                java.nio.file.Files.writeString(Path.of("target/compare-embedded.txt"), actual);
            }
            assertEquals(expected, actual, "diff target/compare-c.txt target/compare-embedded.txt");
        }
    }

    @Test
    void sameTreeAfterTheCliHarness() throws Exception {
        Path harness = Harness.dir();
        try (EmbeddedXenstored xs = EmbeddedXenstored.start(tmp.resolve("k/socket"), Options.defaults())) {
            for (Path sock : List.of(cSocket, xs.socketPath())) {
                Harness.Result r = Harness.run(List.of(harness.resolve("test-cli.sh").toString(), sock.toString()), Map.of(), 60);
                assertEquals(0, r.exit(), sock + ": " + r.output());
            }
            Harness.Result c = Harness.run(List.of("/usr/bin/xenstore-ls", "-f", "-p", "/local"), Map.of("XENSTORED_PATH", cSocket.toString()), 30);
            Harness.Result j = Harness.run(List.of("/usr/bin/xenstore-ls", "-f", "-p", "/local"), Map.of("XENSTORED_PATH", xs.socketPath().toString()), 30);
            assertEquals(c, j);
        }
    }

}
