package org.netvm.kernel;

import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The Linux network stack of one network namespace, programmed over rtnetlink.
 *
 * <p>Reads return snapshots. Writes go through {@link #apply(Batch)}: all operations of a batch are
 * sent over one netlink socket, each one acknowledged by the kernel. Operations are independent
 * (rtnetlink has no transactions): every operation is attempted in order, the ones that failed are
 * reported together in a {@link BatchException}, the others stay applied.
 */
@ProviderType
public interface Kernel {

    /** The network namespace this kernel is bound to ({@code /var/run/netns/<name>}), "" for the process's own. */
    String namespace();

    /** The interface index of a device, empty if there is no such device. */
    OptionalInt linkIndex(String device) throws KernelException;

    /** One link by name, empty if there is no such device. */
    Optional<Link> link(String device) throws KernelException;

    List<Link> links() throws KernelException;

    /** IPv4 and IPv6 addresses of all links. */
    List<Address> addresses() throws KernelException;

    /** Unicast routes of all tables, both families. */
    List<Route> routes() throws KernelException;

    /** Unicast routes carrying one route protocol number, e.g. {@link Route#PROTO_NETVM}. */
    List<Route> routes(int protocol) throws KernelException;

    /** Neighbour (ARP and NDP) entries of all links. */
    List<Neighbour> neighbours() throws KernelException;

    /**
     * IPv4 and IPv6 addresses of one device (none if there is no such device). Cheaper than
     * {@link #addresses()} when a namespace has many devices: nothing of the others is decoded.
     *
     * @since 1.1
     */
    default List<Address> addresses(String device) throws KernelException {
        return addresses().stream().filter(a -> device.equals(a.device())).toList();
    }

    /**
     * Unicast routes through one device carrying route protocol {@code protocol} (any protocol when
     * negative), all tables (none if there is no such device).
     *
     * @since 1.1
     */
    default List<Route> routes(int protocol, String device) throws KernelException {
        return (protocol < 0 ? routes() : routes(protocol)).stream().filter(r -> device.equals(r.device())).toList();
    }

    /**
     * Neighbour entries of one device (none if there is no such device).
     *
     * @since 1.1
     */
    default List<Neighbour> neighbours(String device) throws KernelException {
        return neighbours().stream().filter(n -> device.equals(n.device())).toList();
    }

    /** The current value of an integer sysctl of this namespace. */
    int sysctl(Sysctl key) throws KernelException;

    /**
     * Applies every operation of the batch in order. Throws after all operations were attempted
     * if any of them failed; see {@link BatchException#failures()}.
     */
    void apply(Batch batch) throws KernelException;

    /**
     * Delivers link events (new or changed, deleted) of this namespace to the listener on a
     * dedicated thread until the subscription is closed. Events caused after this method returns
     * are delivered.
     */
    Subscription subscribeLinks(LinkListener listener) throws KernelException;

    /**
     * The connection tracking table of this namespace (ctnetlink on a socket of its own, opened on
     * first use). Implementations without one throw {@link UnsupportedOperationException}.
     *
     * @since 1.2
     */
    default ConntrackTable conntrack() {
        throw new UnsupportedOperationException("no connection tracking access through this kernel seam");
    }
}
