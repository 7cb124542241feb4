package org.netvm.xenstore;

import org.osgi.annotation.versioning.ProviderType;

/** A registered watch. Closing it removes it from the daemon. */
@ProviderType
public interface Watch extends AutoCloseable {

    /** The watched path as given. */
    String path();

    @Override
    void close();
}
