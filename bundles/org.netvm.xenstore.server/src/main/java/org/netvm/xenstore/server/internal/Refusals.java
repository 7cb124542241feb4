package org.netvm.xenstore.server.internal;

import java.util.logging.Level;
import java.util.logging.Logger;

import org.netvm.util.LogLimiter;

/**
 * The log of quota refusals (connections closed, ENOMEM, reading held back): a guest hitting a
 * quota in a loop gets at most a few lines per key and 10 s, then one summary of what was suppressed.
 */
final class Refusals {

    private static final Logger LOG = Logger.getLogger(Refusals.class.getName());
    private static final LogLimiter LIMITER = new LogLimiter(3, 10_000_000_000L, System::nanoTime);

    private Refusals() {
    }

    /** Logs {@code line} (a warning) unless {@code key} logged too much lately. */
    static void log(String key, String line) {
        for (String l : LIMITER.admit(key, line)) {
            LOG.log(Level.WARNING, l);
        }
    }
}
