package org.netvm.backend.nftables.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.netvm.dataplane.BackendException;
import org.netvm.dataplane.Contribution;
import org.netvm.dataplane.Family;
import org.netvm.dataplane.Plan;
import org.netvm.dataplane.SetElement;

/** Which changes go over netlink, and what the backend does with the kernel's answers (fake socket, fake nft). */
class NetlinkElementsTest {

    /** Records each batch; answers every message with {@link #errno} (by index from the first change), or throws. */
    static final class FakeTransport implements NetlinkElements.Transport {
        final List<byte[]> sent = new ArrayList<>();
        final Map<Integer, Integer> errno = new HashMap<>();
        boolean silent;
        boolean closed;
        int wholeBatch; // errno for the batch's begin (EPERM: no CAP_NET_ADMIN), 0: none

        @Override
        public Map<Integer, Integer> exchange(byte[] datagram, int firstSeq, int lastSeq, int expectedAcks)
                throws IOException {
            sent.add(datagram);
            if (silent) {
                throw new IOException("no answer from the kernel within the timeout (outcome unknown)");
            }
            Map<Integer, Integer> acks = new HashMap<>();
            if (wholeBatch != 0) {
                acks.put(firstSeq, wholeBatch);
                return acks;
            }
            for (int i = 0; i < expectedAcks; i++) {
                acks.put(firstSeq + 1 + i, errno.getOrDefault(i, 0));
            }
            return acks;
        }

        @Override
        public void close() {
            closed = true;
        }
    }

    private final FakeRunner nft = new FakeRunner();
    private final FakeTransport kernel = new FakeTransport();
    private final NftablesBackend backend = new NftablesBackend(nft, "nft", "", "netvm",
            new ProcessNft(nft, List.of("nft")), kernel);

    @Test
    void aGuestComingAndGoingIsOneBatchDeletionsFirstAndNoNft() throws Exception {
        NetlinkElements e = new NetlinkElements(new NftRenderer("netvm"), kernel);
        List<SetElementBatch.Change> changes = e.changes(QubesPlans.twoGuests(), QubesPlans.guestChanged());
        assertEquals(List.of("delete allowed [vif3.0 . 10.137.0.5]", "delete allowed6 [vif3.0 . fd09:24ef:4179::a89:5]",
                "delete downstream [10.137.0.5]", "delete downstream6 [fd09:24ef:4179::a89:5]",
                "add allowed [vif5.0 . 10.137.0.7]", "add allowed6 [vif5.0 . fd09:24ef:4179::a89:7]",
                "add downstream [10.137.0.7]", "add downstream6 [fd09:24ef:4179::a89:7]"),
                changes.stream().map(c -> (c.add() ? "add " : "delete ") + c.set() + " " + c.elements()).toList());
        assertTrue(changes.stream().allMatch(c -> c.family() == Family.INET && c.table().equals("netvm")));

        backend.apply(QubesPlans.twoGuests());
        assertEquals(1, nft.calls.size(), "the first apply is nft's full transaction");
        backend.apply(QubesPlans.guestChanged());
        assertEquals(1, nft.calls.size(), "no nft for an element-only change");
        assertEquals(1, kernel.sent.size());
        backend.close();
        assertTrue(kernel.closed);
    }

    /**
     * Plans an incremental merge derived one from the other carry each set's change: the batch built from it
     * is the one the full comparison builds (the fallback: a base that is not the very plan derived from, a
     * set that lost its last element, a plan built from scratch); an element-only change of one guest with
     * 300 attached.
     */
    @Test
    void theRecordedElementChangeGivesTheBatchTheFullComparisonGives() {
        NetlinkElements e = new NetlinkElements(new NftRenderer("netvm"), kernel);
        java.util.Random rnd = new java.util.Random(20261209L);
        org.netvm.dataplane.IncrementalMerge inc = new org.netvm.dataplane.IncrementalMerge();
        java.util.TreeMap<String, Contribution> all = new java.util.TreeMap<>();
        all.put("base-policy", QubesPlans.basePolicy());
        for (int g = 0; g < 300; g++) {
            Contribution c = guest(g, rnd);
            all.put(c.owner(), c);
        }
        Plan before = inc.update(new ArrayList<>(all.values()), java.util.Set.of()).plan();
        int recorded = 0;
        for (int step = 0; step < 400; step++) {
            Contribution c = guest(rnd.nextInt(320), rnd);
            Map<String, Contribution> change = new HashMap<>();
            change.put(c.owner(), rnd.nextInt(3) == 0 ? null : c);
            if (step % 100 == 99) { // every guest goes: the sets lose their last element
                all.keySet().removeIf(o -> o.startsWith("vif/"));
                change.clear();
                inc.update(new ArrayList<>(all.values()), java.util.Set.of());
            } else if (change.get(c.owner()) == null) {
                all.remove(c.owner());
            } else {
                all.put(c.owner(), c);
            }
            Plan after = change.isEmpty() ? inc.last().plan() : inc.update(change, java.util.Set.of()).plan();
            Plan scratch = new Plan(before.chains(), before.sets(), before.rules(), before.elements()); // copied sets
            List<SetElementBatch.Change> full = e.changes(scratch, after);
            assertEquals(full, e.changes(before, after), "step " + step);
            assertEquals(full, e.changes(before, Plan.merge(all.values())), "step " + step + ", from scratch");
            if (after.elementChange(QubesPlans.ALLOWED, before) != null
                    && after.elements(QubesPlans.ALLOWED) != before.elements(QubesPlans.ALLOWED)) {
                recorded++;
            }
            before = after;
        }
        assertTrue(recorded > 200, "mostly from the recorded change: " + recorded);
    }

