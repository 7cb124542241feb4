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
    void aQuietLoggerAcceptsEverything() {
        Logger log = Loggers.quiet();
        log.error("x {}", 1, new RuntimeException());
        log.trace("y");
        assertTrue(log.isTraceEnabled());
        assertEquals(log, log);
    }
}
