package org.netvm.xenstore.wire;

/** Message types with their numbers from xs_wire.h. */
public enum MessageType {
    CONTROL(0), DIRECTORY(1), READ(2), GET_PERMS(3), WATCH(4), UNWATCH(5), TRANSACTION_START(6),
    TRANSACTION_END(7), INTRODUCE(8), RELEASE(9), GET_DOMAIN_PATH(10), WRITE(11), MKDIR(12), RM(13),
    SET_PERMS(14), WATCH_EVENT(15), ERROR(16), IS_DOMAIN_INTRODUCED(17), RESUME(18), SET_TARGET(19),
    RESET_WATCHES(21), DIRECTORY_PART(22);

    private static final MessageType[] BY_CODE = new MessageType[23];

    static {
        for (MessageType t : values()) {
            BY_CODE[t.code] = t;
        }
    }

    private final int code;

    MessageType(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }

    /** The type for a wire code, or {@code null} when the code is unknown. */
    public static MessageType of(int code) {
        return code >= 0 && code < BY_CODE.length ? BY_CODE[code] : null;
    }
}
