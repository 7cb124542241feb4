package org.netvm.backend.nftables.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteOrder;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.netvm.dataplane.OwnedState;
import org.netvm.dataplane.Plan;

/**
 * The ruleset generation request and answer, byte for byte (include/uapi/linux/netlink.h,
 * netfilter/nfnetlink.h, netfilter/nf_tables.h; little-endian host), and when a read-back result is kept.
 */
class GenerationTest {

    private static byte[] hex(String annotated) {
        return HexFormat.of().parseHex(annotated.replaceAll("#[^\n]*", "").replaceAll("\\s+", ""));
    }

    /** What the kernel answers (nf_tables_fill_gen_info): NEWGEN with the id, the pid and name of the asker. */
    private static byte[] newgen(int seq, String genidBigEndian) {
        String s = HexFormat.of().formatHex(new byte[] {(byte) seq, (byte) (seq >> 8), (byte) (seq >> 16), (byte) (seq >> 24)});
        return hex("""
                2c000000 0f0a 0000 %s 00000000     # nlmsghdr: len 44, NEWGEN (10<<8|15), seq
                00 00 1234                         # nfgenmsg: AF_UNSPEC, v0, res_id: the generation's low 16 bits (BE)
                0800 0100 %s                       # NFTA_GEN_ID, network order
                0800 0200 00000457                 # NFTA_GEN_PROC_PID
                0900 0300 6a617661 00000000        # NFTA_GEN_PROC_NAME "java\\0" + pad
                """.formatted(s, genidBigEndian));
    }

    private final Deque<Object> answers = new ArrayDeque<>(); // byte[] or IOException, in order
    private final List<byte[]> sent = new ArrayList<>();
    private final Generation.Query fake = new Generation.Query() {
        @Override
        public byte[] query(byte[] request, int seq) throws IOException {
            sent.add(request);
            Object a = answers.pop();
            if (a instanceof IOException e) {
                throw e;
            }
            return (byte[]) a;
        }

        @Override
        public void close() {
        }
    };

    @BeforeEach
    void littleEndian() {
        assumeTrue(ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN, "golden bytes of a little-endian host");
    }

    @Test
    void theRequestIsOneGetgenOfNoFamily() {
        byte[] want = hex("""
                14000000 100a 0100 07000000 00000000   # nlmsghdr: len 20, GETGEN (10<<8|16), REQUEST, seq 7, port 0
                00 00 0000                             # nfgenmsg: AF_UNSPEC, NFNETLINK_V0, res_id 0
                """);
        assertEquals(HexFormat.of().formatHex(want), HexFormat.of().formatHex(Generation.request(7)));
    }

    @Test
    void theAnswerCarriesTheIdInNetworkOrderUnsigned() throws IOException {
        assertEquals(0x00011234L, Generation.decode(newgen(7, "00011234")));
        assertEquals(0xfffffffeL, Generation.decode(newgen(7, "fffffffe")));
    }

    @Test
    void errorsOtherMessagesAndMalformedAnswersAreRefused() {
        byte[] error = hex("24000000 0200 0001 07000000 00000000 edffffff 14000000 100a 0100 07000000 00000000");
        IOException e = assertThrows(IOException.class, () -> Generation.decode(error));
        assertTrue(e.getMessage().contains("errno 19"), e.getMessage());
        byte[] other = newgen(7, "00000001");
        other[4] = 0x0e; // NFT_MSG_DELSETELEM, not NEWGEN
        assertThrows(IOException.class, () -> Generation.decode(other));
        byte[] truncated = java.util.Arrays.copyOf(newgen(7, "00000001"), 24);
        assertThrows(IOException.class, () -> Generation.decode(truncated)); // header says 44 bytes
        byte[] badAttribute = newgen(7, "00000001");
        badAttribute[20] = 0x40; // NFTA_GEN_ID claims 64 bytes
        assertThrows(IOException.class, () -> Generation.decode(badAttribute));
        byte[] noId = hex("18000000 0f0a 0000 07000000 00000000 00000000 0800 0200 00000457");
        assertThrows(IOException.class, () -> Generation.decode(noId));
        assertThrows(IOException.class, () -> Generation.decode(new byte[8]));
    }

    @Test
    void aResultIsKeptWhileTheGenerationStaysAndNetvmAppliesNothing() {
        Generation g = new Generation(fake);
        OwnedState state = OwnedState.EMPTY;
        answers.add(newgen(1, "00000005"));
        answers.add(newgen(2, "00000005"));
        long before = g.now();
        assertEquals(5, before);
        assertNull(g.unchanged(before), "nothing recorded yet");
        g.record(state, before, g.now());
        assertSame(state, g.unchanged(5));
        assertNull(g.unchanged(6), "another generation: anyone committed something");
        assertNull(g.unchanged(Generation.UNKNOWN));
        g.changed();
        assertNull(g.unchanged(5), "netvm applied something");
        assertEquals(2, sent.size());
        assertEquals(0x0a10, (sent.get(0)[4] & 0xff) | (sent.get(0)[5] & 0xff) << 8);
    }

    @Test
    void aResultIsNotKeptWhenTheGenerationMovedDuringTheListingOrIsUnknown() {
        Generation g = new Generation(fake);
        g.record(OwnedState.EMPTY, 5, 6);
        assertNull(g.unchanged(5));
        assertNull(g.unchanged(6));
        g.record(OwnedState.EMPTY, Generation.UNKNOWN, Generation.UNKNOWN);
        assertNull(g.unchanged(Generation.UNKNOWN));
        g.record(OwnedState.EMPTY, 5, 5);
        g.record(OwnedState.EMPTY, 7, 8); // a later listing during a commit forgets the earlier result
        assertNull(g.unchanged(5));
    }

