package org.netvm.dataplane;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * Programs packet filtering and NAT into the kernel. Registered as a service with property
 * {@value #BACKEND}{@code =<name()>}; consumers pick one with a target filter.
 *
 * <p>A backend owns some kernel objects (e.g. its own nftables tables) and never touches anything
 * else: rules of users, Docker or firewalld survive every call. Calls come from one reconciler thread;
 * implementations need not be re-entrant.
 */
@ConsumerType
public interface PacketFilterBackend {

    /** Service property naming the backend ({@code nftables}, {@code iptables}, ...). */
    String BACKEND = "netvm.backend";

    /** The backend's name, equal to its {@value #BACKEND} service property. */
    String name();

    /**
     * Makes the owned kernel state equal to {@code plan}, as one atomic transaction: afterwards the
     * kernel holds exactly the plan, or (on exception) exactly what it held before. Applying an equal
     * plan twice is harmless.
     *
     * @throws BackendException if the kernel or tool refused; nothing was changed
     */
    void apply(Plan plan) throws BackendException;

    /** What the backend finds it owns in the kernel now, canonically (for drift detection). */
    OwnedState readBack() throws BackendException;

    /**
     * What {@link #readBack()} returns right after a successful {@code apply(plan)}. Drift is
     * {@code !expected(plan).equals(readBack())}; {@link OwnedState#diff} explains it.
     */
    OwnedState expected(Plan plan);

    /** Removes everything the backend owns, and nothing else. Harmless when nothing is owned. */
    void sweep() throws BackendException;
}
