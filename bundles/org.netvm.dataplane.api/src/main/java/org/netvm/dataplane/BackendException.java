package org.netvm.dataplane;

/**
 * A backend could not do what was asked. For {@link PacketFilterBackend#apply}, the kernel state is
 * unchanged. {@link #getMessage()} says what failed; {@link #detail()} carries the tool's own output
 * (e.g. nft's error text), possibly empty.
 */
public class BackendException extends Exception {
    private static final long serialVersionUID = 1L;

    private final String detail;

    public BackendException(String message) {
        this(message, "", null);
    }

    public BackendException(String message, String detail) {
        this(message, detail, null);
    }

    public BackendException(String message, String detail, Throwable cause) {
        super(message + (detail == null || detail.isBlank() ? "" : ": " + detail.strip()), cause);
        this.detail = detail == null ? "" : detail;
    }

    /** The tool's own output about the failure, possibly empty. */
    public String detail() {
        return detail;
    }
}
