package org.netvm.xenstore;

import java.util.List;
import java.util.Optional;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The operations that work both directly and inside a {@link Transaction}. Values are UTF-8 text;
 * every call is one request to the daemon.
 */
@ProviderType
public interface XenStoreOps {

    /** The value at {@code path}; {@link XenStoreError#ENOENT} when it does not exist. */
    String read(String path) throws XenStoreException;

    /** The value at {@code path}, or empty when the node does not exist. */
    default Optional<String> readIfExists(String path) throws XenStoreException {
        try {
            return Optional.of(read(path));
        } catch (XenStoreException e) {
            if (e.error() == XenStoreError.ENOENT) {
                return Optional.empty();
            }
            throw e;
        }
    }

    /** Writes {@code value}, creating the node and missing parents. */
    void write(String path, String value) throws XenStoreException;

    /** Creates the node (empty value) if it does not exist. */
    void mkdir(String path) throws XenStoreException;

    /** Removes the node and everything below it. */
    void rm(String path) throws XenStoreException;

    /** The names (not paths) of the node's children, in the daemon's order. */
    List<String> directory(String path) throws XenStoreException;

    /** Owner first, then the access granted to other domains; the first entry's access applies to everyone else. */
    List<Permission> getPermissions(String path) throws XenStoreException;

    /** Replaces the node's permissions; the first entry names the owner. */
    void setPermissions(String path, List<Permission> permissions) throws XenStoreException;
}
