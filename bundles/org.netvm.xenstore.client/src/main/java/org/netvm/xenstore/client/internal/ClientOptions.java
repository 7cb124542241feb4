package org.netvm.xenstore.client.internal;

import java.time.Duration;
import java.util.Objects;

/**
 * Timings of a {@link XenStoreClient}.
 *
 * @param reconnectInitial first delay after a failed connection attempt; doubled after each failure
 * @param reconnectMax     the largest delay between attempts
 * @param requestTimeout   how long a caller waits for a reply ({@link Duration#ZERO}: forever); a
 *                         request that times out fails with error name {@code ETIMEDOUT}
 */
public record ClientOptions(Duration reconnectInitial, Duration reconnectMax, Duration requestTimeout) {

    public ClientOptions {
        Objects.requireNonNull(reconnectInitial, "reconnectInitial");
        Objects.requireNonNull(reconnectMax, "reconnectMax");
        Objects.requireNonNull(requestTimeout, "requestTimeout");
        if (reconnectInitial.isNegative() || reconnectInitial.isZero()) {
            throw new IllegalArgumentException("reconnectInitial must be positive");
        }
        if (reconnectMax.compareTo(reconnectInitial) < 0) {
            throw new IllegalArgumentException("reconnectMax must not be below reconnectInitial");
        }
        if (requestTimeout.isNegative()) {
            throw new IllegalArgumentException("requestTimeout must not be negative");
        }
    }

    /** 50 ms .. 2 s backoff, 30 s request timeout. */
    public static ClientOptions defaults() {
        return new ClientOptions(Duration.ofMillis(50), Duration.ofSeconds(2), Duration.ofSeconds(30));
    }
}
