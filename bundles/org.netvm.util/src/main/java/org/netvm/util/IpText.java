package org.netvm.util;

/**
 * IP address text, the one copy: strict parsing of literals (never a name lookup) and RFC 5952
 * formatting. Used by {@code org.netvm.dataplane.IpAddress} and {@code org.netvm.kernel.IpPrefix}, which
 * keep their own types and error messages.
 *
 * <p>Accepted: IPv4 as a dotted quad of decimal numbers 0..255 without leading zeros (nothing shorter,
 * no octal or hex); IPv6 as eight groups of 1..4 hex digits, at most one {@code ::}, no zone id, and
 * (only if asked for) a dotted quad as the last 32 bits.
 */
public final class IpText {
    private IpText() {
    }

    /**
     * The address in network byte order (4 or 16 bytes).
     *
     * @param embeddedIpv4 whether an IPv6 literal may end in a dotted quad ({@code ::ffff:10.0.0.1})
     * @throws IllegalArgumentException if {@code literal} is not an address literal (the message names no input)
     */
    public static byte[] parse(String literal, boolean embeddedIpv4) {
        if (literal == null || literal.isEmpty() || literal.length() > 45) {
            throw bad();
        }
        if (literal.indexOf(':') < 0) {
            return parse4(literal);
        }
        int dot = literal.indexOf('.');
        if (dot < 0) {
            return literal.length() <= 39 ? parse6(literal, 8) : fail();
        }
        int lastColon = literal.lastIndexOf(':');
        if (!embeddedIpv4 || lastColon > dot) {
            throw bad();
        }
        byte[] v4 = parse4(literal.substring(lastColon + 1));
        String head = literal.substring(0, lastColon + 1);
        byte[] b = parse6(head.endsWith("::") ? head : head.substring(0, head.length() - 1), 6);
        System.arraycopy(v4, 0, b, 12, 4);
        return b;
    }

    /** IPv4 as a dotted quad; IPv6 in lower case, the longest run (2 groups or more) of zero groups as {@code ::}. */
    public static String format(byte[] address) {
        if (address.length == 4) {
            return (address[0] & 255) + "." + (address[1] & 255) + "." + (address[2] & 255) + "." + (address[3] & 255);
        }
        if (address.length != 16) {
            throw new IllegalArgumentException("an address has 4 or 16 bytes: " + address.length);
        }
        int[] w = new int[8];
        for (int i = 0; i < 8; i++) {
            w[i] = ((address[2 * i] & 255) << 8) | (address[2 * i + 1] & 255);
        }
        int bestStart = -1;
        int bestLen = 1; // a single zero group is not compressed
        for (int i = 0; i < 8;) {
            int j = i;
            while (j < 8 && w[j] == 0) {
                j++;
            }
            if (j - i > bestLen) {
                bestStart = i;
                bestLen = j - i;
            }
            i = Math.max(j, i + 1);
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                sb.append("::");
                i += bestLen - 1;
                continue;
            }
            if (sb.length() > 0 && sb.charAt(sb.length() - 1) != ':') {
                sb.append(':');
            }
            sb.append(Integer.toHexString(w[i]));
        }
        return sb.toString();
    }

    /**
     * One pass over the characters (no split, no substrings: it runs for every address value of every
     * guest at start-up): four fields of 1..3 decimal digits, no leading zero, each at most 255.
     */
    private static byte[] parse4(String s) {
        byte[] b = new byte[4];
        int field = 0;
        int v = 0;
        int digits = 0;
        for (int i = 0, n = s.length(); i <= n; i++) {
            char c = i < n ? s.charAt(i) : '.';
            if (c == '.') {
                if (digits == 0 || field == 4 || v > 255) {
                    throw bad();
                }
                b[field++] = (byte) v;
                v = 0;
                digits = 0;
            } else if (c >= '0' && c <= '9' && digits < 3 && !(digits == 1 && v == 0)) {
                v = v * 10 + (c - '0');
                digits++;
            } else {
                throw bad();
            }
        }
        if (field != 4) {
            throw bad();
        }
        return b;
    }

    /** {@code groups} hex groups (8, or 6 before an embedded dotted quad), into a 16-byte array. */
    private static byte[] parse6(String s, int groups) {
        int dc = s.indexOf("::");
        if (dc >= 0 && s.indexOf("::", dc + 1) >= 0) {
            throw bad();
        }
        int[] h = groups(dc >= 0 ? s.substring(0, dc) : s);
        int[] t = groups(dc >= 0 ? s.substring(dc + 2) : "");
        if (dc < 0 ? h.length != groups : h.length + t.length > groups - 1) {
            throw bad();
        }
        byte[] b = new byte[16];
        for (int i = 0; i < h.length; i++) {
            b[2 * i] = (byte) (h[i] >> 8);
            b[2 * i + 1] = (byte) h[i];
        }
        for (int i = 0; i < t.length; i++) {
            int g = groups - t.length + i;
            b[2 * g] = (byte) (t[i] >> 8);
            b[2 * g + 1] = (byte) t[i];
        }
        return b;
    }

    private static int[] groups(String part) {
        if (part.isEmpty()) {
            return new int[0];
        }
        String[] gs = part.split(":", -1);
        int[] out = new int[gs.length];
        for (int i = 0; i < gs.length; i++) {
            String g = gs[i];
            if (g.isEmpty() || g.length() > 4) {
                throw bad();
            }
            int v = 0;
            for (int j = 0; j < g.length(); j++) {
                v = v * 16 + hex(g.charAt(j));
            }
            out[i] = v;
        }
        return out;
    }

    /** ASCII hex digits only ({@link Character#digit} would take other scripts' digits). */
    private static int hex(char c) {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
            return (c | 0x20) - 'a' + 10;
        }
        throw bad();
    }

    private static byte[] fail() {
        throw bad();
    }

    private static IllegalArgumentException bad() {
        return new IllegalArgumentException("not an IP address literal");
    }
}
