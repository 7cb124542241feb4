package org.netvm.xenstore.server.internal;

/** Path rules and C number parsing as C xenstored applies them. */
final class XsPaths {

    private XsPaths() {
    }

    private static boolean validChar(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'
                || c == '/' || c == '_' || c == '@';
    }

    /**
     * C's is_valid_nodename: absolute, no trailing slash except "/", no "//", only
     * {@code A-Za-z0-9-/_@}, at most {@code maxPathLength} characters after a leading
     * {@code /local/domain/<id>/}.
     */
    static boolean isValidNodename(String node, int maxPathLength) {
        if (node == null || !node.startsWith("/")) {
            return false;
        }
        if (node.endsWith("/") && !node.equals("/")) {
            return false;
        }
        if (node.contains("//")) {
            return false;
        }
        if (node.length() > localPrefixLength(node) + maxPathLength) {
            return false;
        }
        for (int i = 0; i < node.length(); i++) {
            if (!validChar(node.charAt(i))) {
                return false;
            }
        }
        return true;
    }

    /** Length of a leading {@code /local/domain/<1-5 digits>/}, else 0 (C's sscanf "%5u/%n"). */
    static int localPrefixLength(String node) {
        String p = "/local/domain/";
        if (!node.startsWith(p)) {
            return 0;
        }
        int i = p.length();
        int start = i;
        while (i < node.length() && i - start < 5 && Character.isDigit(node.charAt(i)) && node.charAt(i) < 0x80) {
            i++;
        }
        if (i == start || i >= node.length() || node.charAt(i) != '/') {
            return 0;
        }
        return i + 1;
    }

    /** Relative paths are resolved under the connection's home; absolute and special ones stay. */
    static String canonicalize(String home, String node) {
        if (node.startsWith("/") || node.startsWith("@")) {
            return node;
        }
        return home + "/" + node;
    }

    /** C's get_parent: "/" for top-level nodes and for "/" itself. */
    static String parent(String node) {
        int slash = node.lastIndexOf('/');
        return slash <= 0 ? "/" : node.substring(0, slash);
    }

    static String basename(String node) {
        return node.substring(node.lastIndexOf('/') + 1);
    }

    static String child(String parent, String name) {
        return parent.equals("/") ? "/" + name : parent + "/" + name;
    }

    /** C's is_child: is {@code child} equal to or below {@code parent}? */
    static boolean isChild(String child, String parent) {
        if (parent.equals("/")) {
            return true;
        }
        if (!child.startsWith(parent)) {
            return false;
        }
        return child.length() == parent.length() || child.charAt(parent.length()) == '/';
    }

    /** Result of {@link #strtol}: the value (clamped as C clamps) and whether the whole text was a number. */
    record Parsed(long value, boolean complete, boolean empty) {
    }

    /** C's strtol(text, &end, base) with base 0 or 10; {@code complete} means *end == '\0'. */
    static Parsed strtol(String s, int base) {
        int i = 0;
        int n = s.length();
        while (i < n && " \t\n\u000b\f\r".indexOf(s.charAt(i)) >= 0) {
            i++;
        }
        boolean neg = false;
        if (i < n && (s.charAt(i) == '+' || s.charAt(i) == '-')) {
            neg = s.charAt(i) == '-';
            i++;
        }
        int b = base;
        if (b == 0) {
            if (i + 1 < n && s.charAt(i) == '0' && (s.charAt(i + 1) == 'x' || s.charAt(i + 1) == 'X')
                    && i + 2 < n && Character.digit(s.charAt(i + 2), 16) >= 0) {
                b = 16;
                i += 2;
            } else if (i < n && s.charAt(i) == '0') {
                b = 8;
            } else {
                b = 10;
            }
        }
        int digitsStart = i;
        long v = 0;
        boolean overflow = false;
        while (i < n) {
            char c = s.charAt(i);
            int d = c < 0x80 ? Character.digit(c, b) : -1;
            if (d < 0) {
                break;
            }
            if (!overflow) {
                try {
                    v = Math.addExact(Math.multiplyExact(v, b), d);
                } catch (ArithmeticException e) {
                    overflow = true;
                }
            }
            i++;
        }
        if (i == digitsStart) {
            return new Parsed(0, s.isEmpty(), true);
        }
        if (overflow) {
            v = neg ? Long.MIN_VALUE : Long.MAX_VALUE;
        } else if (neg) {
            v = -v;
        }
        return new Parsed(v, i == n, false);
    }

    /** C's atoi as glibc implements it: (int) strtol(s, NULL, 10). */
    static int atoi(String s) {
        return (int) strtol(s, 10).value();
    }
}
