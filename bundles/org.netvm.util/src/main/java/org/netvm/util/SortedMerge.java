package org.netvm.util;

import java.util.Comparator;
import java.util.Iterator;

/**
 * One walk over two sequences sorted alike (a merge): each item is handed over once, beside its equal in the
 * other sequence if there is one. Linear, no copies: what the renderers and the apply log use to find what
 * changed between two plans, whose unchanged parts are often the very same objects.
 */
public final class SortedMerge {
    private SortedMerge() {
    }

    /** What the walk does with one item. */
    @FunctionalInterface
    public interface Step<T> {
        /**
         * One item: {@code before} null if only the second sequence holds it, {@code after} null if only the
         * first does, both if the two hold items that {@code order} finds equal.
         *
         * @return false to stop the walk here
         */
        boolean visit(T before, T after);
    }

    /**
     * Walks {@code before} and {@code after}, both sorted by {@code order}, in that order.
     *
     * @return false if a step stopped the walk, true if it went through both
     */
    public static <T> boolean walk(Iterable<? extends T> before, Iterable<? extends T> after, Comparator<? super T> order,
            Step<? super T> step) {
        Iterator<? extends T> bs = before.iterator();
        Iterator<? extends T> as = after.iterator();
        T x = bs.hasNext() ? bs.next() : null;
        T y = as.hasNext() ? as.next() : null;
        while (x != null || y != null) {
            int o = x == null ? 1 : y == null ? -1 : order.compare(x, y);
            if (!step.visit(o <= 0 ? x : null, o >= 0 ? y : null)) {
                return false;
            }
            if (o <= 0) {
                x = bs.hasNext() ? bs.next() : null;
            }
            if (o >= 0) {
                y = as.hasNext() ? as.next() : null;
            }
        }
        return true;
    }
}
