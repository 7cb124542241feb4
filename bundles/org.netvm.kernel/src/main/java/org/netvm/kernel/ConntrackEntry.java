package org.netvm.kernel;

import java.net.InetAddress;
import java.util.Objects;

/**
 * One connection tracking entry as the kernel lists it: the layer-4 protocol number and the tuples of
 * both directions. Ports are 0 for protocols without ports (ICMP, ...).
 *
 * @param protocol IP protocol number (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, ...)
 * @param original the tuple of the first packet's direction
 * @param reply    the tuple the answers carry (differs from the swapped original after NAT)
 * @since 1.2
 */
public record ConntrackEntry(int protocol, Tuple original, Tuple reply) {

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

    /** Whether {@code address} is the source or destination of either direction. */
    public boolean involves(InetAddress address) {
        return address.equals(original.source()) || address.equals(original.destination())
                || address.equals(reply.source()) || address.equals(reply.destination());
    }

    @Override
    public String toString() {
        return "proto " + protocol + " " + original + " (reply " + reply + ")";
    }
}
