package org.netvm.policy;

import java.util.Collection;
import java.util.Collections;
import java.util.Objects;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

import org.netvm.dataplane.ChainRef;
import org.netvm.dataplane.Family;
import org.netvm.dataplane.IpAddress;
import org.netvm.dataplane.SetElement;
import org.netvm.dataplane.SetRef;

/**
 * Names of the base policy's chains and sets, and the per-guest anti-spoofing elements.
 *
 * <pre>{@code
 * Contribution.Builder b = Contribution.builder("vif/vif3.0");
 * BasePolicy.guestElements("vif3.0", List.of(IpAddress.of("10.137.0.5"))).forEach(b::elements);
 * }</pre>
 */
public final class BasePolicy {

    /** The owner id of the base policy's contribution. */
    public static final String OWNER = "policy";

    /** The base policy's contribution priority (lower than the default 0: its rules come first at equal order). */
    public static final int PRIORITY = -100;

    /** The family of the filter chains and the anti-spoofing sets. */
    public static final Family FAMILY = Family.INET;

    /** The interface group of downstream (guest) interfaces: {@code ip link set vifD.N group 2}. */
    public static final int VIF_GROUP = 2;

    /** {@code ifname . ipv4_addr}: which IPv4 source address each vif may use. */
    public static final SetRef ALLOWED = SetRef.of(FAMILY, "allowed");

    /** {@code ifname . ipv6_addr}: which IPv6 source address each vif may use. */
    public static final SetRef ALLOWED6 = SetRef.of(FAMILY, "allowed6");

    /** {@code ipv4_addr}: every guest IPv4 address (dropped as a source on any non-vif interface). */
    public static final SetRef DOWNSTREAM = SetRef.of(FAMILY, "downstream");

    /** {@code ipv6_addr}: every guest IPv6 address (dropped as a source on any non-vif interface). */
    public static final SetRef DOWNSTREAM6 = SetRef.of(FAMILY, "downstream6");

    /** The input base chain (policy drop). */
    public static final ChainRef INPUT = ChainRef.of(FAMILY, "input");

    /** The forward base chain (policy drop). */
    public static final ChainRef FORWARD = ChainRef.of(FAMILY, "forward");

    /**
     * A regular chain jumped to first from {@link #INPUT}, for the user and third-party bundles; netvm's own
     * bundles never put a rule there. See {@link #CUSTOM_FORWARD} for what its rules can do.
     */
    public static final ChainRef CUSTOM_INPUT = ChainRef.of(FAMILY, "custom-input");

    /**
     * A regular chain jumped to first from {@link #FORWARD} (before the invalid drop and the
     * established/related accept, so its rules see every forwarded packet), for the user and third-party
     * bundles; netvm's own bundles never put a rule there. Add rules to it (never declare it) in a
     * {@link org.netvm.dataplane.Contribution} of your own owner, e.g.
     * {@code Rule.in(BasePolicy.CUSTOM_FORWARD).iifname("vif3.0").counter().jump("my-chain")}.
     *
     * <p>Verdicts decide before netvm's policy: {@code accept} accepts the packet for the forward hook
     * (bypassing the guest isolation below it), {@code drop}/{@code reject} are final, {@code return} ends
     * this chain for all later rules of everybody. To only observe (count), let a counter rule jump to an
     * empty regular chain you declare yourself: it comes straight back and the next rule runs.
     */
    public static final ChainRef CUSTOM_FORWARD = ChainRef.of(FAMILY, "custom-forward");

    private BasePolicy() {
    }

    /**
     * The anti-spoofing elements of one guest interface: {@code vif . addr} in {@link #ALLOWED} and
     * {@code addr} in {@link #DOWNSTREAM} for each IPv4 address, the same in {@link #ALLOWED6} and
     * {@link #DOWNSTREAM6} for each IPv6 address. A family without addresses has no entry, so all of the
     * guest's traffic of that family is dropped.
     *
     * @param vif       the interface name, exact (no wildcard)
     * @param addresses the guest's addresses
     * @return elements by set, only the sets that get elements
     * @throws IllegalArgumentException if {@code vif} is not a valid interface name
     */
    public static SortedMap<SetRef, SortedSet<SetElement>> guestElements(String vif,
            Collection<IpAddress> addresses) {
        Objects.requireNonNull(vif, "vif");
        new SetElement(vif, IpAddress.of("0.0.0.0")); // validates the name even without addresses
        TreeMap<SetRef, SortedSet<SetElement>> out = new TreeMap<>();
        for (IpAddress a : Objects.requireNonNull(addresses, "addresses")) {
            boolean v4 = Objects.requireNonNull(a, "address").version() == 4;
            out.computeIfAbsent(v4 ? ALLOWED : ALLOWED6, k -> new TreeSet<>()).add(new SetElement(vif, a));
            out.computeIfAbsent(v4 ? DOWNSTREAM : DOWNSTREAM6, k -> new TreeSet<>()).add(new SetElement(null, a));
        }
        out.replaceAll((k, v) -> Collections.unmodifiableSortedSet(v));
        return Collections.unmodifiableSortedMap(out);
    }
}
