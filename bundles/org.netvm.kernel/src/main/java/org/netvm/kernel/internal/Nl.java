package org.netvm.kernel.internal;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

/** rtnetlink constants and little helpers over native memory (host byte order, unaligned access). */
final class Nl {
    // nlmsghdr
    static final int HDRLEN = 16;
    static final int NLM_F_REQUEST = 0x1, NLM_F_MULTI = 0x2, NLM_F_ACK = 0x4, NLM_F_DUMP_INTR = 0x10,
            NLM_F_DUMP = 0x300, NLM_F_REPLACE = 0x100, NLM_F_EXCL = 0x200, NLM_F_CREATE = 0x400, NLM_F_CAPPED = 0x100,
            NLM_F_ACK_TLVS = 0x200;
    static final int NLMSG_NOOP = 1, NLMSG_ERROR = 2, NLMSG_DONE = 3, NLMSG_OVERRUN = 4;
    static final int NLMSGERR_ATTR_MSG = 1;
    // rtnetlink message types
    static final int RTM_NEWLINK = 16, RTM_DELLINK = 17, RTM_GETLINK = 18, RTM_NEWADDR = 20, RTM_DELADDR = 21,
            RTM_GETADDR = 22, RTM_NEWROUTE = 24, RTM_DELROUTE = 25, RTM_GETROUTE = 26, RTM_NEWNEIGH = 28,
            RTM_DELNEIGH = 29, RTM_GETNEIGH = 30;
    static final int RTMGRP_LINK = 1;
    // address families
    static final int AF_UNSPEC = 0, AF_INET = 2, AF_INET6 = 10;
    // link
    static final int IFF_UP = 0x1, IFF_LOWER_UP = 0x10000;
    static final int IFLA_ADDRESS = 1, IFLA_IFNAME = 3, IFLA_MTU = 4, IFLA_OPERSTATE = 16, IFLA_GROUP = 27;
    // address
    static final int IFA_ADDRESS = 1, IFA_LOCAL = 2;
    // route
    static final int RTA_DST = 1, RTA_OIF = 4, RTA_GATEWAY = 5, RTA_PRIORITY = 6, RTA_TABLE = 15;
    static final int RTN_UNICAST = 1, RTNH_F_ONLINK = 4, RT_TABLE_UNSPEC = 0, RT_SCOPE_NOWHERE = 255;
    // neighbour
    static final int NDA_DST = 1, NDA_LLADDR = 2, NDA_IFINDEX = 8, NUD_PERMANENT = 0x80;

    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED;

    private Nl() {
    }

    static int align(int n) {
        return (n + 3) & ~3;
    }

    static int u8(MemorySegment s, long off) {
        return s.get(ValueLayout.JAVA_BYTE, off) & 0xff;
    }

    static int u16(MemorySegment s, long off) {
        return s.get(SHORT, off) & 0xffff;
    }

    static int i32(MemorySegment s, long off) {
        return s.get(INT, off);
    }

    static void put8(MemorySegment s, long off, int v) {
        s.set(ValueLayout.JAVA_BYTE, off, (byte) v);
    }

    static void put16(MemorySegment s, long off, int v) {
        s.set(SHORT, off, (short) v);
    }

    static void put32(MemorySegment s, long off, int v) {
        s.set(INT, off, v);
    }

    static byte[] bytes(MemorySegment s, long off, int len) {
        return s.asSlice(off, len).toArray(ValueLayout.JAVA_BYTE);
    }

    /** A NUL-terminated (or not) string attribute payload. */
    static String string(MemorySegment s, long off, int len) {
        byte[] b = bytes(s, off, len);
        int n = 0;
        while (n < b.length && b[n] != 0) {
            n++;
        }
        return new String(b, 0, n, StandardCharsets.UTF_8);
    }

    /** Writes netlink messages back to back into a native buffer. */
    static final class Writer {
        final MemorySegment buf;
        int pos;
        private int msgStart = -1;

        Writer(MemorySegment buf) {
            this.buf = buf;
        }

        void reset() {
            pos = 0;
            msgStart = -1;
        }

        int remaining() {
            return (int) buf.byteSize() - pos;
        }

        void begin(int type, int flags, int seq) {
            msgStart = pos;
            buf.asSlice(pos, HDRLEN).fill((byte) 0);
            put16(buf, pos + 4, type);
            put16(buf, pos + 6, flags);
            put32(buf, pos + 8, seq);
            pos += HDRLEN;
        }

        /** Reserves a zeroed fixed header (ifinfomsg, rtmsg, ...) and returns its offset. */
        int body(int len) {
            int at = pos;
            buf.asSlice(pos, align(len)).fill((byte) 0);
            pos += align(len);
            return at;
        }

        void attr(int type, byte[] data) {
            int len = 4 + data.length;
            put16(buf, pos, len);
            put16(buf, pos + 2, type);
            MemorySegment.copy(data, 0, buf, ValueLayout.JAVA_BYTE, pos + 4, data.length);
            int padded = align(len);
            for (int i = len; i < padded; i++) {
                put8(buf, pos + i, 0);
            }
            pos += padded;
        }

        /** Appends bytes that already are whole attributes (copied from a message), padded. */
        void raw(byte[] data) {
            MemorySegment.copy(data, 0, buf, ValueLayout.JAVA_BYTE, pos, data.length);
            int padded = align(data.length);
            for (int i = data.length; i < padded; i++) {
                put8(buf, pos + i, 0);
            }
            pos += padded;
        }

        void attrU32(int type, int v) {
            put16(buf, pos, 8);
            put16(buf, pos + 2, type);
            put32(buf, pos + 4, v);
            pos += 8;
        }

        void attrString(int type, String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            byte[] z = new byte[b.length + 1];
            System.arraycopy(b, 0, z, 0, b.length);
            attr(type, z);
        }

        void end() {
            put32(buf, msgStart, pos - msgStart);
            msgStart = -1;
        }
    }

    /** Calls back for each rtattr in [from, to). */
    interface AttrVisitor {
        void attr(int type, long payload, int len);
    }

    static void attrs(MemorySegment s, long from, long to, AttrVisitor v) {
        long p = from;
        while (p + 4 <= to) {
            int len = u16(s, p);
            int type = u16(s, p + 2) & 0x3fff; // strip NLA_F_NESTED / NLA_F_NET_BYTEORDER
            if (len < 4 || p + len > to) {
                return;
            }
            v.attr(type, p + 4, len - 4);
            p += align(len);
        }
    }
}
