package org.netvm.dataplane;

import java.util.Objects;

/**
 * A named set declaration. Its elements are given separately (see {@link Contribution#elements()}),
 * so they change without touching any rule.
 *
 * @param family the family (which table); an {@link Family#IP} set holds IPv4 types only, an
 *               {@link Family#IP6} set IPv6 types only
 * @param name   {@code ^[A-Za-z][A-Za-z0-9_-]{0,30}$}
 * @param type   the element type
 */
public record NamedSet(Family family, String name, SetType type) {

    public NamedSet {
        Objects.requireNonNull(family, "family");
        Names.object("set", name);
        Objects.requireNonNull(type, "type");
        if (!family.carries(type.ipVersion())) {
            throw new IllegalArgumentException("set " + name + " of type " + type.keyword()
                    + " cannot live in family " + family.keyword());
        }
    }

    public static NamedSet of(Family family, String name, SetType type) {
        return new NamedSet(family, name, type);
    }

    public SetRef ref() {
        return new SetRef(family, name);
    }
}
