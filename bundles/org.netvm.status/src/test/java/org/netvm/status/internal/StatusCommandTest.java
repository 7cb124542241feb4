package org.netvm.status.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import org.junit.jupiter.api.Test;

class StatusCommandTest {

    private final Fakes.Rig rig = new Fakes.Rig();
    private final StatusCommand command = new StatusCommand(rig::report);
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int run(String... args) {
        out.reset();
        err.reset();
        return command.run(List.of(args), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    private String out() {
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void theTableShowsTheVerdictTheSourcesAndOneRowPerGuest() throws Exception {
        assertEquals(0, run());
        StatusJsonTest.assertGolden("status-in-sync.txt", out());
    }

    @Test
    void degradedExitsWithOneAndListsTheReasons() throws Exception {
        rig.failVif4();
        assertEquals(1, run());
        StatusJsonTest.assertGolden("status-degraded.txt", out());
        assertEquals(1, run("--json"));
        assertTrue(out().contains("\"verdict\": \"degraded\""), out());
    }

    @Test
    void unknownArgumentsAreAUsageError() {
        assertEquals(2, run("--yaml"));
        assertEquals("usage: netvm status [--json]\n", err.toString(StandardCharsets.UTF_8));
        assertEquals(2, run("--json", "x"));
        assertThrows(IllegalArgumentException.class, () -> command.status("--nope"));
        rig.failVif4();
        assertTrue(command.status().startsWith("netvm: degraded\n"), "Gogo prints a degraded status too");
    }

    @Test
    void theProcessLineAndObjectGiveRssAndStartTime() throws Exception {
        var report = rig.report();
        var start = report.time().minusSeconds(75);
        var withProcess = new StatusCommand(() -> report, () -> new ProcessFacts("0.2.0", 71L * 1024 * 1024, start));
        var o = new ByteArrayOutputStream();
        withProcess.run(List.of(), new PrintStream(o, true, StandardCharsets.UTF_8), System.err);
        String text = o.toString(StandardCharsets.UTF_8);
        assertTrue(text.endsWith("process:   RSS 71.0 MB, started " + StatusJson.instant(start)
                + " (up 1m15s), version 0.2.0\n"), text);
        o.reset();
        withProcess.run(List.of("--json"), new PrintStream(o, true, StandardCharsets.UTF_8), System.err);
        String json = o.toString(StandardCharsets.UTF_8);
        assertTrue(json.contains("\"residentBytes\": " + 71L * 1024 * 1024), json);
        assertTrue(json.contains("\"start\": \"" + StatusJson.instant(start) + "\""), json);
    }
}
