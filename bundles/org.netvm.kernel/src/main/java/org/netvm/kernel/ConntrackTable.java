package org.netvm.kernel;

import java.net.InetAddress;
import java.util.Collection;
import java.util.List;
import java.util.function.Predicate;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The connection tracking table of the kernel's network namespace, over ctnetlink
 * ({@code NETLINK_NETFILTER}, one socket per namespace, no {@code conntrack} process). An entry
 * <em>involves</em> an address when the address is the source or destination of its original or its
 * reply direction ({@link ConntrackEntry#involves}): for a guest that covers its own connections,
 * connections to it, and connections NAT maps to or from it.
 *
 * <p>Each call lists the table once per address family it needs (the kernel sends every entry of that
 * family; the filtering is done here; no listing when the namespace's table is empty, as its entry
 * count {@code nf_conntrack_count} says), then deletes the chosen entries one by one, each identified by
 * its original tuple, zone and id, so an entry created since the listing is never hit. An entry that
 * disappeared in between is not an error.
 *
 * @since 1.2
 */
@ProviderType
public interface ConntrackTable {

    /** The entries that involve any of {@code addresses}. */
    List<ConntrackEntry> entries(Collection<InetAddress> addresses) throws KernelException;

    /**
     * Deletes the entries that involve any of {@code addresses} and that {@code which} accepts (it runs
     * on the kernel seam's thread: it must be quick and must not call the kernel).
     *
     * @return how many entries were deleted
     */
    int delete(Collection<InetAddress> addresses, Predicate<ConntrackEntry> which) throws KernelException;

    /** Deletes every entry that involves any of {@code addresses}; returns how many. */
    default int delete(Collection<InetAddress> addresses) throws KernelException {
        return delete(addresses, e -> true);
    }

    /** The entries that involve {@code address}. */
    default List<ConntrackEntry> entries(InetAddress address) throws KernelException {
        return entries(List.of(address));
    }

    /** Deletes every entry that involves {@code address}; returns how many. */
    default int delete(InetAddress address) throws KernelException {
        return delete(List.of(address));
    }
}
