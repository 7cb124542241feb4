package org.netvm.runtime.internal;

import java.io.PrintStream;
import java.time.Instant;

import org.netvm.runtime.internal.LogFormat.Severity;

/**
 * The one place log lines are printed: every source goes through one {@link LogFormat} to one stream,
 * a line at a time (lines of concurrent entries never interleave).
 *
 * <p>Until the xenstore client first connected, the components' complaints that xenstore is
 * {@code DISCONNECTED} are expected (they start before the embedded daemon or the connection is up,
 * and retry): they are printed at INFO, not WARN. After the first connection they are warnings again.
 */
final class LogSink {

    static final String XENSTORE_CLIENT = "org.netvm.xenstore.client";

    private final LogFormat format;
    private final PrintStream out;
    private volatile boolean xenstoreSeen;

    LogSink(LogFormat format, PrintStream out) {
        this.format = format;
        this.out = out;
    }

    boolean debug() {
        return format.debug();
    }

    void log(Instant time, Severity severity, String source, String message, Throwable thrown) {
        if (severity == Severity.DEBUG && !format.debug()) {
            return;
        }
        if (!xenstoreSeen && XENSTORE_CLIENT.equals(source) && message != null
                && message.startsWith("connected to xenstored")) {
            xenstoreSeen = true;
        }
        Severity shown = severity == Severity.WARN && !xenstoreSeen && disconnected(message, thrown)
                ? Severity.INFO : severity;
        var lines = format.lines(time, shown, source, message, thrown);
        synchronized (out) {
            lines.forEach(out::println);
        }
    }

    private static boolean disconnected(String message, Throwable thrown) {
        String m = (message == null ? "" : message) + (thrown == null ? "" : " " + LogFormat.rootCause(thrown));
        return m.contains("DISCONNECTED");
    }
}
