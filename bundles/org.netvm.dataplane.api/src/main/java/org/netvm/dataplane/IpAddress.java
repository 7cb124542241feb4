package org.netvm.dataplane;

import java.util.Arrays;

import org.netvm.util.IpText;

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
        if (s != null && s.length() > 39) {
            throw bad(s);
        }
        try {
            return IpText.parse(s, false);
        } catch (IllegalArgumentException e) {
            throw bad(s);
        }
    }

    static String format(byte[] b) {
        return IpText.format(b);
    }

    private static IllegalArgumentException bad(String s) {
        return new IllegalArgumentException("not an IPv4 or IPv6 address literal: " + Names.quote(s));
    }
}
