package org.netvm.kernel;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.Objects;
import java.util.regex.Pattern;

/** An IPv4 or IPv6 address with a prefix length, e.g. {@code 10.137.0.5/32}. Host bits are kept as given. */
public record IpPrefix(InetAddress address, int length) {
    private static final Pattern IPV4 =
            Pattern.compile("(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}");
    private static final Pattern IPV6 = Pattern.compile("[0-9A-Fa-f:.]{2,45}");

    public IpPrefix {
        Objects.requireNonNull(address, "address");
        if (length < 0 || length > bits(address)) {
            throw new IllegalArgumentException("invalid prefix length " + length + " for " + address.getHostAddress());
        }
    }

    /** The whole address: /32 for IPv4, /128 for IPv6. */
    public static IpPrefix host(InetAddress address) {
        return new IpPrefix(address, bits(address));
    }

    /** The default route's destination of a family: 0.0.0.0/0 or ::/0. */
    public static IpPrefix any(boolean ipv6) {
        return new IpPrefix(parseAddress(ipv6 ? "::" : "0.0.0.0"), 0);
    }

    /** Parses {@code addr} or {@code addr/len}; a missing length means a host prefix. Never resolves names. */
    public static IpPrefix parse(String text) {
        Objects.requireNonNull(text, "text");
        int slash = text.indexOf('/');
        if (slash < 0) {
            return host(parseAddress(text));
        }
        String len = text.substring(slash + 1);
        if (!len.matches("[0-9]{1,3}")) {
            throw new IllegalArgumentException("invalid prefix length: " + Checks.quote(text));
        }
        return new IpPrefix(parseAddress(text.substring(0, slash)), Integer.parseInt(len));
    }

    /**
     * Parses a numeric IPv4 (dotted quad, nothing shorter) or IPv6 literal (no zone). Never
     * resolves names.
     */
    public static InetAddress parseAddress(String literal) {
        if (literal != null && IPV4.matcher(literal).matches()) {
            return Inet4Address.ofLiteral(literal);
        }
        if (literal != null && literal.indexOf(':') >= 0 && IPV6.matcher(literal).matches()) {
            try {
                InetAddress a = Inet6Address.ofLiteral(literal);
                if (a instanceof Inet6Address) { // Java turns ::ffff:a.b.c.d into an IPv4 address
                    return a;
                }
            } catch (IllegalArgumentException e) {
                // fall through to the uniform message
            }
        }
        throw new IllegalArgumentException("not an IP address literal: " + Checks.quote(literal));
    }

    public boolean isIpv6() {
        return address instanceof Inet6Address;
    }

    /** 32 or 128. */
    public static int bits(InetAddress address) {
        return address instanceof Inet6Address ? 128 : 32;
    }

    public boolean isHost() {
        return length == bits(address);
    }

    /** {@code addr/len}, with IPv6 in its shortest form. */
    @Override
    public String toString() {
        return text(address) + "/" + length;
    }

    /** An address as {@code ip} prints it (RFC 5952 for IPv6). */
    public static String text(InetAddress a) {
        if (a instanceof Inet6Address) {
            return compress(a.getAddress());
        }
        return a.getHostAddress();
    }

    private static String compress(byte[] b) {
        int[] w = new int[8];
        for (int i = 0; i < 8; i++) {
            w[i] = ((b[2 * i] & 0xff) << 8) | (b[2 * i + 1] & 0xff);
        }
        int bestStart = -1, bestLen = 0;
        for (int i = 0; i < 8; ) {
            if (w[i] != 0) {
                i++;
                continue;
            }
            int j = i;
            while (j < 8 && w[j] == 0) {
                j++;
            }
            if (j - i > bestLen && j - i > 1) {
                bestStart = i;
                bestLen = j - i;
            }
            i = j;
        }
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                s.append("::");
                i += bestLen - 1;
                continue;
            }
            if (s.length() > 0 && s.charAt(s.length() - 1) != ':') {
                s.append(':');
            }
            s.append(Integer.toHexString(w[i]));
        }
        return s.toString();
    }
}
