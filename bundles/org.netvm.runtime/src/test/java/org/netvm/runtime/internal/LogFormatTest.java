package org.netvm.runtime.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.LogRecord;

import org.junit.jupiter.api.Test;
import org.netvm.runtime.internal.LogFormat.Severity;

class LogFormatTest {

    private static final Instant T = Instant.parse("2026-11-27T12:00:00Z");

    @Test
    void underJournalStreamEveryLineHasThePriorityAndNoTimestamp() {
        assertTrue(LogFormat.underJournal(Map.of("JOURNAL_STREAM", "8:12345")::get));
        LogFormat f = new LogFormat(true, false);
        assertEquals(List.of("<3>org.netvm.dataplane: apply failed"),
                f.lines(T, Severity.ERROR, "org.netvm.dataplane", "apply failed", null));
        assertEquals(List.of("<4>org.netvm.vif: w"), f.lines(T, Severity.WARN, "org.netvm.vif", "w", null));
        assertEquals(List.of("<6>org.netvm.vif: i"), f.lines(T, Severity.INFO, "org.netvm.vif", "i", null));
        assertEquals(List.of("<7>org.netvm.vif: d"), f.lines(T, Severity.DEBUG, "org.netvm.vif", "d", null));
        assertEquals(List.of("<4>org.netvm.dns: two", "<4>org.netvm.dns: lines"),
                f.lines(T, Severity.WARN, "org.netvm.dns", "two\nlines", null));
    }

    @Test
    void outsideSystemdTheConsoleFormatWithMilliseconds() {
        assertEquals(false, LogFormat.underJournal(Map.<String, String>of()::get));
        LogFormat f = new LogFormat(false, false);
        assertEquals(List.of("2026-11-27T12:00:00.000Z INFO  org.netvm.vif: up"),
                f.lines(T, Severity.INFO, "org.netvm.vif", "up", null));
        assertEquals(List.of("2026-11-27T12:00:00.123Z WARN  org.netvm.vif: x"),
                f.lines(T.plusNanos(123_456_789), Severity.WARN, "org.netvm.vif", "x", null));
    }

    @Test
    void anExceptionIsOneRootCauseLineAndItsTraceOnlyWithDebug() {
        Exception e = new IllegalStateException("apply", new UncheckedIOException(new IOException("broken pipe")));
        assertEquals(List.of("<3>org.netvm.dataplane: apply failed: IOException: broken pipe"),
                new LogFormat(true, false).lines(T, Severity.ERROR, "org.netvm.dataplane", "apply failed", e));
        List<String> debug = new LogFormat(true, true).lines(T, Severity.ERROR, "org.netvm.dataplane", "apply failed", e);
        assertEquals("<3>org.netvm.dataplane: apply failed: IOException: broken pipe", debug.get(0));
        assertTrue(debug.size() > 3, debug.toString());
        assertTrue(debug.stream().skip(1).allMatch(l -> l.startsWith("<7>")), debug.toString());
        assertEquals("NullPointerException", LogFormat.rootCause(new NullPointerException()));
    }

    @Test
    void systemLoggerNamesBecomeTheBundleName() {
        assertEquals("org.netvm.vif", LogFormat.source("org.netvm.vif.internal.VifReconciler"));
        assertEquals("org.netvm.xenstore.client", LogFormat.source("org.netvm.xenstore.client.internal.DaemonLink"));
        assertEquals("org.netvm.util", LogFormat.source("org.netvm.util.Reconciler"));
        assertEquals("some.logger", LogFormat.source("some.logger"));
        assertEquals("jul", LogFormat.source(null));
    }

    @Test
    void bothSourcesGoThroughOneSinkAndTheFirstDisconnectIsNoWarning() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        LogSink sink = new LogSink(new LogFormat(true, false), new PrintStream(bytes, true, StandardCharsets.UTF_8));
        sink.log(T, ConsoleLog.severity(org.osgi.service.log.LogLevel.WARN), "org.netvm.policy",
                "cannot read x, retrying: XenStoreException: DISCONNECTED (x)", null);
        sink.log(T, Severity.DEBUG, "org.netvm.vif", "not shown without debug", null);
        LogRecord r = new LogRecord(Level.INFO, "connected to xenstored at {0} ({1})");
        r.setParameters(new Object[] {"/run/xs", "unix"});
        r.setLoggerName("org.netvm.xenstore.client.internal.DaemonLink");
        new JulBridge(sink).publish(r);
        sink.log(T, Severity.WARN, "org.netvm.policy", "cannot read x, retrying: XenStoreException: DISCONNECTED (x)",
                null);
        assertEquals("""
                <6>org.netvm.policy: cannot read x, retrying: XenStoreException: DISCONNECTED (x)
                <6>org.netvm.xenstore.client: connected to xenstored at /run/xs (unix)
                <4>org.netvm.policy: cannot read x, retrying: XenStoreException: DISCONNECTED (x)
                """, bytes.toString(StandardCharsets.UTF_8));
    }
}
