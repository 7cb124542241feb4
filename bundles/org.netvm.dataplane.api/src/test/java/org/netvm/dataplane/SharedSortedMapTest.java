package org.netvm.dataplane;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.List;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** {@link SharedSortedMap} against {@link TreeMap} on random sequences of puts and removals. */
class SharedSortedMapTest {
    @Test
    void behavesLikeATreeMapAndLeavesEarlierVersionsAlone() {
        Random rnd = new Random(7);
        TreeMap<Integer, String> want = new TreeMap<>();
        SharedSortedMap<Integer, String> got = SharedSortedMap.empty();
        for (int step = 0; step < 5000; step++) {
            int k = rnd.nextInt(step < 2500 ? 400 : 60);
            TreeMap<Integer, String> before = new TreeMap<>(want);
            SharedSortedMap<Integer, String> earlier = got;
            if (rnd.nextInt(3) == 0) {
                want.remove(k);
                got = got.without(k);
            } else {
                String v = "v" + rnd.nextInt(3);
                want.put(k, v);
                got = got.with(k, v);
            }
            assertEquals(before, earlier, "step " + step + ": the earlier version is unchanged");
            assertEquals(want, got, "step " + step);
            assertEquals(got, want, "step " + step);
            assertEquals(want.hashCode(), got.hashCode());
            assertEquals(List.copyOf(want.keySet()), List.copyOf(got.keySet()));
            assertEquals(want.get(k), got.get(k));
            if (!want.isEmpty()) {
                assertEquals(want.firstKey(), got.firstKey());
                assertEquals(want.lastKey(), got.lastKey());
                assertEquals(want.headMap(k), got.headMap(k));
                assertEquals(want.tailMap(k), got.tailMap(k));
            }
        }
        assertNull(got.get(100_000));
        assertSame(got, got.with(got.firstKey(), got.get(got.firstKey())), "an unchanged put is the same map");
        assertSame(got, got.without(-1), "removing what is absent is the same map");
        assertSame(got, SharedSortedMap.copyOf(got));
        assertEquals(want, SharedSortedMap.copyOf(want));
    }
}
