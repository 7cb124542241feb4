package org.netvm.dataplane.internal;

import java.time.Instant;

/** The dataplane's clock (a seam: tests use a fake one that also drives the reconciler's passes). */
interface Clock {

    /** The system's clocks. */
    Clock SYSTEM = new Clock() {
        @Override
        public long nanoTime() {
            return System.nanoTime();
        }

        @Override
        public Instant now() {
            return Instant.now();
        }
    };

    /** A monotonic clock for durations and for scheduling passes. */
    long nanoTime();

    /** Wall-clock time for status. */
    Instant now();
}