    @Test
    void anyFailureIsAnUnknownGeneration() {
        Generation g = new Generation(fake);
        answers.add(new IOException("no answer within the timeout"));
        answers.add(hex("24000000 0200 0000 07000000 00000000 ffffffff 14000000 100a 0100 07000000 00000000"));
        answers.add(new byte[3]);
        assertEquals(Generation.UNKNOWN, g.now());
        assertEquals(Generation.UNKNOWN, g.now());
        assertEquals(Generation.UNKNOWN, g.now());
        assertEquals(Generation.UNKNOWN, new Generation(null).now(), "no socket");
    }

    private static OwnedState state(String chain) {
        return new OwnedState(new TreeMap<>(Map.of(chain, "")), new TreeMap<>(), new TreeMap<>(), new TreeMap<>());
    }

    private final Plan p0 = new Plan(List.of(), List.of(), new TreeMap<>(), new TreeMap<>());
    private final Plan p1 = new Plan(List.of(), List.of(), new TreeMap<>(), new TreeMap<>());
    private final Plan p2 = new Plan(List.of(), List.of(), new TreeMap<>(), new TreeMap<>());
    private final OwnedState a = state("ip netvm-ip/a");
    private final OwnedState b = state("ip netvm-ip/b");
    private final OwnedState c = state("ip netvm-ip/c");
    private final Function<Plan, OwnedState> expected = p -> p == p0 ? a : p == p1 ? b : c;

    @Test
    void afterNetvmsOwnCommitOnAnExactStateTheReadBackIsTheNewPlansExpectation() {
        Generation g = new Generation(fake);
        g.record(a, p0, 5, 5);
        answers.add(newgen(1, "00000005"));
        answers.add(newgen(2, "00000006"));
        g.afterApply(g.beforeApply(p0), p1);
        assertNull(g.unchanged(5), "netvm applied something");
        assertSame(b, g.derived(6, expected));
        assertSame(b, g.unchanged(6), "recorded as if read back");
        answers.add(newgen(3, "00000006")); // a second apply on the derived state
        answers.add(newgen(4, "00000007"));
        g.afterApply(g.beforeApply(p1), p2);
        assertSame(c, g.derived(7, expected));
    }

    @Test
    void appliesInARowDeriveFromTheLastExactReadBack() {
        Generation g = new Generation(fake);
        g.record(a, p0, 5, 5);
        answers.addAll(List.of(newgen(1, "00000005"), newgen(2, "00000006"), newgen(3, "00000006"), newgen(4, "00000007")));
        g.afterApply(g.beforeApply(p0), p1);
        g.afterApply(g.beforeApply(p1), p2); // no read-back in between
        assertSame(c, g.derived(7, expected));
    }

    @Test
    void anyDoubtMeansARealReadBack() {
        Generation g = new Generation(fake);
        g.record(a, p0, 5, 5);
        answers.add(newgen(1, "00000005"));
        answers.add(newgen(2, "00000007")); // someone else committed too
        g.afterApply(g.beforeApply(p0), p1);
        assertNull(g.derived(7, expected));

        g.record(c, p0, 5, 5); // a read-back that was not what netvm expected (drift)
        answers.add(newgen(3, "00000005"));
        answers.add(newgen(4, "00000006"));
        g.afterApply(g.beforeApply(p0), p1);
        assertNull(g.derived(6, expected));

        g.record(a, p0, 5, 5);
        answers.add(newgen(5, "00000006")); // something committed since the read-back: nothing more is asked
        g.afterApply(g.beforeApply(p0), p1);
        assertNull(g.derived(7, expected));

        g.record(a, p0, 5, 5);
        answers.add(newgen(7, "00000005"));
        answers.add(newgen(8, "00000006"));
        g.afterApply(g.beforeApply(p0), p1);
        assertNull(g.derived(5, expected), "asked at another generation");
        assertNull(g.derived(6, expected), "used up by the failed try");

        g.record(a, null, 5, 5); // read back with no plan applied
        answers.add(newgen(9, "00000005"));
        answers.add(newgen(10, "00000006"));
        g.afterApply(g.beforeApply(p0), p1);
        assertNull(g.derived(6, expected));
        assertTrue(answers.isEmpty());
    }

    @Test
    void aRealListingComesAfterABoundedRunOfDerivedReadBacks() {
        Generation g = new Generation(fake);
        g.record(a, p0, 5, 5);
        long gen = 5;
        Plan applied = p0;
        for (int i = 0; i < Generation.MAX_DERIVED_IN_A_ROW; i++) {
            Plan next = applied == p1 ? p2 : p1;
            answers.add(newgen(2 * i + 1, String.format("%08x", gen)));
            answers.add(newgen(2 * i + 2, String.format("%08x", gen + 1)));
            g.afterApply(g.beforeApply(applied), next);
            gen++;
            assertSame(expected.apply(next), g.derived(gen, expected), "derived read-back " + (i + 1));
            applied = next;
        }
        Plan next = applied == p1 ? p2 : p1;
        answers.add(newgen(100, String.format("%08x", gen)));
        answers.add(newgen(101, String.format("%08x", gen + 1)));
        g.afterApply(g.beforeApply(applied), next);
        assertNull(g.derived(gen + 1, expected), "after " + Generation.MAX_DERIVED_IN_A_ROW + " derived, a real listing");
        g.record(expected.apply(next), next, gen + 1, gen + 1); // that listing
        answers.add(newgen(102, String.format("%08x", gen + 1)));
        answers.add(newgen(103, String.format("%08x", gen + 2)));
        g.afterApply(g.beforeApply(next), applied);
        assertSame(expected.apply(applied), g.derived(gen + 2, expected), "after that listing, derived again");
        assertTrue(answers.isEmpty());
    }
}
