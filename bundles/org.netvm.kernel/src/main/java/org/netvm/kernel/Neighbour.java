package org.netvm.kernel;

import java.net.InetAddress;
import java.util.Objects;

/**
 * A neighbour (ARP/NDP) entry.
 *
 * @param address the neighbour's IP address
 * @param lladdr its link-layer address; {@code null} only in entries read back (incomplete, deletes)
 * @param device the device it is reached through
 * @param permanent NUD_PERMANENT: a static entry that never expires
 */
public record Neighbour(InetAddress address, MacAddress lladdr, String device, boolean permanent) {
    public Neighbour {
        Objects.requireNonNull(address, "address");
        Checks.device(device);
    }

    /** {@code ip neighbour replace <address> lladdr <mac> dev <device> nud permanent}. */
    public static Neighbour permanent(InetAddress address, MacAddress lladdr, String device) {
        return new Neighbour(address, Objects.requireNonNull(lladdr, "lladdr"), device, true);
    }

    @Override
    public String toString() {
        return IpPrefix.text(address) + (lladdr == null ? "" : " lladdr " + lladdr) + " dev " + device
                + (permanent ? " nud permanent" : "");
    }
}
