package org.netvm.testing.io;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * What a command printed: its exit status and its stdout and stderr as UTF-8 text. For commands that
 * write to two {@link PrintStream}s, such as a {@code ControlCommand}:
 *
 * <pre>{@code
 * Captured r = Captured.run((out, err) -> command.run(List.of("list"), out, err));
 * assertEquals(0, r.status());
 * }</pre>
 */
public record Captured(int status, String out, String err) {

    /** A command that prints to {@code out} and {@code err} and returns its exit status. */
    @FunctionalInterface
    public interface Printing {
        int run(PrintStream out, PrintStream err);
    }

    /** Runs {@code command} with fresh streams (autoflush) and returns what it printed. */
    public static Captured run(Printing command) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = command.run(new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Captured(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }
}
