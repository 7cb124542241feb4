package org.netvm.xenstore;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * Receives watch events. Called on the connection's event thread: record what changed and return;
 * never call back into xenstore from here with blocking work.
 */
@ConsumerType
@FunctionalInterface
public interface WatchListener {

    /**
     * Something at or below the watched path changed; {@code path} is the changed node (or the
     * watched path itself for the initial event, or a special path such as {@code @releaseDomain}).
     */
    void changed(String path);

    /**
     * The connection was lost and re-established; events may have been missed. The watch is already
     * registered again: re-read everything you depend on.
     */
    default void resync() {
        changed(null);
    }
}
