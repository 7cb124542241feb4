package org.netvm.backend.nftables.internal;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.List;
import java.util.Objects;

import org.netvm.dataplane.Family;
import org.netvm.dataplane.Match;
import org.netvm.dataplane.SetElement;
import org.netvm.dataplane.SetType;

/**
 * Encodes element changes of existing sets as one nf_tables netlink batch (pure; no I/O): {@code
 * NFNL_MSG_BATCH_BEGIN}, one {@code NFT_MSG_NEWSETELEM} / {@code NFT_MSG_DELSETELEM} per change with
 * {@code NLM_F_ACK} (so the kernel answers each with an ack or an error), {@code NFNL_MSG_BATCH_END}. The
 * kernel runs the batch as one transaction: every change or none.
 *
 * <p>Keys are encoded as the set's declared type stores them (what {@code nft} sends for the same
 * {@code add element} line): an address in network byte order (4 or 16 bytes); {@code ifname . address}
 * is a concatenation of 4-byte-aligned fields, the interface name taking 16 bytes ({@code IFNAMSIZ}),
 * zero padded, then the address. An element of an interval concatenation (a key tuple: source . destination
 * prefix . protocol [. port range], {@link SetType#interval()}) is its first and its last key ({@code
 * NFTA_SET_ELEM_KEY}, {@code NFTA_SET_ELEM_KEY_END}), each the concatenation of the source, the first (last)
 * address of the prefix, the protocol number (0 and 255 for any protocol) in one byte and the first (last)
 * port in two, big-endian, each field zero padded to 4 bytes. Host byte order for netlink headers (this runs
 * on the host).
 *
 * <p>Messages: {@code nlmsghdr} (length, type, flags, sequence, port 0), {@code nfgenmsg} (family,
 * version 0, resource id: {@code NFNL_SUBSYS_NFTABLES} big-endian in the batch messages, 0 in the
 * others), then attributes: {@code NFTA_SET_ELEM_LIST_TABLE}, {@code NFTA_SET_ELEM_LIST_SET} (strings
 * with their NUL) and {@code NFTA_SET_ELEM_LIST_ELEMENTS}, nested: per element {@code NFTA_LIST_ELEM} >
 * {@code NFTA_SET_ELEM_KEY} > {@code NFTA_DATA_VALUE}.
 */
final class SetElementBatch {
    // include/uapi/linux/netlink.h, netfilter/nfnetlink.h, netfilter/nf_tables.h
    static final int NLMSG_ERROR = 2;
    static final int NLM_F_REQUEST = 0x1;
    static final int NLM_F_ACK = 0x4;
    static final int NLM_F_CREATE = 0x400;
    static final int NFNL_MSG_BATCH_BEGIN = 0x10;
    static final int NFNL_MSG_BATCH_END = 0x11;
    static final int NFNL_SUBSYS_NFTABLES = 10;
    static final int NFT_MSG_NEWSETELEM = 12;
    static final int NFT_MSG_DELSETELEM = 14;
    private static final int NLA_F_NESTED = 0x8000;
    private static final int NFTA_SET_ELEM_LIST_TABLE = 1;
    private static final int NFTA_SET_ELEM_LIST_SET = 2;
    private static final int NFTA_SET_ELEM_LIST_ELEMENTS = 3;
    private static final int NFTA_LIST_ELEM = 1;
    private static final int NFTA_SET_ELEM_KEY = 1;
    private static final int NFTA_SET_ELEM_KEY_END = 10;
    private static final int NFTA_DATA_VALUE = 1;
    static final int IFNAMSIZ = 16;

    /**
     * One message: add ({@code add}) or delete {@code elements} of set {@code set} of type {@code type} in
     * table {@code family table}.
     */
    record Change(boolean add, Family family, String table, String set, SetType type,
            Collection<SetElement> elements) {
        Change {
            Objects.requireNonNull(family, "family");
            Objects.requireNonNull(table, "table");
            Objects.requireNonNull(set, "set");
            Objects.requireNonNull(type, "type");
            if (elements.isEmpty()) {
                throw new IllegalArgumentException("a change without elements");
            }
        }
    }

    private SetElementBatch() {
    }

