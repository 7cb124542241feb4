package org.netvm.kernel;

/**
 * A network device as the kernel reports it.
 *
 * @param index interface index
 * @param name interface name
 * @param up administratively up (IFF_UP)
 * @param lowerUp carrier present (IFF_LOWER_UP)
 * @param operState operational state
 * @param mac link-layer address, {@code null} for devices without one
 * @param group interface group ({@code ip link set group N}); 0 is "default"
 * @param mtu MTU
 */
public record Link(int index, String name, boolean up, boolean lowerUp, OperState operState, MacAddress mac, int group,
        int mtu) {
}
