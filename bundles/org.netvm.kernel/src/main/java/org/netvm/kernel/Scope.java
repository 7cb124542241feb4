package org.netvm.kernel;

/** Address and route scopes (rtm_scope, ifa_scope). */
public enum Scope {
    UNIVERSE(0, "global"), SITE(200, "site"), LINK(253, "link"), HOST(254, "host"), NOWHERE(255, "nowhere");

    private final int value;
    private final String text;

    Scope(int value, String text) {
        this.value = value;
        this.text = text;
    }

    /** The kernel's number. */
    public int value() {
        return value;
    }

    /** The name {@code ip} prints ("global", "link", ...). */
    public String text() {
        return text;
    }

    /** The scope for a kernel number; unknown numbers (user-defined scopes) map to {@link #UNIVERSE}. */
    public static Scope of(int value) {
        for (Scope s : values()) {
            if (s.value == value) {
                return s;
            }
        }
        return UNIVERSE;
    }
}
