package org.netvm.testing.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.osgi.service.log.Logger;

class LoggersTest {

    @Test
    void recordsOneLinePerCallWithItsLevel() {
        List<String> lines = new ArrayList<>();
        Logger log = Loggers.recording(lines);
        log.error("thread {} died", "t", new IllegalStateException());
        log.warn("plain");
        log.info("a {} b {}", 1, 2);
        log.debug("d {} {} {}", 1, 2, 3);
        assertEquals(List.of("ERROR thread {} died", "WARN plain", "INFO a {} b {}", "DEBUG d {} {} {}"), lines);
        assertTrue(log.isDebugEnabled());
    }

    @Test
    void aFormattingLoggerPutsTheArgumentsInPlace() {
        List<String> lines = new ArrayList<>();
        Logger log = Loggers.formatting(lines);
        log.info("{}", "text with {braces}");
        log.warn("a {} b {}", 1, 2);
        log.error("d {} {} {}", 1, 2, 3);
        log.debug("more {} than arguments {}", "x");
        log.trace("plain");
        assertEquals(List.of("INFO text with {braces}", "WARN a 1 b 2", "ERROR d 1 2 3",
                "DEBUG more x than arguments {}", "TRACE plain"), lines);
    }

    @Test
    void aQuietLoggerAcceptsEverything() {
        Logger log = Loggers.quiet();
        log.error("x {}", 1, new RuntimeException());
        log.trace("y");
        assertTrue(log.isTraceEnabled());
        assertEquals(log, log);
    }
}
