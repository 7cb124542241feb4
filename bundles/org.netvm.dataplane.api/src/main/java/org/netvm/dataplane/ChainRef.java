package org.netvm.dataplane;

import java.util.Objects;

/**
 * Names a chain: family plus chain name. The backend keeps one table per family, so this is unique.
 *
 * @param family the family (which table)
 * @param name   {@code ^[A-Za-z][A-Za-z0-9_-]{0,30}$}
 */
public record ChainRef(Family family, String name) implements Comparable<ChainRef> {

    public ChainRef {
        Objects.requireNonNull(family, "family");
        Names.object("chain", name);
    }

    public static ChainRef of(Family family, String name) {
        return new ChainRef(family, name);
    }

    @Override
    public int compareTo(ChainRef o) {
        int c = family.compareTo(o.family);
        return c != 0 ? c : name.compareTo(o.name);
    }

    @Override
    public String toString() {
        return family.keyword() + " " + name;
    }
}
