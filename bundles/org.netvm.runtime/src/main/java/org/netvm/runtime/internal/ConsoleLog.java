package org.netvm.runtime.internal;

import java.time.Instant;
import java.util.Collections;
import java.util.List;
import java.util.Map;

import org.netvm.runtime.internal.LogFormat.Severity;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.log.LogEntry;
import org.osgi.service.log.LogLevel;
import org.osgi.service.log.LogListener;
import org.osgi.service.log.LogReaderService;
import org.osgi.service.log.Logger;
import org.osgi.service.log.admin.LoggerAdmin;

/**
 * Prints the log, one line per entry, through one {@link LogSink}: the OSGi log (DS components'
 * {@code Logger}) and {@code java.util.logging}, where plain Java code's {@code System.Logger} goes
 * (vif, kernel, xenstore). Console format outside systemd, syslog priority prefixes under it
 * ({@link LogFormat}). DEBUG and TRACE entries, framework events and SCR's own chatter below WARN are
 * dropped unless {@code netvm.log.debug=true} (then the OSGi log level is DEBUG too).
 */
@Component(immediate = true)
public final class ConsoleLog implements LogListener {

    private final LogReaderService reader;
    private final LogSink sink;

    @Activate
    public ConsoleLog(@Reference LogReaderService reader, BundleContext context,
            @Reference(cardinality = ReferenceCardinality.OPTIONAL) LoggerAdmin admin) {
        boolean debug = Boolean.parseBoolean(context.getProperty("netvm.log.debug"));
        this.reader = reader;
        this.sink = new LogSink(new LogFormat(LogFormat.underJournal(System::getenv), debug), System.out);
        if (debug && admin != null) {
            admin.getLoggerContext(null).setLogLevels(Map.of(Logger.ROOT_LOGGER_NAME, LogLevel.DEBUG));
        }
        reader.addLogListener(this);
        // entries logged before this listener existed (the log keeps a short history, newest first)
        List<LogEntry> earlier = Collections.list(reader.getLog());
        Collections.reverse(earlier);
        earlier.forEach(this::logged);
        JulBridge.install(sink);
        String version = context.getProperty("netvm.version");
        sink.log(Instant.now(), Severity.INFO, "org.netvm.runtime", "netvm " + (version == null || version.isBlank()
                ? context.getBundle().getVersion() + " (no VERSION file)" : version) + ", Java "
                + Runtime.version() + ", pid " + ProcessHandle.current().pid()
                + (debug ? ", debug logging on" : ""), null);
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
        String source = entry.getBundle() == null ? "framework" : entry.getBundle().getSymbolicName();
        if (!sink.debug() && !LogLevel.WARN.implies(level)
                && ("org.apache.felix.scr".equals(source) || isFrameworkEvent(entry))) {
            return; // framework events and SCR's chatter
        }
        sink.log(Instant.ofEpochMilli(entry.getTime()), severity(level), source, entry.getMessage(),
                entry.getException());
    }

    static Severity severity(LogLevel level) {
        return switch (level) {
            case AUDIT, ERROR -> Severity.ERROR;
            case WARN -> Severity.WARN;
            case INFO -> Severity.INFO;
            case DEBUG, TRACE -> Severity.DEBUG;
        };
    }
}
