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

    /** A streaming command (xs watch) streams over the real socket and learns that its client went away. */
    @Test
    void aStreamingCommandSeesEachLineAtOnceAndNoticesTheClientLeaving() throws Exception {
        ControlServer s = server(0);
        CompletableFuture<Long> ended = new CompletableFuture<>();
        s.addCommand(new ControlCommand() {
            @Override
            public String summary() {
                return "streams until the client leaves";
            }

            @Override
            public int run(List<String> args, PrintStream out, PrintStream err) {
                out.println("first");
                long t0 = System.nanoTime();
                while (!out.checkError()) {
                    try {
                        Thread.sleep(50);
                    } catch (InterruptedException e) {
                        return 1;
                    }
                    if (System.nanoTime() - t0 > TimeUnit.SECONDS.toNanos(20)) {
                        ended.complete(-1L);
                        return 1;
                    }
                }
                ended.complete(System.nanoTime());
                return 0;
            }
        }, Map.of(ControlCommand.NAME, "stream"));
        try {
            long closedAt;
            try (var ch = java.nio.channels.SocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
                ch.connect(java.net.UnixDomainSocketAddress.of(dir.resolve("control.sock")));
                ch.write(java.nio.ByteBuffer.wrap(org.netvm.cli.protocol.ControlProtocol.encodeRequest(List.of("stream"))));
                java.nio.ByteBuffer frame = java.nio.ByteBuffer.allocate(5 + 6);
                while (frame.hasRemaining() && ch.read(frame) >= 0) {
                    // the first line's frame, before the command ends
                }
                assertEquals("first\n", new String(frame.array(), 5, 6, StandardCharsets.UTF_8));
                closedAt = System.nanoTime();
            }
            long end = ended.get(10, TimeUnit.SECONDS);
            assertTrue(end > 0 && TimeUnit.NANOSECONDS.toMillis(end - closedAt) < 5000, "noticed late or never");
        } finally {
            s.deactivate();
        }
    }
}
