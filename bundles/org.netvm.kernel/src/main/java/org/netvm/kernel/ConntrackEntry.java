package org.netvm.kernel;

import java.net.InetAddress;
import java.util.Objects;

/**
 * One connection tracking entry as the kernel lists it: the layer-4 protocol number, the tuples of
 * both directions and, for ICMP and ICMPv6, the type of the original direction. Ports are 0 for
 * protocols without ports (ICMP, ...).
 *
 * @param protocol IP protocol number (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, ...)
 * @param original the tuple of the first packet's direction
 * @param reply    the tuple the answers carry (differs from the swapped original after NAT)
 * @param icmpType the ICMP (ICMPv6) type of the original direction (8 echo request, ...); -1 for other
 *                 protocols
 * @since 1.2
 */
public record ConntrackEntry(int protocol, Tuple original, Tuple reply, int icmpType) {

    /** Source and destination address and port of one direction. */
    public record Tuple(InetAddress source, InetAddress destination, int sourcePort, int destinationPort) {
        public Tuple {
            Objects.requireNonNull(source, "source");
            Objects.requireNonNull(destination, "destination");
        }

        @Override
        public String toString() {
            return IpPrefix.text(source) + (sourcePort > 0 ? ":" + sourcePort : "") + " -> "
                    + IpPrefix.text(destination) + (destinationPort > 0 ? ":" + destinationPort : "");
        }
    }

    public ConntrackEntry {
        Objects.requireNonNull(original, "original");
        Objects.requireNonNull(reply, "reply");
    }

    /** An entry without an ICMP type (TCP, UDP, ...). */
    public ConntrackEntry(int protocol, Tuple original, Tuple reply) {
        this(protocol, original, reply, -1);
    }

    /** Whether {@code address} is the source or destination of either direction. */
    public boolean involves(InetAddress address) {
        return address.equals(original.source()) || address.equals(original.destination())
                || address.equals(reply.source()) || address.equals(reply.destination());
    }

    @Override
    public String toString() {
        return "proto " + protocol + (icmpType >= 0 ? " type " + icmpType : "") + " " + original + " (reply " + reply
                + ")";
    }
}
