package org.netvm.testing.dataplane;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.Test;
import org.netvm.dataplane.Contribution;

class FakeDataplaneTest {
    private final FakeDataplane dp = new FakeDataplane();

    @Test
    void recordsPutsAndRemovesAndJournalsThem() {
        List<String> journal = new CopyOnWriteArrayList<>();
        dp.trace(journal);
        dp.put(Contribution.builder("a").build());
        dp.put(Contribution.builder("b").build());
        dp.remove("a");
        assertEquals(List.of("put a", "put b", "remove a"), journal);
        assertEquals("b", dp.last().owner());
        assertEquals(List.of("a"), dp.removes());
        assertEquals(Set.of("b"), dp.contributions().keySet());
    }

    @Test
    void heldStagesTakeEffectWhenCompleted() {
        dp.hold(true);
        CompletionStage<Void> s = dp.put(Contribution.builder("a").build());
        assertFalse(s.toCompletableFuture().isDone());
        assertTrue(dp.contributions().isEmpty());
        dp.completeHeld();
        assertTrue(s.toCompletableFuture().isDone());
        assertEquals(Set.of("a"), dp.contributions().keySet());
    }

    @Test
    void failuresFailTheStage() {
        dp.failWith(new IllegalStateException("backend down"));
        assertTrue(dp.remove("a").toCompletableFuture().isCompletedExceptionally());
    }
}
