package org.netvm.dataplane;

import java.util.Objects;

/**
 * A chain declaration. A base chain ({@link #base()} non-null) is attached to a hook and has a policy;
 * a regular chain ({@link #base()} null) is only entered by {@code jump}/{@code goto}.
 *
 * @param family the family (which table)
 * @param name   {@code ^[A-Za-z][A-Za-z0-9_-]{0,30}$}
 * @param base   hook attachment, or null for a regular chain
 * @param userOwned whether the chain's contents belong to the user (see {@link #userOwned(Family, String)})
 */
public record Chain(Family family, String name, Base base, boolean userOwned) {

    /**
     * Hook attachment of a base chain.
     *
     * @param type     filter, nat or route
     * @param hook     where it is attached
     * @param priority order at the hook
     * @param policy   what happens to packets no rule decided on
     */
    public record Base(ChainType type, Hook hook, Priority priority, Policy policy) {
        public Base {
            Objects.requireNonNull(type, "type");
            Objects.requireNonNull(hook, "hook");
            Objects.requireNonNull(priority, "priority");
            Objects.requireNonNull(policy, "policy");
            if (type == ChainType.NAT && hook == Hook.FORWARD) {
                throw new IllegalArgumentException("a nat chain cannot be attached to the forward hook");
            }
            if (type == ChainType.ROUTE && hook != Hook.OUTPUT) {
                throw new IllegalArgumentException("a route chain can only be attached to the output hook");
            }
        }
    }

    public Chain {
        Objects.requireNonNull(family, "family");
        Names.object("chain", name);
        if (userOwned && base != null) {
            throw new IllegalArgumentException("a user-owned chain must be a regular chain: " + name);
        }
        if (base != null && base.type() == ChainType.ROUTE && family == Family.INET) {
            throw new IllegalArgumentException("a route chain needs family ip or ip6: " + name);
        }
    }

    /** A chain netvm owns whole ({@code userOwned} false). */
    public Chain(Family family, String name, Base base) {
        this(family, name, base, false);
    }

    /** A base chain. */
    public static Chain base(Family family, String name, ChainType type, Hook hook, Priority priority,
            Policy policy) {
        return new Chain(family, name, new Base(type, hook, priority, policy));
    }

    /** A filter base chain. */
    public static Chain filter(Family family, String name, Hook hook, Priority priority, Policy policy) {
        return base(family, name, ChainType.FILTER, hook, priority, policy);
    }

    /** A nat base chain with policy accept. */
    public static Chain nat(Family family, String name, Hook hook, Priority priority) {
        return base(family, name, ChainType.NAT, hook, priority, Policy.ACCEPT);
    }

    /** A regular (non-base) chain. */
    public static Chain regular(Family family, String name) {
        return new Chain(family, name, null);
    }

    /**
     * A regular chain netvm creates (and jumps to, by the rules that name it) but whose contents belong to
     * the user, like Qubes' {@code custom-input}/{@code custom-forward} ("Qubes OS itself will never modify
     * them"): a backend never flushes or deletes it while a plan declares it, keeps the rules it did not
     * write itself (an admin's {@code nft add rule ...}) through every apply, and leaves them out of
     * {@link PacketFilterBackend#readBack()}, so they are never drift. Rules the plan puts into it (from
     * contributions) are marked as netvm's by the backend and managed as usual.
     */
    public static Chain userOwned(Family family, String name) {
        return new Chain(family, name, null, true);
    }

    public boolean isBase() {
        return base != null;
    }

    public ChainRef ref() {
        return new ChainRef(family, name);
    }
}
