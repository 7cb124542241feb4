package org.netvm.xenstore.server.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The real xenstore clients (xenstore-utils CLIs, python3-pyxs) against the embedded server. */
class RealClientsTest {

    @TempDir
    static Path tmp;
    static EmbeddedXenstored xs;
    static Path socket;

    @BeforeAll
    static void start() throws IOException {
        socket = tmp.resolve("socket");
        xs = EmbeddedXenstored.start(socket, Options.defaults().withSocketMode("0666"));
    }

    @AfterAll
    static void stop() {
        xs.close();
    }

    @Test
    void harnessCliChecksPass() throws Exception {
        Path harness = Harness.dir();
        assumeTrue(harness != null, "tests/harness/xenstored not found");
        assumeTrue(Harness.executable("/usr/bin/xenstore-read"), "xenstore-utils not installed (run the harness's prepare.sh)");
        Harness.Result r = Harness.run(List.of(harness.resolve("test-cli.sh").toString(), socket.toString()), Map.of(), 60);
        assertEquals(0, r.exit(), r.output());
        assertTrue(r.output().contains("ALL PASS"), r.output());
    }

    @Test
    void pyxsWritesReadsTransactsConflictsAndWatches() throws Exception {
        assumeTrue(Harness.executable("/usr/bin/python3"), "no /usr/bin/python3");
        Harness.Result probe = Harness.run(List.of("/usr/bin/python3", "-c", "import pyxs"), Map.of(), 30);
        assumeTrue(probe.exit() == 0, "python3-pyxs not installed");
        Path script = tmp.resolve("pyxs_check.py");
        try (var in = RealClientsTest.class.getResourceAsStream("/pyxs_check.py")) {
            Files.copy(in, script);
        }
        Harness.Result r = Harness.run(List.of("/usr/bin/python3", script.toString(), socket.toString()), Map.of(), 60);
        assertEquals(0, r.exit(), r.output());
        assertEquals("""
                read hello
                list a
                perms n0
                missing 2
                commit True
                after commit 1 2
                conflict commit False
                lost exists False
                event /pyxs/w tok
                event /pyxs/w/x tok
                event /pyxs/w tok
                deleted False
                done
                """, r.output());
    }

    @Test
    void socketHasTheConfiguredMode() throws IOException {
        assertEquals("rw-rw-rw-", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(socket)));
    }
}
