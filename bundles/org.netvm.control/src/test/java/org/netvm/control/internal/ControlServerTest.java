package org.netvm.control.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.netvm.control.ControlCommand;
import org.netvm.testing.config.Configs;
import org.netvm.testing.log.Loggers;

/** The control socket while the agent starts: a request for a command that registers later waits for it. */
class ControlServerTest {

    @TempDir
    Path dir;

    private ControlServer server(int graceSeconds) throws Exception {
        ControlServer.Config config = Configs.of(ControlServer.Config.class,
                "socketPath", dir.resolve("control.sock").toString(), "startupGraceSeconds", graceSeconds);
        return new ControlServer(config, Loggers.quiet());
    }

    private static ControlCommand answering(int status) {
        return new ControlCommand() {
            @Override
            public String summary() {
                return "test";
            }

            @Override
            public int run(List<String> args, PrintStream out, PrintStream err) {
                out.print("ran " + args);
                return status;
            }
        };
    }

    private static int dispatch(ControlServer s, ByteArrayOutputStream out, String... args) {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        return s.dispatch(List.of(args), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    @Test
    void aRequestDuringStartUpWaitsForItsCommand() throws Exception {
        ControlServer s = server(30);
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            CompletableFuture<Integer> call = CompletableFuture.supplyAsync(() -> dispatch(s, out, "vif", "list"));
            Thread.sleep(300);
            assertTrue(!call.isDone(), "answered before the command existed");
            s.addCommand(answering(7), Map.of(ControlCommand.NAME, "vif"));
            assertEquals(7, call.get(5, TimeUnit.SECONDS));
            assertEquals("ran [list]", out.toString(StandardCharsets.UTF_8));
        } finally {
            s.deactivate();
        }
    }

    @Test
    void afterStartUpAnUnknownCommandFailsAtOnce() throws Exception {
        ControlServer s = server(0);
        try {
            long t0 = System.nanoTime();
            assertEquals(2, dispatch(s, new ByteArrayOutputStream(), "nosuch"));
            assertTrue(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0) < 1000);
        } finally {
            s.deactivate();
        }
    }

    @Test
    void aCommandThatWentAwayIsNotWaitedFor() throws Exception {
        ControlServer s = server(60);
        try {
            ControlCommand c = answering(0);
            s.addCommand(c, Map.of(ControlCommand.NAME, "echo"));
            s.removeCommand(c, Map.of(ControlCommand.NAME, "echo"));
            long t0 = System.nanoTime();
            assertEquals(2, dispatch(s, new ByteArrayOutputStream(), "echo"));
            assertTrue(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0) < 1000);
        } finally {
            s.deactivate();
        }
    }

    @Test
    void stoppingReleasesWaitingRequests() throws Exception {
        ControlServer s = server(60);
        CompletableFuture<Integer> call = CompletableFuture.supplyAsync(() -> dispatch(s, new ByteArrayOutputStream(), "vif"));
        Thread.sleep(200);
        s.deactivate();
        assertEquals(2, call.get(5, TimeUnit.SECONDS));
    }
}
