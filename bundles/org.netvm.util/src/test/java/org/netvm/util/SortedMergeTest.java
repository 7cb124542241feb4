package org.netvm.util;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

import org.junit.jupiter.api.Test;

class SortedMergeTest {
    private static final Comparator<String> BY_FIRST_CHAR = Comparator.comparing(s -> s.charAt(0));

    private static List<String> steps(List<String> before, List<String> after) {
        List<String> out = new ArrayList<>();
        assertTrue(SortedMerge.walk(before, after, BY_FIRST_CHAR, (x, y) -> out.add(x + "|" + y)));
        return out;
    }

    @Test
    void handsEachItemOverOnceBesideItsEqual() {
        assertEquals(List.of("a1|null", "b1|b2", "null|c2", "d1|null", "null|e2"),
                steps(List.of("a1", "b1", "d1"), List.of("b2", "c2", "e2")));
    }

    @Test
    void oneSideEmpty() {
        assertEquals(List.of("a1|null", "b1|null"), steps(List.of("a1", "b1"), List.of()));
        assertEquals(List.of("null|a2"), steps(List.of(), List.of("a2")));
        assertEquals(List.of(), steps(List.of(), List.of()));
    }

    @Test
    void aStepStopsTheWalk() {
        List<String> seen = new ArrayList<>();
        assertFalse(SortedMerge.walk(List.of("a", "b", "c"), List.of("a", "b", "c"), BY_FIRST_CHAR, (x, y) -> {
            seen.add(x);
            return !x.equals("b");
        }));
        assertEquals(List.of("a", "b"), seen);
    }
}
