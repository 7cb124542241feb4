package org.netvm.kernel;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Objects;

import org.netvm.util.IpText;

/** An IPv4 or IPv6 address with a prefix length, e.g. {@code 10.137.0.5/32}. Host bits are kept as given. */
public record IpPrefix(InetAddress address, int length) {
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
     * Parses a numeric IPv4 (dotted quad, nothing shorter) or IPv6 literal (no zone; an IPv4-mapped
     * address is refused). Never resolves names.
     */
    public static InetAddress parseAddress(String literal) {
        try {
            InetAddress a = InetAddress.getByAddress(IpText.parse(literal, true)); // numeric: no lookup
            if (literal.indexOf(':') < 0 || a instanceof Inet6Address) { // Java turns ::ffff:a.b.c.d into IPv4
                return a;
            }
        } catch (IllegalArgumentException | UnknownHostException e) {
            // the uniform message below
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
        return IpText.format(a.getAddress());
    }
}
