package org.netvm.kernel;

import java.util.regex.Pattern;

/** Validation shared by the value types of this package. */
final class Checks {
    private static final Pattern DEVICE = Pattern.compile("[A-Za-z0-9_.-]{1,15}");

    private Checks() {
    }

    /**
     * A Linux interface name: 1-15 characters of {@code [A-Za-z0-9_.-]}, and not {@code .} or
     * {@code ..} (which the pattern alone allows and which would walk a {@code /proc/sys} path).
     */
    static String device(String name) {
        if (name == null || !DEVICE.matcher(name).matches() || name.equals(".") || name.equals("..")) {
            throw new IllegalArgumentException("invalid device name: " + quote(name));
        }
        return name;
    }

    static String quote(String s) {
        if (s == null) {
            return "null";
        }
        StringBuilder b = new StringBuilder("\"");
        for (int i = 0; i < s.length() && i < 64; i++) {
            char c = s.charAt(i);
            b.append(c >= 0x20 && c < 0x7f ? String.valueOf(c) : String.format("\\u%04x", (int) c));
        }
        return b.append(s.length() > 64 ? "...\"" : "\"").toString();
    }
}
