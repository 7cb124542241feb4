package org.netvm.dataplane;

import java.util.AbstractMap;
import java.util.AbstractSet;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * An immutable sorted map whose {@link #with} and {@link #without} return a new map sharing all but one
 * chunk with this one: the entries sit in sorted chunks of at most {@value #MAX} keys, so a change copies
 * one chunk and the short array of chunks, not the whole map. Used by {@link IncrementalMerge} so that a
 * plan after one contribution's change costs in proportion to the change, and so that comparing two such
 * plans skips the chunks they share. Keys are compared by their natural order; no null keys or values.
 */
final class SharedSortedMap<K extends Comparable<? super K>, V> extends AbstractMap<K, V> implements SortedMap<K, V> {
    private static final int HALF = 32;
    private static final int MAX = 2 * HALF;
    private static final Object[][] NONE = {};

    /** Chunks of keys (each sorted, none empty, every key of chunk i below every key of chunk i+1). */
    private final Object[][] keys;
    /** The values, chunk by chunk like the keys. */
    private final Object[][] values;
    private final int size;

    private SharedSortedMap(Object[][] keys, Object[][] values, int size) {
        this.keys = keys;
        this.values = values;
        this.size = size;
    }

    static <K extends Comparable<? super K>, V> SharedSortedMap<K, V> empty() {
        return new SharedSortedMap<>(NONE, NONE, 0);
    }

    /** The entries of {@code map} (natural order), in chunks of {@value #HALF}. */
    static <K extends Comparable<? super K>, V> SharedSortedMap<K, V> copyOf(Map<K, V> map) {
        if (map instanceof SharedSortedMap<K, V> shared) {
            return shared;
        }
        TreeMap<K, V> sorted = new TreeMap<>(map);
        int chunks = (sorted.size() + HALF - 1) / HALF;
        Object[][] ks = new Object[chunks][];
        Object[][] vs = new Object[chunks][];
        Iterator<Entry<K, V>> it = sorted.entrySet().iterator();
        for (int c = 0; c < chunks; c++) {
            int n = Math.min(HALF, sorted.size() - c * HALF);
            ks[c] = new Object[n];
            vs[c] = new Object[n];
            for (int i = 0; i < n; i++) {
                Entry<K, V> e = it.next();
                ks[c][i] = Objects.requireNonNull(e.getKey());
                vs[c][i] = Objects.requireNonNull(e.getValue());
            }
        }
        return new SharedSortedMap<>(ks, vs, sorted.size());
    }

    /** This map with {@code key} mapped to {@code value}; this very map if it already was. */
    SharedSortedMap<K, V> with(K key, V value) {
        Objects.requireNonNull(value);
        if (keys.length == 0) {
            return new SharedSortedMap<>(new Object[][] {{key}}, new Object[][] {{value}}, 1);
        }
        int c = chunkOf(key);
        int i = indexIn(keys[c], key);
        if (i >= 0) {
            if (values[c][i] == value) {
                return this;
            }
            Object[] vs = values[c].clone();
            vs[i] = value;
            return new SharedSortedMap<>(keys, replaced(values, c, vs), size);
        }
        int at = -i - 1;
        Object[] ks = inserted(keys[c], at, key);
        Object[] vs = inserted(values[c], at, value);
        if (ks.length <= MAX) {
            return new SharedSortedMap<>(replaced(keys, c, ks), replaced(values, c, vs), size + 1);
        }
        return new SharedSortedMap<>(split(keys, c, ks), split(values, c, vs), size + 1);
    }

    /** This map without {@code key}; this very map if it had none. */
    SharedSortedMap<K, V> without(K key) {
        if (keys.length == 0) {
            return this;
        }
        int c = chunkOf(key);
        int i = indexIn(keys[c], key);
        if (i < 0) {
            return this;
        }
        if (keys[c].length == 1) {
            return new SharedSortedMap<>(removed(keys, c), removed(values, c), size - 1);
        }
        return new SharedSortedMap<>(replaced(keys, c, removed(keys[c], i)), replaced(values, c, removed(values[c], i)),
                size - 1);
    }

    /** The chunk that holds {@code key} or would take it (the first whose last key is not below it). */
    @SuppressWarnings("unchecked")
    private int chunkOf(Object key) {
        K k = (K) key;
        int lo = 0;
        int hi = keys.length - 1;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            Object[] chunk = keys[mid];
            if (((K) chunk[chunk.length - 1]).compareTo(k) < 0) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    @SuppressWarnings("unchecked")
    private int indexIn(Object[] chunk, Object key) {
        return Arrays.binarySearch(chunk, key, (a, b) -> ((K) a).compareTo((K) b));
    }

    private static Object[][] replaced(Object[][] chunks, int c, Object[] chunk) {
        Object[][] out = chunks.clone();
        out[c] = chunk;
        return out;
    }

    private static Object[][] split(Object[][] chunks, int c, Object[] chunk) {
        Object[][] out = new Object[chunks.length + 1][];
        System.arraycopy(chunks, 0, out, 0, c);
        out[c] = Arrays.copyOfRange(chunk, 0, chunk.length / 2);
        out[c + 1] = Arrays.copyOfRange(chunk, chunk.length / 2, chunk.length);
        System.arraycopy(chunks, c + 1, out, c + 2, chunks.length - c - 1);
        return out;
    }

    private static Object[] inserted(Object[] a, int at, Object x) {
        Object[] out = new Object[a.length + 1];
        System.arraycopy(a, 0, out, 0, at);
        out[at] = x;
        System.arraycopy(a, at, out, at + 1, a.length - at);
        return out;
    }

    private static <T> T[] removed(T[] a, int at) {
        T[] out = Arrays.copyOf(a, a.length - 1);
        System.arraycopy(a, at + 1, out, at, a.length - at - 1);
        return out;
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public boolean containsKey(Object key) {
        return get(key) != null;
    }

    @Override
    @SuppressWarnings("unchecked")
    public V get(Object key) {
        if (keys.length == 0 || key == null) {
            return null;
        }
        int c = chunkOf(key);
        int i = indexIn(keys[c], key);
        return i < 0 ? null : (V) values[c][i];
    }

    @Override
    public Comparator<? super K> comparator() {
        return null; // natural order
    }

    @Override
    @SuppressWarnings("unchecked")
    public K firstKey() {
        if (size == 0) {
            throw new NoSuchElementException();
        }
        return (K) keys[0][0];
    }

    @Override
    @SuppressWarnings("unchecked")
    public K lastKey() {
        if (size == 0) {
            throw new NoSuchElementException();
        }
        Object[] last = keys[keys.length - 1];
        return (K) last[last.length - 1];
    }

    // views of a range: rare (no caller in netvm), so a copy
    @Override
    public SortedMap<K, V> subMap(K fromKey, K toKey) {
        return Collections.unmodifiableSortedMap(new TreeMap<>(this).subMap(fromKey, toKey));
    }

    @Override
    public SortedMap<K, V> headMap(K toKey) {
        return Collections.unmodifiableSortedMap(new TreeMap<>(this).headMap(toKey));
    }

    @Override
    public SortedMap<K, V> tailMap(K fromKey) {
        return Collections.unmodifiableSortedMap(new TreeMap<>(this).tailMap(fromKey));
    }

    @Override
    public Set<Entry<K, V>> entrySet() {
        return new AbstractSet<>() {
            @Override
            public Iterator<Entry<K, V>> iterator() {
                return new Iterator<>() {
                    private int c;
                    private int i;

                    @Override
                    public boolean hasNext() {
                        return c < keys.length;
                    }

                    @Override
                    @SuppressWarnings("unchecked")
                    public Entry<K, V> next() {
                        if (c >= keys.length) {
                            throw new NoSuchElementException();
                        }
                        Entry<K, V> e = new SimpleImmutableEntry<>((K) keys[c][i], (V) values[c][i]);
                        if (++i == keys[c].length) {
                            c++;
                            i = 0;
                        }
                        return e;
                    }
                };
            }

            @Override
            public int size() {
                return size;
            }
        };
    }

    /** Like any map's; another shared map with the same chunks of keys is compared chunk by chunk, shared ones skipped. */
    @Override
    public boolean equals(Object o) {
        if (o == this) {
            return true;
        }
        if (o instanceof SharedSortedMap<?, ?> other && other.keys == keys) {
            for (int c = 0; c < keys.length; c++) {
                if (other.values[c] != values[c] && !Arrays.equals(other.values[c], values[c])) {
                    return false;
                }
            }
            return true;
        }
        return super.equals(o);
    }

    @Override
    public int hashCode() {
        return super.hashCode();
    }
}
