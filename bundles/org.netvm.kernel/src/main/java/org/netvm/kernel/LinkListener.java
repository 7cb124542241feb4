package org.netvm.kernel;

import org.osgi.annotation.versioning.ConsumerType;

/** Receives link events, one at a time, on the subscription's thread. */
@ConsumerType
@FunctionalInterface
public interface LinkListener {
    void linkChanged(LinkEvent event);

    /**
     * The kernel dropped events because the listener was too slow (socket overrun): the listener
     * should re-read {@link Kernel#links()}.
     */
    default void eventsLost() {
    }
}
