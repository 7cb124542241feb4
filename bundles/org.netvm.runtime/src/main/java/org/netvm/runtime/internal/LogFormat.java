package org.netvm.runtime.internal;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Turns one log entry into the lines printed, the same for every source (OSGi {@code Logger} of the DS
 * components, {@code System.Logger} of vif, kernel and xenstore):
 * <ul>
 * <li>console: {@code 2026-11-27T12:00:00.123Z INFO  org.netvm.vif: message} (UTC, milliseconds);
 * <li>journal (under systemd, {@code $JOURNAL_STREAM} set): {@code <6>org.netvm.vif: message}: the syslog
 * priority prefix lets {@code journalctl -p} filter, journald adds the time itself.
 * </ul>
 * An exception is one root-cause suffix ({@code : IOException: broken pipe}); its stack trace follows,
 * at debug priority, only when debug logging is on. Every printed line of a multi-line message carries
 * the prefix, so the journal files none of them at the wrong priority.
 */
final class LogFormat {

    /** Severities, with their syslog priorities. */
    enum Severity {
        ERROR(3), WARN(4), INFO(6), DEBUG(7);

        final int priority;

        Severity(int priority) {
            this.priority = priority;
        }
    }

    private static final DateTimeFormatter TIME =
            DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSS'Z'", Locale.ROOT).withZone(ZoneOffset.UTC);

    private final boolean journal;
    private final boolean debug;

    LogFormat(boolean journal, boolean debug) {
        this.journal = journal;
        this.debug = debug;
    }

    /** Journal format when systemd connected our output to the journal ({@code JOURNAL_STREAM} set). */
    static boolean underJournal(java.util.function.Function<String, String> env) {
        String stream = env.apply("JOURNAL_STREAM");
        return stream != null && !stream.isBlank();
    }

    boolean debug() {
        return debug;
    }

    List<String> lines(Instant time, Severity severity, String source, String message, Throwable thrown) {
        String text = (message == null ? "" : message) + (thrown == null ? "" : ": " + rootCause(thrown));
        List<String> out = new ArrayList<>(2);
        String head = journal ? "" : TIME.format(time) + ' ' + String.format(Locale.ROOT, "%-5s", severity) + ' ';
        for (String line : text.split("\n", -1)) {
            out.add(prefix(severity) + head + source + ": " + line);
        }
        if (thrown != null && debug) {
            java.io.StringWriter trace = new java.io.StringWriter();
            thrown.printStackTrace(new java.io.PrintWriter(trace));
            for (String line : trace.toString().split("\n")) {
                out.add(prefix(Severity.DEBUG) + line.stripTrailing());
            }
        }
        return out;
    }

    private String prefix(Severity s) {
        return journal ? "<" + s.priority + ">" : "";
    }

    /** The innermost cause as {@code SimpleName: message} (the class alone without a message). */
    static String rootCause(Throwable t) {
        Throwable root = t;
        for (int guard = 0; root.getCause() != null && root.getCause() != root && guard < 32; guard++) {
            root = root.getCause();
        }
        String name = root.getClass().getSimpleName().isEmpty() ? root.getClass().getName()
                : root.getClass().getSimpleName();
        String m = root.getMessage();
        return m == null || m.isBlank() ? name : name + ": " + m;
    }

    /**
     * The source of a {@code System.Logger}/JUL entry named after a class: the bundle it belongs to
     * (netvm's bundle = root package, so the package up to {@code .internal}), else the package;
     * {@code org.netvm.vif.internal.VifReconciler} becomes {@code org.netvm.vif}, as the OSGi entries of
     * that bundle are named.
     */
    static String source(String loggerName) {
        if (loggerName == null || loggerName.isEmpty()) {
            return "jul";
        }
        int internal = loggerName.indexOf(".internal.");
        if (internal > 0) {
            return loggerName.substring(0, internal);
        }
        int dot = loggerName.lastIndexOf('.');
        if (dot > 0 && dot + 1 < loggerName.length() && Character.isUpperCase(loggerName.charAt(dot + 1))) {
            return loggerName.substring(0, dot);
        }
        return loggerName;
    }
}
