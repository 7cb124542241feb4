package org.netvm.vif;

import java.time.Instant;
import java.util.Objects;

/**
 * One vif: what is desired and what is programmed. Addresses are canonical text ({@code 10.137.0.5},
 * RFC 5952 IPv6); values not known (or not valid) are {@code null}.
 *
 * @param name     interface name, {@code vifD.N}
 * @param domid    the guest's domain id (D)
 * @param devid    the device id (N)
 * @param desired  whether the vif should be online
 * @param actual   what the reconciler achieved
 * @param ipv4     the guest's IPv4 address, {@code null} if unknown or invalid
 * @param ipv6     the guest's IPv6 address, {@code null} without one
 * @param mac      the guest's MAC, {@code null} if unknown or invalid
 * @param gateway  the netvm's address put on the vif, {@code null} without one
 * @param error    why the vif failed or what it is waiting for; {@code null} when programmed
 * @param since    when {@code actual} last changed
 * @param repairs  drift repairs made on this vif (operations re-applied by a resync)
 */
public record VifState(String name, int domid, int devid, Desired desired, Actual actual, String ipv4, String ipv6,
        String mac, String gateway, String error, Instant since, long repairs) {

    /** What the inputs (xenstore, link, hotplug) ask for. */
    public enum Desired {
        ONLINE, OFFLINE
    }

    /** What is programmed. */
    public enum Actual {
        /** Desired online, waiting for an input (the device, the xenstore entry, initial sync). */
        PENDING,
        /** Everything is programmed. */
        PROGRAMMED,
        /** Validation or programming failed; see {@link VifState#error()}. */
        FAILED,
        /** Nothing is programmed (offline). */
        ABSENT
    }

    public VifState {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(desired, "desired");
        Objects.requireNonNull(actual, "actual");
        Objects.requireNonNull(since, "since");
    }
}
