package org.netvm.dataplane;

import java.lang.ref.WeakReference;
import java.util.AbstractSet;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * The elements of one set in a plan {@link IncrementalMerge} derived from its previous plan: that plan's set
 * ({@code base}, null if it had none) with a few elements added and removed. {@link Plan#elementChange} hands
 * that change to a backend holding the previous plan, so it need not compare two sets of all guests'
 * elements; the plan's checks look at the added elements only.
 *
 * <p>Immutable, a sorted set like any other; built lazily, so that one guest's change does not copy the set
 * of all guests: until something iterates it, a lookup asks the added and removed elements, then the base
 * (a chain of at most {@link #MAX_DEPTH} such sets above a real one; {@link IncrementalMerge} starts a real
 * one beyond). Iterating it (a dry run, a full apply, a drift check) builds the real set once. The base is
 * only weakly held for {@link #derivedFrom}: the chain of lookups ends at a built set.
 */
final class DerivedElements extends AbstractSet<SetElement> implements SortedSet<SetElement> {
    /** Sets derived from derived sets before one is built in full (a lookup walks at most this many). */
    static final int MAX_DEPTH = 16;

    private final WeakReference<SortedSet<SetElement>> base; // null: the previous plan had no such set
    private final List<SetElement> added;
    private final List<SetElement> removed;
    private final int size;
    private final int depth;
    private volatile SortedSet<SetElement> below; // for lookups until built; then null
    private volatile SortedSet<SetElement> all;   // built (unmodifiable), or null

    /**
     * {@code base} with {@code added} (none in it) and {@code removed} (all in it), both sorted; built at once
     * when the chain of derived sets below would grow too long.
     */
    DerivedElements(SortedSet<SetElement> base, List<SetElement> added, List<SetElement> removed) {
        this.base = base == null ? null : new WeakReference<>(base);
        this.added = List.copyOf(added);
        this.removed = List.copyOf(removed);
        this.size = (base == null ? 0 : base.size()) + added.size() - removed.size();
        this.depth = base instanceof DerivedElements d && d.all == null ? d.depth + 1 : 0;
        this.below = base == null ? Collections.emptySortedSet() : base;
        if (depth >= MAX_DEPTH) {
            built();
        }
    }

    /** Whether this set was derived from the very set {@code set} (null: from none). */
    boolean derivedFrom(SortedSet<SetElement> set) {
        return base == null ? set == null : set != null && base.get() == set;
    }

    List<SetElement> added() {
        return added;
    }

    List<SetElement> removed() {
        return removed;
    }

    /**
     * The real set, built once: the first built (or plain) set down the chain, copied, with the changes of
     * the derived sets above it made in order (none of those is built on the way).
     */
    private synchronized SortedSet<SetElement> built() {
        SortedSet<SetElement> a = all;
        if (a != null) {
            return a;
        }
        List<DerivedElements> chain = new ArrayList<>();
        SortedSet<SetElement> bottom = this;
        while (bottom instanceof DerivedElements d) {
            SortedSet<SetElement> done = d.all;
            SortedSet<SetElement> next = d.below; // read after all: it is null only once all is set
            if (done != null) {
                bottom = done;
            } else if (next == null) {
                bottom = d.view(); // built meanwhile
            } else {
                chain.add(d);
                bottom = next;
            }
        }
        TreeSet<SetElement> t = new TreeSet<>(bottom);
        for (int i = chain.size() - 1; i >= 0; i--) {
            t.addAll(chain.get(i).added);
            chain.get(i).removed.forEach(t::remove);
        }
        a = Collections.unmodifiableSortedSet(t);
        all = a;
        below = null; // the lookups' chain ends here: older sets can go
        return a;
    }

    private SortedSet<SetElement> view() {
        SortedSet<SetElement> a = all;
        return a != null ? a : built();
    }

    @Override
    public boolean contains(Object o) {
        SortedSet<SetElement> a = all;
        if (a != null) {
            return a.contains(o);
        }
        SortedSet<SetElement> b = below;
        if (b == null || !(o instanceof SetElement e)) {
            return view().contains(o);
        }
        if (Collections.binarySearch(added, e) >= 0) {
            return true;
        }
        return Collections.binarySearch(removed, e) < 0 && b.contains(e);
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public boolean isEmpty() {
        return size == 0;
    }

    @Override
    public Iterator<SetElement> iterator() {
        return view().iterator();
    }

    @Override
    public Comparator<? super SetElement> comparator() {
        return null; // natural order, as the plan's sets
    }

    @Override
    public SortedSet<SetElement> subSet(SetElement from, SetElement to) {
        return view().subSet(from, to);
    }

    @Override
    public SortedSet<SetElement> headSet(SetElement to) {
        return view().headSet(to);
    }

    @Override
    public SortedSet<SetElement> tailSet(SetElement from) {
        return view().tailSet(from);
    }

    @Override
    public SetElement first() {
        return view().first();
    }

    @Override
    public SetElement last() {
        return view().last();
    }
}
