package org.netvm.dns.internal;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;

import org.netvm.dataplane.IpAddress;

/** Which upstream nameservers a DNAT can use. */
final class Upstreams {
    private Upstreams() {
    }

    /**
     * The usable upstreams in order: IPv4 only (a DNAT in the ip family cannot reach IPv6), unicast,
     * not 0.0.0.0/8, not loopback (the stub of systemd-resolved, 127.0.0.53, is not reachable for
     * forwarded packets), not multicast or broadcast; duplicates removed, first occurrence kept.
     * Null entries are ignored.
     */
    static List<IpAddress> usable(List<? extends InetAddress> servers) {
        LinkedHashSet<IpAddress> out = new LinkedHashSet<>();
        if (servers != null) {
            for (InetAddress a : servers) {
                if (a instanceof Inet4Address v4 && usableIpv4(v4.getAddress())) {
                    out.add(IpAddress.of(v4.getHostAddress()));
                }
            }
        }
        return new ArrayList<>(out);
    }

    static boolean usableIpv4(byte[] b) {
        if (b.length != 4) {
            return false;
        }
        int first = b[0] & 255;
        boolean broadcast = (b[0] & b[1] & b[2] & b[3]) == (byte) 255;
        return first != 0 && first != 127 && first < 224 && !broadcast;
    }
}
