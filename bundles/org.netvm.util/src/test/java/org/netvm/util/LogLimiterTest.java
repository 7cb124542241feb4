package org.netvm.util;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

class LogLimiterTest {

    private final AtomicLong now = new AtomicLong();
    private final LogLimiter limiter = new LogLimiter(3, 1_000_000_000L, now::get);

    @Test
    void aFloodingKeyIsCutAfterTheLimitAndSummarizedOnceItsWindowIsOver() {
        List<String> logged = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            logged.addAll(limiter.admit("vif3.0", "line " + i));
            now.addAndGet(10_000_000L); // 100 lines per second
        }
        logged.addAll(limiter.admit("vif4.0", "other guest"));
        assertEquals(List.of("line 0", "line 1", "line 2", "other guest"), logged, "one key does not silence another");
        assertEquals(List.of(), limiter.drain(), "the window is not over yet");
        now.addAndGet(600_000_000L);
        assertEquals(List.of("suppressed 47 log line(s) about vif3.0 (more than 3 in 1000 ms)"), limiter.drain());
        assertEquals(List.of("line 50"), limiter.admit("vif3.0", "line 50"), "a new window starts clean");
    }

    @Test
    void theNextAdmittedLineCarriesTheSummaryWhenNothingDrained() {
        for (int i = 0; i < 5; i++) {
            limiter.admit("k", "x");
        }
        now.addAndGet(2_000_000_000L);
        assertEquals(List.of("suppressed 2 log line(s) about k (more than 3 in 1000 ms)", "y"), limiter.admit("k", "y"));
    }
}
