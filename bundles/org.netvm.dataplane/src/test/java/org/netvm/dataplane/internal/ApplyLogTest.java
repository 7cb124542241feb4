package org.netvm.dataplane.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;

import org.junit.jupiter.api.Test;
import org.netvm.dataplane.Contribution;
import org.netvm.dataplane.IncrementalMerge;
import org.netvm.dataplane.Plan;
import org.netvm.dataplane.SetElement;
import org.netvm.dataplane.SetRef;
import org.netvm.testing.log.Loggers;

/** The owners an apply line names: from the merge's changed owners, as from comparing all (its fallback). */
class ApplyLogTest {
    private static final SetRef V4 = SetRef.of(org.netvm.dataplane.Family.INET, "v4");

    @Test
    void theMergesChangedOwnersNameWhatComparingAllNames() {
        Random rnd = new Random(20261210L);
        ApplyLog known = new ApplyLog(Loggers.quiet(), System::nanoTime);
        ApplyLog walked = new ApplyLog(Loggers.quiet(), System::nanoTime);
        IncrementalMerge merge = new IncrementalMerge();
        TreeMap<String, Contribution> all = new TreeMap<>();
        all.put("base", Contribution.builder("base").set(org.netvm.dataplane.NamedSet.of(
                org.netvm.dataplane.Family.INET, "v4", org.netvm.dataplane.SetType.IPV4_ADDR)).build());
        int fromMerge = 0;
        for (int step = 0; step < 400; step++) {
            int n = step == 0 ? 100 : 1 + (rnd.nextInt(12) == 0 ? 80 : rnd.nextInt(3));
            for (int i = 0; i < n; i++) {
                String owner = "vif/" + rnd.nextInt(120);
                if (rnd.nextInt(4) == 0) {
                    all.remove(owner);
                } else if (rnd.nextInt(6) == 0 && all.containsKey(owner)) { // equal, another object
                    all.put(owner, Contribution.builder(owner).elements(V4, all.get(owner).elements().getOrDefault(V4,
                            java.util.Collections.emptySortedSet())).build());
                } else {
                    all.put(owner, Contribution.builder(owner).element(V4, SetElement.of("10.5.0." + rnd.nextInt(9)))
                            .build());
                }
            }
            Plan.Merge m = merge.update(List.copyOf(all.values()), Set.of());
            Set<String> changed = merge.changedOwners();
            fromMerge += changed == null ? 0 : 1;
            known.merged(m.merged(), changed);
            walked.merged(m.merged(), null);
            assertEquals(walked.changedOwners(), known.changedOwners(), "step " + step);
            if (rnd.nextInt(3) != 0) { // an apply that went through; else (failed) the owners pile up
                known.appliedMerged();
                walked.appliedMerged();
            }
        }
        assertEquals(true, fromMerge > 250, "mostly from the merge: " + fromMerge);
    }

    @Test
    void unchangedOrChangedBackOwnersAreNotNamed() {
        ApplyLog log = new ApplyLog(Loggers.quiet(), System::nanoTime);
        Contribution a = Contribution.builder("a").build();
        Contribution b = Contribution.builder("b").element(V4, SetElement.of("10.0.0.1")).build();
        SortedMap<String, Contribution> one = new TreeMap<>(java.util.Map.of("a", a));
        log.merged(one, null);
        log.appliedMerged();
        assertEquals("none", log.changedOwners());
        SortedMap<String, Contribution> two = new TreeMap<>(java.util.Map.of("a", a, "b", b));
        log.merged(two, new HashSet<>(List.of("b")));
        assertEquals("\"b\"", log.changedOwners());
        log.merged(one, Set.of("b")); // b came and went before an apply
        assertEquals("none", log.changedOwners());
    }
}
