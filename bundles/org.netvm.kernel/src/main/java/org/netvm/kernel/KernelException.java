package org.netvm.kernel;

import java.io.IOException;

/**
 * A kernel call failed. {@link #errno()} is the Linux error number (0 if there was none),
 * {@link #errnoName()} its symbolic name ({@code ENODEV}), {@link #op()} the operation, if any.
 */
public class KernelException extends IOException {
    private static final long serialVersionUID = 1L;

    private final int errno;
    private final String errnoName;
    private final transient Op op;

    public KernelException(String message, int errno, String errnoName, Op op) {
        super(message);
        this.errno = errno;
        this.errnoName = errnoName;
        this.op = op;
    }

    public KernelException(String message, Throwable cause) {
        super(message, cause);
        this.errno = 0;
        this.errnoName = "";
        this.op = null;
    }

    public int errno() {
        return errno;
    }

    public String errnoName() {
        return errnoName;
    }

    /** The operation that failed, {@code null} for reads and socket-level failures. */
    public Op op() {
        return op;
    }
}
