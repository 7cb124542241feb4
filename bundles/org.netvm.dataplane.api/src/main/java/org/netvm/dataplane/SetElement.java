package org.netvm.dataplane;

import java.util.Comparator;
import java.util.Objects;

/**
 * One element of a named set: an address, an interface name . address pair, or (1.2, for the interval
 * types {@link SetType#withProtocol()}) a key tuple of a source address, a destination prefix, a protocol
 * and a destination port range. Interface names here are exact (no wildcard). Elements sort by interface
 * name, then source, so the elements of one source are neighbours.
 *
 * @param ifname       the interface name, or null
 * @param source       the source address of a key tuple, else null
 * @param address      the address (of a key tuple: the destination prefix's network address)
 * @param prefixLength the prefix length of a key tuple's destination; the full length (32 or 128) otherwise
 * @param protocol     the protocol of a key tuple, null for any protocol (and for elements without one)
 * @param firstPort    the first destination port of a key tuple with ports (0..65535), else -1
 * @param lastPort     the last destination port (firstPort..65535), else -1
 */
public record SetElement(String ifname, IpAddress source, IpAddress address, int prefixLength,
        Match.Protocol protocol, int firstPort, int lastPort) implements Comparable<SetElement> {

    private static final Comparator<SetElement> ORDER = Comparator
            .comparing(SetElement::ifname, Comparator.nullsFirst(Comparator.naturalOrder()))
            .thenComparing(SetElement::source, Comparator.nullsFirst(Comparator.naturalOrder()))
            .thenComparing(SetElement::address)
            .thenComparingInt(SetElement::prefixLength)
            .thenComparing(SetElement::protocol, Comparator.nullsFirst(Comparator.naturalOrder()))
            .thenComparingInt(SetElement::firstPort)
            .thenComparingInt(SetElement::lastPort);

    public SetElement {
        if (ifname != null) {
            Names.ifname(ifname, false);
        }
        Objects.requireNonNull(address, "address");
        new IpPrefix(address, prefixLength); // range and host bits
        boolean ports = firstPort != -1 || lastPort != -1;
        if (ports) {
            if (firstPort < 0 || lastPort > 65535 || lastPort < firstPort) {
                throw new IllegalArgumentException("port range " + firstPort + "-" + lastPort
                        + " is not within 0..65535");
            }
            if (protocol != Match.Protocol.TCP && protocol != Match.Protocol.UDP) {
                throw new IllegalArgumentException("a port range needs tcp or udp, not "
                        + (protocol == null ? "any protocol" : protocol.keyword()));
            }
        }
        boolean key = source != null;
        if (key && (ifname != null || source.version() != address.version())) {
            throw new IllegalArgumentException("a key tuple has no interface name and one IP version: " + source
                    + " . " + address);
        }
        if (!key && (prefixLength != address.bytes().length * 8 || protocol != null || ports)) {
            throw new IllegalArgumentException("prefix, protocol and ports need a source (a key tuple)");
        }
    }

    /** An address or an interface name . address element. */
    public SetElement(String ifname, IpAddress address) {
        this(ifname, null, address, Objects.requireNonNull(address, "address").bytes().length * 8, null, -1, -1);
    }

    /** A plain address element. */
    public static SetElement of(String address) {
        return new SetElement(null, IpAddress.of(address));
    }

    /** An interface name . address element. */
    public static SetElement of(String ifname, String address) {
        return new SetElement(Objects.requireNonNull(ifname, "ifname"), IpAddress.of(address));
    }

    /**
     * A source . destination prefix . protocol element ({@link SetType#IPV4_SRC_DST_PROTO},
     * {@link SetType#IPV6_SRC_DST_PROTO}).
     *
     * @param protocol null for any protocol
     * @since 1.2
     */
    public static SetElement key(IpAddress source, IpPrefix destination, Match.Protocol protocol) {
        return new SetElement(null, Objects.requireNonNull(source, "source"), destination.address(),
                destination.length(), protocol, -1, -1);
    }

    /**
     * A source . destination prefix . protocol . port range element ({@link SetType#IPV4_SRC_DST_PROTO_PORT},
     * {@link SetType#IPV6_SRC_DST_PROTO_PORT}); 0-65535 is every port.
     *
     * @since 1.2
     */
    public static SetElement key(IpAddress source, IpPrefix destination, Match.Protocol protocol, int firstPort,
            int lastPort) {
        return new SetElement(null, Objects.requireNonNull(source, "source"), destination.address(),
                destination.length(), Objects.requireNonNull(protocol, "protocol"), firstPort, lastPort);
    }

    /** The address with its prefix length. @since 1.2 */
    public IpPrefix prefix() {
        return new IpPrefix(address, prefixLength);
    }

    /** Whether the element has a port range. @since 1.2 */
    public boolean hasPorts() {
        return firstPort != -1;
    }

    /** Whether this element fits a set of type {@code type}. */
    public boolean fits(SetType type) {
        return (ifname != null) == type.withIfname() && address.version() == type.ipVersion()
                && (source != null) == type.withProtocol() && hasPorts() == type.withPort();
    }

    /**
     * Whether some key is in both elements (same interface name and source, intersecting prefixes, protocols
     * and port ranges). Elements of an interval set must not overlap.
     *
     * @since 1.2
     */
    public boolean overlaps(SetElement o) {
        if (!Objects.equals(ifname, o.ifname) || !Objects.equals(source, o.source)
                || address.version() != o.address.version()
                || protocol != null && o.protocol != null && protocol != o.protocol) {
            return false;
        }
        if (hasPorts() && o.hasPorts() && (lastPort < o.firstPort || o.lastPort < firstPort)) {
            return false;
        }
        return samePrefixBits(address.bytes(), o.address.bytes(), Math.min(prefixLength, o.prefixLength));
    }

    private static boolean samePrefixBits(byte[] a, byte[] b, int bits) {
        for (int bit = 0; bit < bits; bit++) {
            int mask = 0x80 >> (bit % 8);
            if ((a[bit / 8] & mask) != (b[bit / 8] & mask)) {
                return false;
            }
        }
        return true;
    }

    @Override
    public int compareTo(SetElement o) {
        return ORDER.compare(this, o);
    }

    /** {@code 10.137.0.5}, {@code vif3.0 . 10.137.0.5}, {@code 10.137.0.5 . 10.0.0.0/8 . tcp . 80-90}, {@code ... . any}. */
    @Override
    public String toString() {
        if (ifname != null) {
            return ifname + " . " + address.text();
        }
        if (source == null) {
            return address.text();
        }
        return source.text() + " . " + prefix() + " . " + (protocol == null ? "any" : protocol.keyword())
                + (hasPorts() ? " . " + (firstPort == lastPort ? firstPort + "" : firstPort + "-" + lastPort) : "");
    }
}
