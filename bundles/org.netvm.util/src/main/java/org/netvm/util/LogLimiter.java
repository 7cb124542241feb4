package org.netvm.util;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * Keeps one noisy key (a flapping guest, a failing owner) from flooding the log: at most
 * {@code lines} lines per key in a window; the lines over that are counted and reported as one
 * summary line once the window is over ({@link #drain}, or the key's next admitted line).
 */
public final class LogLimiter {

    private static final class Window {
        long start;
        int used;
        long suppressed;

        Window(long start) {
            this.start = start;
        }
    }

    private final int lines;
    private final long windowNanos;
    private final LongSupplier nanoTime;
    private final Map<String, Window> windows = new HashMap<>();
    /** No window is over before this (nanoTime); {@link #drain} walks the windows only from then. */
    private long nextDue = Long.MAX_VALUE;

    public LogLimiter(int lines, long windowNanos, LongSupplier nanoTime) {
        if (lines < 1 || windowNanos <= 0) {
            throw new IllegalArgumentException("lines >= 1 and a positive window");
        }
        this.lines = lines;
        this.windowNanos = windowNanos;
        this.nanoTime = nanoTime;
    }

    /**
     * Asks to log {@code line} for {@code key}. Returns the lines to log now: none if it is
     * suppressed; else the summary of what the key's previous window suppressed (if anything), then
     * the line.
     */
    public synchronized List<String> admit(String key, String line) {
        long now = nanoTime.getAsLong();
        Window w = windows.get(key);
        List<String> out = new ArrayList<>(2);
        if (w == null) {
            w = new Window(now);
            windows.put(key, w);
            nextDue = Math.min(nextDue, now + windowNanos);
        } else if (now - w.start >= windowNanos) {
            summary(key, w, out);
            w.start = now;
            w.used = 0;
            w.suppressed = 0;
        }
        if (w.used >= lines) {
            w.suppressed++;
            return out;
        }
        w.used++;
        out.add(line);
        return out;
    }

    /** Summaries of the windows that are over, and forgets keys that were quiet. */
    public synchronized List<String> drain() {
        long now = nanoTime.getAsLong();
        if (now - nextDue < 0) {
            return List.of(); // called once per pass: no walk over every key while none is due
        }
        List<String> out = new ArrayList<>();
        long due = Long.MAX_VALUE;
        for (Iterator<Map.Entry<String, Window>> it = windows.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<String, Window> e = it.next();
            if (now - e.getValue().start >= windowNanos) {
                summary(e.getKey(), e.getValue(), out);
                it.remove();
            } else {
                due = Math.min(due, e.getValue().start + windowNanos);
            }
        }
        nextDue = due;
        return out;
    }

    private void summary(String key, Window w, List<String> out) {
        if (w.suppressed > 0) {
            out.add("suppressed " + w.suppressed + " log line(s) about " + key + " (more than " + lines + " in "
                    + windowNanos / 1_000_000 + " ms)");
        }
    }
}
