package org.netvm.dataplane;

import java.util.Objects;

/**
 * Names a set: family plus set name.
 *
 * @param family the family (which table)
 * @param name   {@code ^[A-Za-z][A-Za-z0-9_-]{0,30}$}
 */
public record SetRef(Family family, String name) implements Comparable<SetRef> {

    public SetRef {
        Objects.requireNonNull(family, "family");
        Names.object("set", name);
    }

    public static SetRef of(Family family, String name) {
        return new SetRef(family, name);
    }

    @Override
    public int compareTo(SetRef o) {
        int c = family.compareTo(o.family);
        return c != 0 ? c : name.compareTo(o.name);
    }

    @Override
    public String toString() {
        return family.keyword() + " @" + name;
    }
}
