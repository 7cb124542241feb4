package org.netvm.backend.nftables.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.function.Function;

import org.netvm.dataplane.OwnedState;
import org.netvm.dataplane.Plan;

/**
 * The "nothing changed" shortcut of the read-back: the nf_tables ruleset generation of the namespace
 * ({@code NFT_MSG_GETGEN}), which every commit to nf_tables there increments (by netvm, nft, iptables-nft,
 * any table), is asked before a read-back; when it is the generation recorded with the last read-back and
 * netvm applied nothing since ({@link #changed}), that read-back's result is still the kernel's state.
 *
 * <p>A result is recorded only when the generation was the same before and after its listing (nothing
 * committed meanwhile). Any doubt (no socket, no answer, an error, a malformed answer) means a real
 * read-back: the shortcut only ever skips a listing whose answer is known.
 *
 * <p>netvm's own applies ({@link #beforeApply}, {@link #afterApply}): when the kernel was known (the
 * generation still the one of a recorded result) just before an apply, and the generation moved by exactly
 * one across it (its own commit and nobody else's), the kernel now holds what that result held changed by
 * the apply. If the recorded result was exactly what netvm expected for the plan applied before, the kernel
 * now holds exactly what it expects for the new plan: the next read-back returns that expectation instead of
 * a listing (with 1 000 guests x 20 rules a listing and its JSON take seconds on a loaded machine, and
 * every change waited behind the one that followed each apply). Whether the recorded result was exact is
 * decided at that read-back, once, by comparing it with the expectation of its plan.
 *
 * <p>Request: {@code nlmsghdr} (type {@code NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_GETGEN}, {@code
 * NLM_F_REQUEST}) and {@code nfgenmsg} ({@code AF_UNSPEC}, {@code NFNETLINK_V0}, resource id 0). Answer:
 * {@code NFT_MSG_NEWGEN} with attribute {@code NFTA_GEN_ID}, a u32 in network byte order; or {@code
 * NLMSG_ERROR}.
 */
final class Generation implements AutoCloseable {
    /** The socket: one request out, the answer with its sequence number back. */
    interface Query extends AutoCloseable {
        /**
         * Sends {@code request} and returns the first answer message (header included) with sequence number
         * {@code seq}, skipping others (late acks of earlier batches).
         *
         * @throws IOException no answer in time, or the socket failed
         */
        byte[] query(byte[] request, int seq) throws IOException;

        @Override
        void close();
    }

    static final int NFT_MSG_NEWGEN = 15;
    static final int NFT_MSG_GETGEN = 16;
    private static final int NFTA_GEN_ID = 1;
    /** No generation known. */
    static final long UNKNOWN = -1;

    private final Query query; // null: no socket, always a real read-back
    /**
     * At most this many derived read-backs follow each other; then a real listing, so that a fault in
     * netvm's own rendering of a change (the derived result trusts it) is found within a bounded number of
     * drift checks (about a minute at the default 5 s interval when every check follows an apply).
     */
    static final int MAX_DERIVED_IN_A_ROW = 12;
    private int seq = (int) (System.nanoTime() >>> 8) ^ 0x40000000;
    private OwnedState last;
    private long lastGeneration = UNKNOWN;
    private Plan lastPlan; // the plan applied when last was recorded (null: none or unknown)
    private boolean lastExact; // last is exactly expected(lastPlan)
    private Derived derived; // netvm's applies since last, by generation (null: none, or not known)
    private int derivedInARow; // derived read-backs since the last real listing

    /** The kernel after netvm's own commits since {@code base}: {@code plan}'s expectation, if base was exact. */
    private record Derived(OwnedState base, Plan basePlan, boolean baseExact, Plan plan, long generation) {
    }

    /** What {@link #beforeApply} knew: the kernel at generation {@code generation} (null base: unknown). */
    record Before(OwnedState base, Plan basePlan, boolean baseExact, long generation) {
    }

    Generation(Query query) {
        this.query = query;
    }

    /** The request with sequence number {@code seq}. */
    static byte[] request(int seq) {
        ByteBuffer b = ByteBuffer.allocate(20).order(ByteOrder.nativeOrder());
        b.putInt(20).putShort((short) (SetElementBatch.NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_GETGEN))
                .putShort((short) SetElementBatch.NLM_F_REQUEST).putInt(seq).putInt(0);
        b.put((byte) 0).put((byte) 0).putShort((short) 0); // AF_UNSPEC, NFNETLINK_V0, res_id 0
        return b.array();
    }

