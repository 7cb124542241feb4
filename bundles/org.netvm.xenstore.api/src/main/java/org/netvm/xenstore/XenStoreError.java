package org.netvm.xenstore;

/** The error names xenstored answers with (xs_wire.h), plus {@link #DISCONNECTED} for a lost connection. */
public enum XenStoreError {
    EINVAL, EACCES, EEXIST, EISDIR, ENOENT, ENOMEM, ENOSPC, EIO, ENOTEMPTY, ENOSYS, EROFS, EBUSY,
    EAGAIN, EISCONN, E2BIG, EPERM, EQUOTA,
    /** The connection to the daemon is down; the request was not (or not knowingly) carried out. */
    DISCONNECTED,
    /** An error name this client does not know; see {@link XenStoreException#errorName()}. */
    UNKNOWN;

    /** The enum constant for a daemon's error name, {@link #UNKNOWN} if there is none. */
    public static XenStoreError of(String name) {
        for (XenStoreError e : values()) {
            if (e.name().equals(name)) {
                return e;
            }
        }
        return UNKNOWN;
    }
}
