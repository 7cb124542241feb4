package org.netvm.xenstore;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import org.osgi.annotation.versioning.ProviderType;

/**
 * A connection to xenstored, registered as an OSGi service.
 *
 * <p>Service properties: {@code xenstore.transport} ({@code unix}, {@code xenbus}) and
 * {@code xenstore.address} (socket path or device).
 */
@ProviderType
public interface XenStore extends XenStoreOps {

    /** Service property naming the transport. */
    String TRANSPORT = "xenstore.transport";
    /** Service property naming the socket path or device. */
    String ADDRESS = "xenstore.address";

    /** Starts a transaction; it must be committed or aborted. */
    Transaction transaction() throws XenStoreException;

    /**
     * Runs {@code work} in a transaction, committing at the end and retrying the whole unit when the
     * daemon answers {@link XenStoreError#EAGAIN} (a conflicting change), up to {@code attempts} times.
     */
    default <T> T inTransaction(int attempts, TransactionWork<T> work) throws XenStoreException {
        XenStoreException last = null;
        for (int i = 0; i < attempts; i++) {
            Transaction tx = transaction();
            T result;
            try {
                result = work.run(tx);
            } catch (XenStoreException | RuntimeException e) {
                tx.abort();
                throw e;
            }
            try {
                tx.commit();
                return result;
            } catch (XenStoreException e) {
                if (e.error() != XenStoreError.EAGAIN) {
                    throw e;
                }
                last = e;
            }
        }
        throw last;
    }

    /**
     * Watches {@code path} and everything below it, or one of the special paths
     * {@code @introduceDomain} and {@code @releaseDomain}. As with xenstored, the listener is called
     * once right after registration with the watched path itself, then for every change.
     *
     * @return a handle whose {@code close()} removes the watch
     */
    Watch watch(String path, WatchListener listener) throws XenStoreException;

    /** The home path of {@code domid} as the daemon defines it ({@code /local/domain/<domid>}). */
    String domainPath(int domid) throws XenStoreException;

    /**
     * Toolstack operation (dom0 only): tells the daemon that domain {@code domid} exists, with the
     * machine frame of its xenstore ring page and its event channel port. Fires
     * {@code @introduceDomain}. netvm's embedded daemon then serves that domain on its own socket.
     */
    default void introduceDomain(int domid, long ringMfn, int eventChannel) throws XenStoreException {
        throw new XenStoreException(XenStoreError.ENOSYS, null);
    }

    /** Toolstack operation (dom0 only): the domain is gone. Fires {@code @releaseDomain}. */
    default void releaseDomain(int domid) throws XenStoreException {
        throw new XenStoreException(XenStoreError.ENOSYS, null);
    }

    /**
     * Reads many nodes at once: the values in the order of {@code paths}, empty where a node does
     * not exist. A pipelining implementation keeps many of the requests in flight on its connection
     * instead of waiting for each reply in turn; the result is the same as reading them one after the
     * other (which this default does). Any error other than {@link XenStoreError#ENOENT} fails the
     * whole call.
     *
     * @since 1.2
     */
    default List<Optional<String>> readAll(List<String> paths) throws XenStoreException {
        List<Optional<String>> out = new ArrayList<>(paths.size());
        for (String path : paths) {
            out.add(readIfExists(path));
        }
        return out;
    }

    /**
     * Lists many nodes at once, as {@link #readAll} reads them: the children's names in the order of
     * {@code paths}, empty where a node does not exist.
     *
     * @since 1.2
     */
    default List<Optional<List<String>>> directoryAll(List<String> paths) throws XenStoreException {
        List<Optional<List<String>>> out = new ArrayList<>(paths.size());
        for (String path : paths) {
            try {
                out.add(Optional.of(directory(path)));
            } catch (XenStoreException e) {
                if (e.error() != XenStoreError.ENOENT) {
                    throw e;
                }
                out.add(Optional.empty());
            }
        }
        return out;
    }

    /** {@code true} while the connection to the daemon is up. */
    boolean isConnected();

    /**
     * Counters of this connection since it was created (for metrics); empty if the implementation
     * does not count.
     *
     * @since 1.1
     */
    default Optional<Statistics> statistics() {
        return Optional.empty();
    }

    /**
     * Counters of a connection.
     *
     * @param requests   requests sent to the daemon (each operation of a transaction counts)
     * @param reconnects connections established again after one was lost
     * @since 1.1
     */
    record Statistics(long requests, long reconnects) {
    }

    /** Work to run inside a transaction. */
    @FunctionalInterface
    interface TransactionWork<T> {
        T run(Transaction tx) throws XenStoreException;
    }
}