    /**
     * The generation id in {@code answer} (0 .. 2^32-1).
     *
     * @throws IOException an error answer, another message, or a malformed one
     */
    static long decode(byte[] answer) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(answer).order(ByteOrder.nativeOrder());
        if (answer.length < 16) {
            throw new IOException("GETGEN: a truncated answer (" + answer.length + " bytes)");
        }
        int len = b.getInt(0);
        int type = Short.toUnsignedInt(b.getShort(4));
        if (len < 16 || len > answer.length) {
            throw new IOException("GETGEN: a malformed answer (length " + len + ")");
        }
        if (type == SetElementBatch.NLMSG_ERROR) {
            throw new IOException("GETGEN refused, errno " + (len >= 20 ? -b.getInt(16) : -1));
        }
        if (type != (SetElementBatch.NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWGEN)) {
            throw new IOException("GETGEN: an answer of type " + type);
        }
        for (int at = 20; at + 4 <= len; ) { // after nlmsghdr and nfgenmsg
            int alen = Short.toUnsignedInt(b.getShort(at));
            int atype = Short.toUnsignedInt(b.getShort(at + 2)) & 0x3fff; // without NLA_F_NESTED / NET_BYTEORDER
            if (alen < 4 || at + alen > len) {
                throw new IOException("GETGEN: a malformed attribute (length " + alen + ")");
            }
            if (atype == NFTA_GEN_ID && alen == 8) {
                return Integer.toUnsignedLong(b.order(ByteOrder.BIG_ENDIAN).getInt(at + 4));
            }
            at += (alen + 3) & ~3;
        }
        throw new IOException("GETGEN: no NFTA_GEN_ID in the answer");
    }

    /** The generation now, or {@link #UNKNOWN} (no socket, or any failure). */
    long now() {
        if (query == null) {
            return UNKNOWN;
        }
        int s = seq++;
        try {
            return decode(query.query(request(s), s));
        } catch (IOException | RuntimeException e) {
            return UNKNOWN;
        }
    }

    /** The result recorded with generation {@code generation}, or null (a real read-back is due). */
    OwnedState unchanged(long generation) {
        return generation != UNKNOWN && generation == lastGeneration ? last : null;
    }

    /**
     * Before netvm applies a plan, {@code applied} being the one applied before (null: none): what the kernel
     * is known to hold now. Forgets the recorded result (netvm is about to change the kernel).
     */
    Before beforeApply(Plan applied) {
        long now = now();
        Before b;
        if (now != UNKNOWN && now == lastGeneration && last != null) {
            b = new Before(last, lastPlan == applied ? lastPlan : null, lastExact && lastPlan == applied, now);
        } else if (now != UNKNOWN && derived != null && derived.generation() == now && derived.plan() == applied) {
            b = new Before(derived.base(), derived.basePlan(), derived.baseExact(), now);
        } else {
            b = new Before(null, null, false, now);
        }
        changed();
        return b;
    }

    /**
     * After netvm applied {@code plan} successfully ({@code before} from {@link #beforeApply}): if the
     * generation moved by exactly one (netvm's commit alone), the next read-back may be derived.
     */
    void afterApply(Before before, Plan plan) {
        if (before.base() == null) {
            return;
        }
        long now = now();
        if (now != UNKNOWN && now == ((before.generation() + 1) & 0xffffffffL)) {
            derived = new Derived(before.base(), before.basePlan(), before.baseExact(), plan, now);
        }
    }

    /**
     * The kernel's state at {@code generation} derived from netvm's own applies ({@code expected}: a plan's
     * expectation), recorded as if read back; null if it cannot be (a real read-back is due).
     */
    OwnedState derived(long generation, Function<Plan, OwnedState> expected) {
        Derived d = derived;
        derived = null;
        if (d == null || generation == UNKNOWN || d.generation() != generation || derivedInARow >= MAX_DERIVED_IN_A_ROW) {
            return null;
        }
        boolean exact = d.baseExact() || (d.basePlan() != null && d.base().equals(expected.apply(d.basePlan())));
        if (!exact) {
            return null;
        }
        last = expected.apply(d.plan());
        lastGeneration = generation;
        lastPlan = d.plan();
        lastExact = true;
        derivedInARow++;
        return last;
    }

    /**
     * Records {@code state}, read back between generations {@code before} and {@code after}, if both are
     * known and equal (nothing committed during the listing); else forgets any earlier result.
     */
    void record(OwnedState state, long before, long after) {
        record(state, null, before, after);
    }

    /** {@link #record(OwnedState, long, long)}, {@code plan} being the plan applied when it was read (or null). */
    void record(OwnedState state, Plan plan, long before, long after) {
        derivedInARow = 0; // a real listing
        if (before != UNKNOWN && before == after) {
            last = state;
            lastGeneration = before;
            lastPlan = plan;
            lastExact = false;
            derived = null;
        } else {
            changed();
        }
    }

    /** netvm changes (or may have changed) the kernel or what a read-back keeps: the next one is real. */
    void changed() {
        last = null;
        lastGeneration = UNKNOWN;
        lastPlan = null;
        lastExact = false;
        derived = null;
    }

    @Override
    public void close() {
        if (query != null) {
            query.close();
        }
    }
}
