package org.netvm.xenstore;

import org.osgi.annotation.versioning.ProviderType;

/**
 * A xenstored transaction. Reads see a snapshot; writes become visible at {@link #commit()}, which
 * fails with {@link XenStoreError#EAGAIN} when another writer changed what the transaction touched:
 * the caller then starts again (see {@link XenStore#inTransaction}).
 */
@ProviderType
public interface Transaction extends XenStoreOps, AutoCloseable {

    /** Ends the transaction, applying its writes atomically. */
    void commit() throws XenStoreException;

    /** Ends the transaction, discarding its writes. Never throws; safe to call twice. */
    void abort();

    /** Aborts unless already committed or aborted. */
    @Override
    default void close() {
        abort();
    }
}
