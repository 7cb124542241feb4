package org.netvm.dataplane;

import java.util.Objects;

/**
 * An address with a prefix length; host bits must be zero. A full-length prefix is a single host.
 *
 * @param address the network address
 * @param length  0..32 (IPv4) or 0..128 (IPv6)
 */
public record IpPrefix(IpAddress address, int length) {

    public IpPrefix {
        Objects.requireNonNull(address, "address");
        int max = address.version() == 4 ? 32 : 128;
        if (length < 0 || length > max) {
            throw new IllegalArgumentException("prefix length out of range 0.." + max + ": " + length);
        }
        byte[] b = address.bytes();
        for (int bit = length; bit < b.length * 8; bit++) {
            if ((b[bit / 8] & (0x80 >> (bit % 8))) != 0) {
                throw new IllegalArgumentException("prefix " + address + "/" + length + " has host bits set");
            }
        }
    }

    /** Parses {@code 10.137.0.0/16}, {@code fd09::/64} or a plain address (a host prefix). */
    public static IpPrefix parse(String text) {
        if (text == null) {
            throw new IllegalArgumentException("prefix is null");
        }
        int slash = text.indexOf('/');
        if (slash < 0) {
            return host(IpAddress.of(text));
        }
        String len = text.substring(slash + 1);
        if (len.isEmpty() || len.length() > 3 || !len.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new IllegalArgumentException("bad prefix length in " + Names.quote(text));
        }
        return new IpPrefix(IpAddress.of(text.substring(0, slash)), Integer.parseInt(len));
    }

    /** The single-host prefix of {@code address}. */
    public static IpPrefix host(IpAddress address) {
        return new IpPrefix(address, address.version() == 4 ? 32 : 128);
    }

    public int version() {
        return address.version();
    }

    public boolean isHost() {
        return length == (version() == 4 ? 32 : 128);
    }

    /** {@code 10.0.0.0/8}, or the bare address for a host prefix. */
    @Override
    public String toString() {
        return isHost() ? address.text() : address.text() + "/" + length;
    }
}
