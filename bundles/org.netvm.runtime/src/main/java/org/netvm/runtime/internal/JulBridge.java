package org.netvm.runtime.internal;

import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.SimpleFormatter;

import org.netvm.runtime.internal.LogFormat.Severity;

/**
 * {@code java.util.logging} (and so {@code System.Logger}, which goes there) into the {@link LogSink}:
 * the root logger's handlers are replaced by one that hands every record over, named after its bundle
 * ({@link LogFormat#source}).
 */
final class JulBridge extends Handler {

    private final LogSink sink;
    private final SimpleFormatter text = new SimpleFormatter();

    JulBridge(LogSink sink) {
        this.sink = sink;
    }

    static void install(LogSink sink) {
        java.util.logging.Logger root = java.util.logging.Logger.getLogger("");
        for (Handler h : root.getHandlers()) {
            root.removeHandler(h);
        }
        root.setLevel(sink.debug() ? Level.FINE : Level.INFO);
        root.addHandler(new JulBridge(sink));
    }

    static Severity severity(Level level) {
        int v = level.intValue();
        return v >= Level.SEVERE.intValue() ? Severity.ERROR
                : v >= Level.WARNING.intValue() ? Severity.WARN
                : v >= Level.INFO.intValue() ? Severity.INFO : Severity.DEBUG;
    }

    @Override
    public void publish(LogRecord r) {
        if (r == null || !isLoggable(r)) {
            return;
        }
        sink.log(r.getInstant(), severity(r.getLevel()), LogFormat.source(r.getLoggerName()), text.formatMessage(r),
                r.getThrown());
    }

    @Override
    public void flush() {
        // every line is printed whole
    }

    @Override
    public void close() {
        // nothing held
    }
}
