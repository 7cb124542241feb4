/**
 * Typed desired state for packet filtering and NAT, and the backend SPI.
 *
 * <h2>Model</h2>
 * Features describe what they want, never command strings:
 * <ul>
 * <li>{@link org.netvm.dataplane.Chain}: a base chain (family, {@link org.netvm.dataplane.ChainType type},
 * {@link org.netvm.dataplane.Hook hook}, {@link org.netvm.dataplane.Priority priority},
 * {@link org.netvm.dataplane.Policy policy}) or a regular chain. There is no table object: the backend
 * keeps one table per {@link org.netvm.dataplane.Family family} ({@code inet} recommended for filtering,
 * {@code ip}/{@code ip6} for NAT), so a {@link org.netvm.dataplane.ChainRef} (family + name) names a chain.</li>
 * <li>{@link org.netvm.dataplane.Rule}: placed into a chain by reference, with
 * {@link org.netvm.dataplane.Match matches} (interface name or {@code vif*} prefix, interface group,
 * address/prefix, protocol, port or port range, ICMP/ICMPv6 type, conntrack state, set membership; negatable), an optional counter and a
 * {@link org.netvm.dataplane.Verdict verdict} (accept, drop, reject, jump, goto, return, dnat, masquerade).
 * A {@link org.netvm.dataplane.Chain#userOwned user-owned} chain (1.3) is created by netvm but its
 * contents belong to the user: the rules an admin adds to it survive every apply and are not drift.</li>
 * <li>{@link org.netvm.dataplane.NamedSet}: a typed set ({@code ipv4_addr}, {@code ipv6_addr},
 * {@code ifname . ipv4_addr}, {@code ifname . ipv6_addr}, and (1.2) the interval key sets
 * {@code ipv4_addr . ipv4_addr . inet_proto [. inet_service]}: source . destination prefix . protocol or any
 * [. port range]); its {@link org.netvm.dataplane.SetElement elements} are given apart from rules, so a guest
 * coming or going changes elements only. A key set stands for runs of rules that share a verdict: one rule
 * with {@code Match.InSet} of key {@code SOURCE_DESTINATION_PROTOCOL[_PORT]} matches what any of them matched.
 * Elements of an interval set with the same source may not overlap.</li>
 * </ul>
 * All types are immutable and validate in their constructors; bad input (names, ports, addresses,
 * prefixes with host bits) throws {@link java.lang.IllegalArgumentException} with a clear message. Chain and
 * set names may not be words nft always reads as keywords ({@code fwd}, {@code counter}, {@code ip}, ...):
 * nft could not read them as names, so they are refused for every backend.
 *
 * <h2>Contributions and merging</h2>
 * A {@link org.netvm.dataplane.Contribution} is the whole desired state of one owner, replaced as a
 * whole. {@link org.netvm.dataplane.Plan#merge} unites contributions: chains and sets may be declared by
 * several owners if identical; any owner may add rules to any declared chain and elements to any declared
 * set. Rules of a chain are ordered by (rule order key, contribution priority, owner id, position in the
 * contribution), so the result does not depend on the order contributions arrive in.
 * {@link org.netvm.dataplane.Plan#mergeLeavingOut} is the dataplane's rule for conflicts: the
 * contributions of the previous plan stay, a conflicting newcomer is left out whole.
 * {@link org.netvm.dataplane.IncrementalMerge} gives the same result while merging again only the
 * contributions that changed (the lists of untouched chains stay the same objects). Typical use:
 * <pre>{@code
 * ChainRef input = ChainRef.of(Family.INET, "input");
 * SetRef allowed = SetRef.of(Family.INET, "allowed");
 * Contribution base = Contribution.builder("base-policy")
 *     .chain(Chain.filter(Family.INET, "input", Hook.INPUT, Priority.FILTER, Policy.DROP))
 *     .set(NamedSet.of(Family.INET, "allowed", SetType.IFNAME_IPV4_ADDR))
 *     .rule(Rule.in(input).ct(CtState.INVALID).drop())
 *     .rule(Rule.in(input).iifgroup(2).order(Rule.LAST).reject(RejectType.HOST_PROHIBITED))
 *     .build();
 * Contribution guest = Contribution.builder("vif/vif3.0")
 *     .element(allowed, SetElement.of("vif3.0", "10.137.0.5")).build();
 * backend.apply(Plan.merge(base, guest));
 * }</pre>
 *
 * <h2>Contributing from a third-party bundle</h2>
 * Get the {@link org.netvm.dataplane.Dataplane} service and {@link org.netvm.dataplane.Dataplane#put put}
 * a contribution (replace it with another put, withdraw it with
 * {@link org.netvm.dataplane.Dataplane#remove remove}, e.g. when your component deactivates), or register a
 * {@code Contribution} object as a service (it is withdrawn with the service, so also when your bundle
 * stops). Use owner ids of your own, starting with your bundle's symbolic name
 * ({@code com.example.vpn/killswitch}); never declare netvm's chains or sets, only add rules and elements
 * to them. The base policy's chains, including the user chains {@code custom-input} and
 * {@code custom-forward} meant for third parties, are named in {@code org.netvm.policy.BasePolicy}.
 * A contribution that conflicts with others (a chain declared differently, a rule into a chain nobody
 * declared) is left out of the plan whole and its put completes exceptionally; the rest of the plan is
 * unaffected. Counters ({@link org.netvm.dataplane.Rule#counter()}) are read with the backend's own tool
 * ({@code nft list chain inet netvm custom-forward}, {@code iptables -L -v -x}); they are not part of the
 * model.
 *
 * <h2>Backends</h2>
 * {@link org.netvm.dataplane.PacketFilterBackend} applies a plan as one atomic transaction, reads back
 * what it owns as an {@link org.netvm.dataplane.OwnedState} for drift detection, and sweeps its own
 * objects only. A third-party backend registers a {@code PacketFilterBackend} service with the property
 * {@code netvm.backend=<name>}; the operator selects it with {@code netvm backend use <name>} (or the
 * {@code backend} property of configuration PID {@code org.netvm.dataplane}). Backends must render every
 * {@link org.netvm.dataplane.Match} and {@link org.netvm.dataplane.Verdict} type. Those are sealed; a
 * minor version may add a type or a {@link org.netvm.dataplane.Verdict.RejectType} (1.2: {@code Match.IcmpType},
 * {@code RejectType.ADMIN_PROHIBITED}, the key set types and set keys): a backend built against an older version fails a plan that uses it
 * (its apply completes exceptionally) and handles every plan that does not. A backend holding the plan
 * another was derived from by {@link org.netvm.dataplane.IncrementalMerge} may ask it for each set's
 * change instead of comparing the sets ({@link org.netvm.dataplane.Plan#elementChange}, 1.3; 1.3 also adds
 * {@code IncrementalMerge.update} with the changes only and {@code IncrementalMerge.changedOwners}).
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.3.0")
package org.netvm.dataplane;
