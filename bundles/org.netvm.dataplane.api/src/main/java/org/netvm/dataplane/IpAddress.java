package org.netvm.dataplane;

import java.util.Arrays;

/**
 * An IPv4 or IPv6 address literal, parsed without any name lookup and kept in canonical text form
 * (IPv4 dotted quad; IPv6 lower case, RFC 5952 compressed). Scope ids and IPv6 with an embedded
 * dotted quad are refused.
 *
 * @param text the canonical text
 */
public record IpAddress(String text) implements Comparable<IpAddress> {

    public IpAddress {
        text = format(parse(text));
    }

    /** Parses a literal; throws {@link IllegalArgumentException} if it is not one. */
    public static IpAddress of(String text) {
        return new IpAddress(text);
    }

    /** 4 or 6. */
    public int version() {
        return text.indexOf(':') >= 0 ? 6 : 4;
    }

    /** The address in network byte order (4 or 16 bytes, a fresh copy). */
    public byte[] bytes() {
        return parse(text);
    }

    @Override
    public int compareTo(IpAddress o) {
        int c = Integer.compare(version(), o.version());
        if (c != 0) {
            return c;
        }
        return version() == 4 ? Integer.compareUnsigned(v4(text), v4(o.text))
                : Arrays.compareUnsigned(bytes(), o.bytes());
    }

    /** The canonical dotted quad as an int, without allocating. */
    private static int v4(String canonical) {
        int value = 0;
        int part = 0;
        for (int i = 0; i < canonical.length(); i++) {
            char ch = canonical.charAt(i);
            if (ch == '.') {
                value = (value << 8) | part;
                part = 0;
            } else {
                part = part * 10 + (ch - '0');
            }
        }
        return (value << 8) | part;
    }

    @Override
    public String toString() {
        return text;
    }

    static byte[] parse(String s) {
        if (s == null || s.isEmpty() || s.length() > 39) {
            throw bad(s);
        }
        return s.indexOf(':') >= 0 ? parse6(s) : parse4(s);
    }

    private static byte[] parse4(String s) {
        String[] parts = s.split("\\.", -1);
        if (parts.length != 4) {
            throw bad(s);
        }
        byte[] b = new byte[4];
        for (int i = 0; i < 4; i++) {
            String p = parts[i];
            if (p.isEmpty() || p.length() > 3 || (p.length() > 1 && p.charAt(0) == '0')) {
                throw bad(s);
            }
            int v = 0;
            for (int j = 0; j < p.length(); j++) {
                char c = p.charAt(j);
                if (c < '0' || c > '9') {
                    throw bad(s);
                }
                v = v * 10 + (c - '0');
            }
            if (v > 255) {
                throw bad(s);
            }
            b[i] = (byte) v;
        }
        return b;
    }

    private static byte[] parse6(String s) {
        int dc = s.indexOf("::");
        if (dc >= 0 && s.indexOf("::", dc + 1) >= 0) {
            throw bad(s);
        }
        String head = dc >= 0 ? s.substring(0, dc) : s;
        String tail = dc >= 0 ? s.substring(dc + 2) : "";
        int[] h = groups(head, s);
        int[] t = groups(tail, s);
        if (dc < 0 ? h.length != 8 : h.length + t.length > 7) {
            throw bad(s);
        }
        byte[] b = new byte[16];
        for (int i = 0; i < h.length; i++) {
            b[2 * i] = (byte) (h[i] >> 8);
            b[2 * i + 1] = (byte) h[i];
        }
        for (int i = 0; i < t.length; i++) {
            int g = 8 - t.length + i;
            b[2 * g] = (byte) (t[i] >> 8);
            b[2 * g + 1] = (byte) t[i];
        }
        return b;
    }

    private static int[] groups(String part, String whole) {
        if (part.isEmpty()) {
            return new int[0];
        }
        String[] gs = part.split(":", -1);
        int[] out = new int[gs.length];
        for (int i = 0; i < gs.length; i++) {
            String g = gs[i];
            if (g.isEmpty() || g.length() > 4) {
                throw bad(whole);
            }
            int v = 0;
            for (int j = 0; j < g.length(); j++) {
                int d = Character.digit(g.charAt(j), 16);
                if (d < 0) {
                    throw bad(whole);
                }
                v = v * 16 + d;
            }
            out[i] = v;
        }
        return out;
    }

    static String format(byte[] b) {
        if (b.length == 4) {
            return (b[0] & 255) + "." + (b[1] & 255) + "." + (b[2] & 255) + "." + (b[3] & 255);
        }
        int[] w = new int[8];
        for (int i = 0; i < 8; i++) {
            w[i] = ((b[2 * i] & 255) << 8) | (b[2 * i + 1] & 255);
        }
        int bestStart = -1;
        int bestLen = 0;
        for (int i = 0; i < 8;) {
            if (w[i] != 0) {
                i++;
                continue;
            }
            int j = i;
            while (j < 8 && w[j] == 0) {
                j++;
            }
            if (j - i > bestLen) {
                bestStart = i;
                bestLen = j - i;
            }
            i = j;
        }
        if (bestLen < 2) {
            bestStart = -1;
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

    private static IllegalArgumentException bad(String s) {
        return new IllegalArgumentException("not an IPv4 or IPv6 address literal: " + Names.quote(s));
    }
}
