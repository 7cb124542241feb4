package org.netvm.xenstore;

import java.io.IOException;

/** A request failed; {@link #error()} says how, {@link #errorName()} is what the daemon sent. */
public class XenStoreException extends IOException {
    private static final long serialVersionUID = 1L;

    private final XenStoreError error;
    private final String errorName;
    private final String path;

    public XenStoreException(String errorName, String path) {
        this(errorName, path, null);
    }

    public XenStoreException(String errorName, String path, Throwable cause) {
        super(errorName + (path == null ? "" : " (" + path + ")"), cause);
        this.error = XenStoreError.of(errorName);
        this.errorName = errorName;
        this.path = path;
    }

    public XenStoreException(XenStoreError error, String path) {
        this(error.name(), path, null);
    }

    public XenStoreError error() {
        return error;
    }

    public String errorName() {
        return errorName;
    }

    /** The path of the failed request, if it had one. */
    public String path() {
        return path;
    }
}
