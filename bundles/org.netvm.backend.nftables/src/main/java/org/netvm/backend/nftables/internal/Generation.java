package org.netvm.backend.nftables.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import org.netvm.dataplane.OwnedState;

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
    private int seq = (int) (System.nanoTime() >>> 8) ^ 0x40000000;
    private OwnedState last;
    private long lastGeneration = UNKNOWN;

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
     * Records {@code state}, read back between generations {@code before} and {@code after}, if both are
     * known and equal (nothing committed during the listing); else forgets any earlier result.
     */
    void record(OwnedState state, long before, long after) {
        if (before != UNKNOWN && before == after) {
            last = state;
            lastGeneration = before;
        } else {
            changed();
        }
    }

    /** netvm changes (or may have changed) the kernel or what a read-back keeps: the next one is real. */
    void changed() {
        last = null;
        lastGeneration = UNKNOWN;
    }

    @Override
    public void close() {
        if (query != null) {
            query.close();
        }
    }
}
