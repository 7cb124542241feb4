package org.netvm.dataplane;

import java.util.Comparator;
import java.util.Objects;

/**
 * One element of a named set: an address, or an interface name . address pair. Interface names here
 * are exact (no wildcard).
 *
 * @param ifname  the interface name, or null for a plain address element
 * @param address the address
 */
public record SetElement(String ifname, IpAddress address) implements Comparable<SetElement> {

    private static final Comparator<SetElement> ORDER = Comparator
            .comparing(SetElement::ifname, Comparator.nullsFirst(Comparator.naturalOrder()))
            .thenComparing(SetElement::address);

    public SetElement {
        if (ifname != null) {
            Names.ifname(ifname, false);
        }
        Objects.requireNonNull(address, "address");
    }

    /** A plain address element. */
    public static SetElement of(String address) {
        return new SetElement(null, IpAddress.of(address));
    }

    /** An interface name . address element. */
    public static SetElement of(String ifname, String address) {
        return new SetElement(Objects.requireNonNull(ifname, "ifname"), IpAddress.of(address));
    }

    /** Whether this element fits a set of type {@code type}. */
    public boolean fits(SetType type) {
        return (ifname != null) == type.withIfname() && address.version() == type.ipVersion();
    }

    @Override
    public int compareTo(SetElement o) {
        return ORDER.compare(this, o);
    }

    @Override
    public String toString() {
        return ifname == null ? address.text() : ifname + " . " + address.text();
    }
}
