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

    @Test
    void drainSummarizesEachWindowOnceItIsOverWhicheverKeyEndsFirst() {
        for (int i = 0; i < 5; i++) {
            limiter.admit("a", "x"); // a's window: 0 .. 1 s
        }
        now.set(400_000_000L);
        for (int i = 0; i < 4; i++) {
            limiter.admit("b", "x"); // b's window: 0.4 .. 1.4 s
        }
        now.set(900_000_000L);
        assertEquals(List.of(), limiter.drain());
        now.set(1_000_000_000L);
        assertEquals(List.of("suppressed 2 log line(s) about a (more than 3 in 1000 ms)"), limiter.drain());
        now.set(1_300_000_000L);
        assertEquals(List.of(), limiter.drain(), "b's window is not over");
        for (int i = 0; i < 4; i++) {
            limiter.admit("a", "y"); // a again: a new window 1.3 .. 2.3 s
        }
        now.set(1_400_000_000L);
        assertEquals(List.of("suppressed 1 log line(s) about b (more than 3 in 1000 ms)"), limiter.drain());
        now.set(2_299_000_000L);
        assertEquals(List.of(), limiter.drain());
        now.set(2_300_000_000L);
        assertEquals(List.of("suppressed 1 log line(s) about a (more than 3 in 1000 ms)"), limiter.drain());
        assertEquals(List.of(), limiter.drain());
    }
}
