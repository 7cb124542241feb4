package org.netvm.runtime.internal;

import java.io.PrintStream;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.log.LogEntry;
import org.osgi.service.log.LogLevel;
import org.osgi.service.log.LogListener;
import org.osgi.service.log.LogReaderService;

/**
 * Prints log entries as one readable line each: {@code 2026-11-27T12:00:00.123Z INFO  bundle: message}.
 * DEBUG and TRACE entries, framework events and SCR's own chatter below WARN are dropped unless
 * {@code netvm.log.debug=true}.
 */
@Component(immediate = true)
public final class ConsoleLog implements LogListener {

    private static final DateTimeFormatter TIME = DateTimeFormatter.ISO_INSTANT.withZone(ZoneOffset.UTC);

    private final LogReaderService reader;
    private final PrintStream out;
    private final boolean debug;

    @Activate
    public ConsoleLog(@Reference LogReaderService reader, org.osgi.framework.BundleContext context) {
        this.reader = reader;
        this.out = System.out;
        this.debug = Boolean.parseBoolean(context.getProperty("netvm.log.debug"));
        reader.addLogListener(this);
        // entries logged before this listener existed (the log keeps a short history, newest first)
        java.util.List<LogEntry> earlier = java.util.Collections.list(reader.getLog());
        java.util.Collections.reverse(earlier);
        earlier.forEach(this::logged);
        installJulBridge();
    }

    /**
     * Plain-Java code (e.g. the xenstore client's System.Logger, which goes to java.util.logging)
     * prints in the same one-line format instead of JUL's two-line default.
     */
    private void installJulBridge() {
        java.util.logging.Logger root = java.util.logging.Logger.getLogger("");
        for (java.util.logging.Handler h : root.getHandlers()) {
            root.removeHandler(h);
        }
        root.setLevel(debug ? java.util.logging.Level.FINE : java.util.logging.Level.INFO);
        root.addHandler(new java.util.logging.Handler() {
            @Override
            public void publish(java.util.logging.LogRecord r) {
                if (!isLoggable(r)) {
                    return;
                }
                String message = new java.util.logging.SimpleFormatter().formatMessage(r);
                String level = r.getLevel().intValue() >= java.util.logging.Level.SEVERE.intValue() ? "ERROR"
                        : r.getLevel().intValue() >= java.util.logging.Level.WARNING.intValue() ? "WARN"
                        : r.getLevel().intValue() >= java.util.logging.Level.INFO.intValue() ? "INFO" : "DEBUG";
                String source = r.getLoggerName() == null ? "jul" : r.getLoggerName();
                out.println(TIME.format(r.getInstant()) + ' ' + String.format("%-5s", level) + ' ' + source + ": "
                        + message + (r.getThrown() == null ? "" : ": " + r.getThrown()));
            }

            @Override
            public void flush() {
                out.flush();
            }

            @Override
            public void close() {
            }
        });
    }

    @Deactivate
    void deactivate() {
        reader.removeLogListener(this);
    }

    private static boolean isFrameworkEvent(LogEntry entry) {
        String logger = entry.getLoggerName();
        String message = entry.getMessage();
        return (logger != null && logger.startsWith("Events."))
                || (message != null && (message.startsWith("ServiceEvent ") || message.startsWith("BundleEvent ")
                        || message.startsWith("FrameworkEvent ")));
    }

    @Override
    public void logged(LogEntry entry) {
        LogLevel level = entry.getLogLevel();
        if (!debug && (level == LogLevel.DEBUG || level == LogLevel.TRACE)) {
            return;
        }
        String source = entry.getBundle() == null ? "framework" : entry.getBundle().getSymbolicName();
        if (!debug && !LogLevel.WARN.implies(level)
                && ("org.apache.felix.scr".equals(source) || isFrameworkEvent(entry))) {
            return; // framework events and SCR's chatter
        }
        StringBuilder line = new StringBuilder(128).append(TIME.format(Instant.ofEpochMilli(entry.getTime())))
                .append(' ').append(String.format("%-5s", level)).append(' ').append(source).append(": ")
                .append(entry.getMessage());
        if (entry.getException() != null) {
            line.append(": ").append(entry.getException());
        }
        out.println(line);
        if (entry.getException() != null && (debug || level == LogLevel.ERROR)) {
            entry.getException().printStackTrace(out);
        }
    }
}