    /**
     * The batch: begin with sequence {@code seq}, the changes with {@code seq + 1 ..}, end with
     * {@code seq + changes.size() + 1}.
     */
    static byte[] encode(int seq, List<Change> changes) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        out.writeBytes(batchMessage(NFNL_MSG_BATCH_BEGIN, seq));
        int s = seq;
        for (Change c : changes) {
            out.writeBytes(message(c, ++s));
        }
        out.writeBytes(batchMessage(NFNL_MSG_BATCH_END, ++s));
        return out.toByteArray();
    }

    /** The key of {@code e} as a set of {@code type} stores it. */
    static byte[] key(SetType type, SetElement e) {
        if (!e.fits(type)) {
            throw new IllegalArgumentException("element " + e + " does not fit a set of type " + type.keyword());
        }
        if (type.interval()) {
            return tuple(e, false);
        }
        byte[] address = e.address().bytes();
        if (!type.withIfname()) {
            return address;
        }
        byte[] name = e.ifname().getBytes(StandardCharsets.US_ASCII);
        if (name.length >= IFNAMSIZ) {
            throw new IllegalArgumentException("interface name too long: " + e.ifname());
        }
        byte[] key = new byte[IFNAMSIZ + address.length]; // both fields are multiples of 4 bytes
        System.arraycopy(name, 0, key, 0, name.length);
        System.arraycopy(address, 0, key, IFNAMSIZ, address.length);
        return key;
    }

    /** The last key of an element of an interval type ({@link SetType#interval()}). */
    static byte[] keyEnd(SetType type, SetElement e) {
        if (!e.fits(type) || !type.interval()) {
            throw new IllegalArgumentException("element " + e + " is not a key tuple of type " + type.keyword());
        }
        return tuple(e, true);
    }

    /** A key tuple's first ({@code last} false) or last key: source . address . protocol [. port]. */
    private static byte[] tuple(SetElement e, boolean last) {
        byte[] source = e.source().bytes();
        byte[] address = e.address().bytes(); // the prefix's first address (no host bits)
        if (last) {
            for (int bit = e.prefixLength(); bit < address.length * 8; bit++) {
                address[bit / 8] |= (byte) (0x80 >> (bit % 8));
            }
        }
        ByteBuffer b = ByteBuffer.allocate(source.length + address.length + 4 + (e.hasPorts() ? 4 : 0));
        b.put(source).put(address);
        b.put((byte) (e.protocol() == null ? (last ? 255 : 0) : protocolNumber(e.protocol()))).put(new byte[3]);
        if (e.hasPorts()) {
            b.putShort((short) (last ? e.lastPort() : e.firstPort())).put(new byte[2]); // big-endian
        }
        return b.array();
    }

    private static int protocolNumber(Match.Protocol p) {
        return switch (p) {
            case TCP -> 6;
            case UDP -> 17;
            case ICMP -> 1;
            case ICMPV6 -> 58;
        };
    }

    /** {@code NFPROTO_*} of a table family. */
    static int nfproto(Family family) {
        return switch (family) {
            case INET -> 1;  // NFPROTO_INET
            case IP -> 2;    // NFPROTO_IPV4
            case IP6 -> 10;  // NFPROTO_IPV6
        };
    }

    private static byte[] batchMessage(int type, int seq) {
        Buffer b = new Buffer();
        int start = b.header(type, NLM_F_REQUEST, seq);
        b.nfgen(0, NFNL_SUBSYS_NFTABLES);
        return b.finish(start);
    }

    private static byte[] message(Change c, int seq) {
        Buffer b = new Buffer();
        int type = NFNL_SUBSYS_NFTABLES << 8 | (c.add() ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM);
        int flags = NLM_F_REQUEST | NLM_F_ACK | (c.add() ? NLM_F_CREATE : 0);
        int start = b.header(type, flags, seq);
        b.nfgen(nfproto(c.family()), 0);
        b.string(NFTA_SET_ELEM_LIST_TABLE, c.table());
        b.string(NFTA_SET_ELEM_LIST_SET, c.set());
        int list = b.nest(NFTA_SET_ELEM_LIST_ELEMENTS);
        for (SetElement e : c.elements()) {
            int elem = b.nest(NFTA_LIST_ELEM);
            int key = b.nest(NFTA_SET_ELEM_KEY);
            b.attribute(NFTA_DATA_VALUE, key(c.type(), e));
            b.end(key);
            if (c.type().interval()) {
                int end = b.nest(NFTA_SET_ELEM_KEY_END);
                b.attribute(NFTA_DATA_VALUE, keyEnd(c.type(), e));
                b.end(end);
            }
            b.end(elem);
        }
        b.end(list);
        return b.finish(start);
    }

    /** A growing little-endian buffer of netlink headers and attributes, 4-byte aligned. */
    private static final class Buffer {
        private ByteBuffer buf = ByteBuffer.allocate(256).order(ByteOrder.nativeOrder());

        int header(int type, int flags, int seq) {
            int start = buf.position();
            room(16);
            buf.putInt(0).putShort((short) type).putShort((short) flags).putInt(seq).putInt(0);
            return start;
        }

        void nfgen(int family, int resId) {
            room(4);
            buf.put((byte) family).put((byte) 0).put((byte) (resId >>> 8)).put((byte) resId); // res_id big-endian
        }

        void string(int type, String value) {
            byte[] text = value.getBytes(StandardCharsets.US_ASCII);
            byte[] withNul = new byte[text.length + 1];
            System.arraycopy(text, 0, withNul, 0, text.length);
            attribute(type, withNul);
        }

        void attribute(int type, byte[] payload) {
            room(4 + payload.length + 3);
            buf.putShort((short) (4 + payload.length)).putShort((short) type).put(payload);
            pad();
        }

        int nest(int type) {
            int at = buf.position();
            room(4);
            buf.putShort((short) 0).putShort((short) (type | NLA_F_NESTED));
            return at;
        }

        void end(int at) {
            buf.putShort(at, (short) (buf.position() - at));
        }

        byte[] finish(int start) {
            buf.putInt(start, buf.position() - start);
            byte[] out = new byte[buf.position()];
            buf.get(0, out);
            return out;
        }

        private void pad() {
            while (buf.position() % 4 != 0) {
                buf.put((byte) 0);
            }
        }

        private void room(int n) {
            if (buf.remaining() < n) {
                ByteBuffer bigger = ByteBuffer.allocate(Math.max(buf.capacity() * 2, buf.position() + n))
                        .order(ByteOrder.nativeOrder());
                buf.flip();
                bigger.put(buf);
                buf = bigger;
            }
        }
    }
}
