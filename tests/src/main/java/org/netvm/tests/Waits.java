package org.netvm.tests;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.Supplier;

/** Polling with a deadline, and checked exceptions made unchecked, for the in-framework tests. */
final class Waits {
    private Waits() {
    }

    interface IoSupplier<T> {
        T get() throws Exception;
    }

    static <T> T uncheck(IoSupplier<T> s) {
        try {
            return s.get();
        } catch (Exception e) {
            throw new RuntimeException(e);
        }
    }

    static String read(Path p) {
        return uncheck(() -> Files.readString(p));
    }

    /**
     * Polls {@code condition} until it is true; a condition that throws is "not yet". Fails after
     * {@code timeout} naming {@code what}, with the last exception as the cause.
     */
    static void waitUntil(String what, Duration timeout, Supplier<Boolean> condition) throws InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        RuntimeException last = null;
        while (System.nanoTime() < end) {
            try {
                if (condition.get()) {
                    return;
                }
            } catch (RuntimeException e) {
                last = e;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("timed out waiting for: " + what, last);
    }
}
