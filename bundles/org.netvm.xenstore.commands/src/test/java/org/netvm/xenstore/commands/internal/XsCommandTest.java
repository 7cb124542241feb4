package org.netvm.xenstore.commands.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;
import org.netvm.testing.io.Captured;
import org.netvm.testing.xenstore.FakeXenStore;

/** {@code netvm xs}: argument parsing and usage errors (exit 2, nothing written), store errors (exit 1). */
class XsCommandTest {

    private final FakeXenStore store = new FakeXenStore();
    private final XsCommand xs = new XsCommand(store);
    private Captured last;

    private int run(String... args) {
        last = Captured.run((out, err) -> xs.run(List.of(args), out, err));
        return last.status();
    }

    private String out() {
        return last.out();
    }

    private String err() {
        return last.err();
    }

    @Test
    void wrongArgumentCountsPrintTheUsageAndChangeNothing() {
        String[][] cases = {
            {}, {"nosuch"}, {"read"}, {"write"}, {"write", "/a"}, {"write", "/a", "1", "/b"},
            {"ls", "/a", "/b"}, {"mkdir"}, {"mkdir", "/a", "/b"}, {"rm"}, {"chmod", "/a"},
            {"watch"}, {"watch", "/a", "1", "2"}, {"introduce"}, {"introduce", "5", "1"},
            {"introduce", "5", "1", "2", "3"}, {"release"}, {"release", "5", "6"},
        };
        for (String[] c : cases) {
            assertEquals(2, run(c), List.of(c).toString());
            assertTrue(err().startsWith("usage: netvm xs read PATH..."), List.of(c) + ": " + err());
            assertEquals("", out(), List.of(c).toString());
        }
        assertEquals(List.of(), store.writes());
        assertEquals(null, store.get("/a"));
    }

    @Test
    void malformedArgumentsFailWithTheirReason() {
        for (String bad : new String[] {"-1", "01", "abc", "32752", "99999", "1 ", ""}) {
            assertEquals(2, run("release", bad), bad);
            assertEquals("xs release: not a domain id: " + bad + "\n", err(), bad);
            assertEquals(2, run("introduce", bad), bad);
        }
        assertEquals(2, run("introduce", "5", "x", "1"));
        assertEquals(2, run("introduce", "5", "1", "port"));
        assertEquals(2, run("watch", "/a", "many"));
        assertEquals(2, run("chmod", "/a", "z0"));
        assertEquals(2, run("chmod", "/a", "n0", "r"));
        assertTrue(err().startsWith("xs chmod: bad permission: r"), err());
        assertEquals(List.of(), store.writes());
    }

    @Test
    void storeErrorsExitOne() {
        assertEquals(1, run("read", "/missing"));
        assertTrue(err().startsWith("xs read: "), err());
        assertEquals(1, run("introduce", "5"), "the fake store has no domains: ENOSYS");
        store.failReads(true);
        store.put("/a", "1");
        assertEquals(1, run("ls", "/a"));
    }

    @Test
    void writeIsOneTransactionAndReadPrintsEachValue() {
        assertEquals(0, run("write", "/a", "1", "/b", "two words"));
        assertEquals(List.of("/a=1", "/b=two words"), store.writes());
        assertEquals(0, run("read", "/a", "/b"));
        assertEquals("1\ntwo words\n", out());
        assertEquals("", err());
    }

    @Test
    void lsEscapesGuestValuesSoTheyCannotForgeLines() {
        store.put("/local/domain/3/name", "evil\"\n/x = \"y\\");
        assertEquals(0, run("ls", "/local/domain/3"));
        assertEquals("/local/domain/3/name = \"evil\\\"\\x0a/x = \\\"y\\\\\"\n", out());
    }

    @Test
    void watchPrintsCountEventsThenEnds() {
        assertEquals(0, run("watch", "/a", "1"));
        assertEquals("/a\n", out(), "a new watch fires once at once");
        assertEquals(List.of(), store.watchedPaths(), "the watch is closed");
    }
}
