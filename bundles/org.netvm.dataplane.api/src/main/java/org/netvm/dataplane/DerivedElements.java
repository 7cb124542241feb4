package org.netvm.dataplane;

import java.util.AbstractSet;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.SortedSet;

/**
 * The elements of one set in a plan {@link IncrementalMerge} derived from its previous plan, with what
 * changed from that plan's set ({@code base}, null if it had none): {@link Plan#elementChange} hands that
 * change to a backend holding the previous plan, so it need not compare two sets of all guests' elements.
 * Immutable; a set like any other otherwise.
 */
final class DerivedElements extends AbstractSet<SetElement> implements SortedSet<SetElement> {
    private final SortedSet<SetElement> base;
    private final SortedSet<SetElement> all;
    private final List<SetElement> added;
    private final List<SetElement> removed;

    /** {@code all}: the elements, not shared; {@code added}, {@code removed}: sorted, relative to {@code base}. */
    DerivedElements(SortedSet<SetElement> base, SortedSet<SetElement> all, List<SetElement> added,
            List<SetElement> removed) {
        this.base = base;
        this.all = Collections.unmodifiableSortedSet(all);
        this.added = List.copyOf(added);
        this.removed = List.copyOf(removed);
    }

    SortedSet<SetElement> base() {
        return base;
    }

    List<SetElement> added() {
        return added;
    }

    List<SetElement> removed() {
        return removed;
    }

    @Override
    public Iterator<SetElement> iterator() {
        return all.iterator();
    }

    @Override
    public int size() {
        return all.size();
    }

    @Override
    public boolean contains(Object o) {
        return all.contains(o);
    }

    @Override
    public Comparator<? super SetElement> comparator() {
        return all.comparator();
    }

    @Override
    public SortedSet<SetElement> subSet(SetElement from, SetElement to) {
        return all.subSet(from, to);
    }

    @Override
    public SortedSet<SetElement> headSet(SetElement to) {
        return all.headSet(to);
    }

    @Override
    public SortedSet<SetElement> tailSet(SetElement from) {
        return all.tailSet(from);
    }

    @Override
    public SetElement first() {
        return all.first();
    }

    @Override
    public SetElement last() {
        return all.last();
    }
}
