package org.netvm.kernel;

import org.osgi.annotation.versioning.ProviderType;

/** A running link-event subscription; closing it stops its thread and closes its socket. */
@ProviderType
public interface Subscription extends AutoCloseable {
    @Override
    void close();
}
