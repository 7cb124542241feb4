package org.netvm.kernel.internal;

import static org.netvm.kernel.internal.Nl.*;

import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.UnknownHostException;

import org.netvm.kernel.ConntrackEntry;

/**
 * ctnetlink messages (nfnetlink subsystem 1): the dump request of one address family, the decoding of
 * an entry, and the delete request of one entry. A delete names the entry by the attributes the dump
 * gave (original tuple, zone, id) copied as they came, so every protocol's tuple (ports, ICMP id, type
 * and code) is sent back exactly and an entry that was replaced meanwhile (another id) is not hit.
 */
final class Ctnetlink {
    static final int NFNL_SUBSYS_CTNETLINK = 1;
    static final int IPCTNL_MSG_CT_NEW = 0, IPCTNL_MSG_CT_GET = 1, IPCTNL_MSG_CT_DELETE = 2;
    static final int CTA_TUPLE_ORIG = 1, CTA_TUPLE_REPLY = 2, CTA_ID = 12, CTA_ZONE = 18;
    static final int CTA_TUPLE_IP = 1, CTA_TUPLE_PROTO = 2;
    static final int CTA_IP_V4_SRC = 1, CTA_IP_V4_DST = 2, CTA_IP_V6_SRC = 3, CTA_IP_V6_DST = 4;
    static final int CTA_PROTO_NUM = 1, CTA_PROTO_SRC_PORT = 2, CTA_PROTO_DST_PORT = 3;
    static final int CTA_PROTO_ICMP_TYPE = 5, CTA_PROTO_ICMPV6_TYPE = 8;
    static final int NFGENMSG_LEN = 4;
    /** The message type of an entry in a dump. */
    static final int ENTRY = type(IPCTNL_MSG_CT_NEW);

    private Ctnetlink() {
    }

    static int type(int msg) {
        return NFNL_SUBSYS_CTNETLINK << 8 | msg;
    }

    /** What a delete sends back: the family and the raw attributes that name the entry. */
    record Key(int family, byte[] tuple, byte[] zone, byte[] id) {
    }

    /** One decoded entry with its key. */
    record Decoded(ConntrackEntry entry, Key key) {
    }

    /** Dump of every entry of one family (AF_INET or AF_INET6). */
    static void dumpRequest(Nl.Writer w, int family, int seq) {
        w.begin(type(IPCTNL_MSG_CT_GET), NLM_F_REQUEST | NLM_F_DUMP, seq);
        int b = w.body(NFGENMSG_LEN);
        put8(w.buf, b, family);
        w.end();
    }

    /** Deletes the one entry {@code key} names, asking for an ack. */
    static void deleteRequest(Nl.Writer w, Key key, int seq) {
        w.begin(type(IPCTNL_MSG_CT_DELETE), NLM_F_REQUEST | NLM_F_ACK, seq);
        int b = w.body(NFGENMSG_LEN);
        put8(w.buf, b, key.family());
        w.raw(key.tuple());
        if (key.zone() != null) {
            w.raw(key.zone());
        }
        if (key.id() != null) {
            w.raw(key.id());
        }
        w.end();
    }

    /** An entry message of a dump; null if it lacks a tuple this class understands. */
    static Decoded decode(MemorySegment s, long off, int len) {
        int family = u8(s, off + HDRLEN);
        long from = off + HDRLEN + NFGENMSG_LEN;
        Tuple[] tuples = new Tuple[2];
        byte[][] raw = new byte[3][];
        attrs(s, from, off + len, (type, p, l) -> {
            switch (type) {
                case CTA_TUPLE_ORIG -> {
                    tuples[0] = tuple(s, p, l);
                    raw[0] = bytes(s, p - 4, l + 4);
                }
                case CTA_TUPLE_REPLY -> tuples[1] = tuple(s, p, l);
                case CTA_ZONE -> raw[1] = bytes(s, p - 4, l + 4);
                case CTA_ID -> raw[2] = bytes(s, p - 4, l + 4);
                default -> { }
            }
        });
        if (tuples[0] == null || tuples[1] == null || !tuples[0].complete() || !tuples[1].complete()) {
            return null;
        }
        ConntrackEntry e = new ConntrackEntry(tuples[0].protocol, tuples[0].value(), tuples[1].value(),
                tuples[0].icmpType);
        return new Decoded(e, new Key(family, raw[0], raw[1], raw[2]));
    }

    /** A tuple being decoded. */
    private static final class Tuple {
        InetAddress source;
        InetAddress destination;
        int protocol = -1;
        int sourcePort;
        int destinationPort;
        int icmpType = -1;

        boolean complete() {
            return source != null && destination != null && protocol >= 0;
        }

        ConntrackEntry.Tuple value() {
            return new ConntrackEntry.Tuple(source, destination, sourcePort, destinationPort);
        }
    }

    private static Tuple tuple(MemorySegment s, long from, int len) {
        Tuple t = new Tuple();
        attrs(s, from, from + len, (type, p, l) -> {
            if (type == CTA_TUPLE_IP) {
                attrs(s, p, p + l, (a, q, m) -> {
                    boolean v4 = (a == CTA_IP_V4_SRC || a == CTA_IP_V4_DST) && m == 4;
                    boolean v6 = (a == CTA_IP_V6_SRC || a == CTA_IP_V6_DST) && m == 16;
                    if (v4 || v6) {
                        InetAddress addr = address(bytes(s, q, m));
                        if (a == CTA_IP_V4_SRC || a == CTA_IP_V6_SRC) {
                            t.source = addr;
                        } else {
                            t.destination = addr;
                        }
                    }
                });
            } else if (type == CTA_TUPLE_PROTO) {
                attrs(s, p, p + l, (a, q, m) -> {
                    if (a == CTA_PROTO_NUM && m >= 1) {
                        t.protocol = u8(s, q);
                    } else if (a == CTA_PROTO_SRC_PORT && m >= 2) {
                        t.sourcePort = be16(s, q);
                    } else if (a == CTA_PROTO_DST_PORT && m >= 2) {
                        t.destinationPort = be16(s, q);
                    } else if ((a == CTA_PROTO_ICMP_TYPE || a == CTA_PROTO_ICMPV6_TYPE) && m >= 1) {
                        t.icmpType = u8(s, q);
                    }
                });
            }
        });
        return t;
    }

    private static int be16(MemorySegment s, long off) {
        return u8(s, off) << 8 | u8(s, off + 1);
    }

    private static InetAddress address(byte[] b) {
        try {
            return InetAddress.getByAddress(b);
        } catch (UnknownHostException e) {
            throw new IllegalStateException("address of " + b.length + " bytes", e);
        }
    }
}