    private static Contribution guest(int g, java.util.Random rnd) {
        return QubesPlans.guest("vif" + (g + 2) + ".0", "10.137." + g / 200 + "." + (g % 200 + 2 + rnd.nextInt(2) * 50),
                rnd.nextBoolean() ? null : "fd09:24ef:4179::" + Integer.toHexString(g + 2));
    }

    @Test
    void structureChangesAndOtherPlansAreLeftToNft() throws Exception {
        NetlinkElements e = new NetlinkElements(new NftRenderer("netvm"), kernel);
        assertNull(e.changes(QubesPlans.twoGuests(), QubesPlans.withDns(List.of("9.9.9.9"))));
        backend.apply(QubesPlans.twoGuests());
        backend.apply(QubesPlans.withDns(List.of("9.9.9.9")));
        assertEquals(2, nft.calls.size());
        assertEquals(0, kernel.sent.size());
        assertEquals(List.of(), e.changes(QubesPlans.twoGuests(), QubesPlans.twoGuests()));
    }

    @Test
    void largeChangesAreSplitIntoMessagesAndVeryLargeOnesLeftToNft() {
        NetlinkElements e = new NetlinkElements(new NftRenderer("netvm"), kernel);
        List<SetElementBatch.Change> changes = e.changes(guests(0), guests(2500));
        assertEquals(6, changes.size()); // 2 sets x 3 messages of at most 1000 elements
        assertEquals(1000, changes.get(0).elements().size());
        assertEquals(500, changes.get(2).elements().size());
        assertNull(e.changes(guests(0), guests(NetlinkElements.MAX_ELEMENTS)));
    }

    @Test
    void aRefusedBatchFallsBackToTheFullTransaction() throws Exception {
        backend.apply(QubesPlans.twoGuests());
        kernel.errno.put(0, 2); // ENOENT: vif3.0's element deleted by hand
        backend.apply(QubesPlans.guestChanged());
        assertEquals(1, kernel.sent.size());
        assertEquals(2, nft.calls.size());
        assertTrue(nft.last().stdin().contains("delete table inet netvm"), nft.last().stdin());
        NetlinkElements e = new NetlinkElements(new NftRenderer("netvm"), kernel);
        BackendException x = assertThrows(BackendException.class,
                () -> e.apply(QubesPlans.twoGuests(), QubesPlans.guestChanged()));
        assertTrue(x.getMessage().contains("delete element inet netvm allowed"), x.getMessage());
        assertTrue(x.detail().contains("ENOENT"), x.detail());
    }

    @Test
    void noAnswerInTimeIsUnknownAndTheFullTransactionDecides() throws Exception {
        backend.apply(QubesPlans.twoGuests());
        kernel.silent = true;
        backend.apply(QubesPlans.guestChanged());
        assertEquals(2, nft.calls.size());
        assertTrue(nft.last().stdin().contains("\"vif5.0\" . 10.137.0.7"));
        // and when nft refuses that too, the apply fails: the caller keeps its last applied plan
        kernel.silent = false;
        backend.apply(QubesPlans.twoGuests()); // over netlink again
        assertEquals(2, nft.calls.size());
        kernel.errno.put(0, 22);
        nft.answer(1, "", "Error: Could not process rule");
        assertThrows(BackendException.class, () -> backend.apply(QubesPlans.guestChanged()));
        assertFalse(nft.calls.isEmpty());
    }

    @Test
    void aBatchRefusedAsAWholeIsARefusal() {
        kernel.wholeBatch = 1;
        NetlinkElements e = new NetlinkElements(new NftRenderer("netvm"), kernel);
        BackendException x = assertThrows(BackendException.class,
                () -> e.apply(QubesPlans.twoGuests(), QubesPlans.guestChanged()));
        assertTrue(x.getMessage().contains("refused the batch"), x.getMessage());
        assertTrue(x.detail().contains("EPERM"), x.detail());
    }

    private static Plan guests(int n) {
        Contribution.Builder g = Contribution.builder("guests");
        for (int i = 0; i < n; i++) {
            String ip = "10.137." + (i / 250) + "." + (i % 250 + 1);
            g.element(QubesPlans.ALLOWED, SetElement.of("vif" + (i + 1) + ".0", ip))
                    .element(QubesPlans.DOWNSTREAM, SetElement.of(ip));
        }
        return Plan.merge(QubesPlans.basePolicy(), g.build());
    }
}
