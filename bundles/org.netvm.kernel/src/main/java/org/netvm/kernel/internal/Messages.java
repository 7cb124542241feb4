package org.netvm.kernel.internal;

import static org.netvm.kernel.internal.Nl.*;

import java.lang.foreign.MemorySegment;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Map;
import java.util.function.IntFunction;

import org.netvm.kernel.Address;
import org.netvm.kernel.IpPrefix;
import org.netvm.kernel.Link;
import org.netvm.kernel.MacAddress;
import org.netvm.kernel.Neighbour;
import org.netvm.kernel.Op;
import org.netvm.kernel.OperState;
import org.netvm.kernel.Route;
import org.netvm.kernel.Scope;

/** Encodes operations into rtnetlink requests and decodes rtnetlink replies into the API's records. */
final class Messages {
    /** Upper bound of one encoded operation. */
    static final int MAX_OP_BYTES = 256;

    private Messages() {
    }

    /** Appends the request for one (non-sysctl) operation, asking for an ack. */
    static void encode(Nl.Writer w, Op op, int ifindex, int seq) {
        switch (op) {
            case Op.LinkSet l -> {
                w.begin(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq);
                int b = w.body(16);
                put32(w.buf, b + 4, ifindex);
                if (l.admin() != Op.Admin.UNCHANGED) {
                    put32(w.buf, b + 8, l.admin() == Op.Admin.UP ? IFF_UP : 0);
                    put32(w.buf, b + 12, IFF_UP);
                }
                if (l.group() >= 0) {
                    w.attrU32(IFLA_GROUP, l.group());
                }
                w.end();
            }
            case Op.AddressReplace a -> address(w, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, a.address(), ifindex, seq);
            case Op.AddressDelete a -> address(w, RTM_DELADDR, 0, a.address(), ifindex, seq);
            case Op.RouteReplace r -> route(w, false, r.route(), ifindex, seq);
            case Op.RouteDelete r -> route(w, true, r.route(), ifindex, seq);
            case Op.NeighbourReplace n -> neighbour(w, false, n.neighbour(), ifindex, seq);
            case Op.NeighbourDelete n -> neighbour(w, true, n.neighbour(), ifindex, seq);
            case Op.SysctlSet s -> throw new IllegalArgumentException("not a netlink operation: " + s.render());
        }
    }

    private static int family(InetAddress a) {
        return a instanceof Inet6Address ? AF_INET6 : AF_INET;
    }

    private static void address(Nl.Writer w, int type, int flags, Address a, int ifindex, int seq) {
        w.begin(type, NLM_F_REQUEST | NLM_F_ACK | flags, seq);
        int b = w.body(8);
        put8(w.buf, b, family(a.prefix().address()));
        put8(w.buf, b + 1, a.prefix().length());
        put8(w.buf, b + 3, a.scope().value());
        put32(w.buf, b + 4, ifindex);
        byte[] addr = a.prefix().address().getAddress();
        w.attr(IFA_LOCAL, addr);
        w.attr(IFA_ADDRESS, addr);
        w.end();
    }

    private static void route(Nl.Writer w, boolean delete, Route r, int ifindex, int seq) {
        w.begin(delete ? RTM_DELROUTE : RTM_NEWROUTE,
                NLM_F_REQUEST | NLM_F_ACK | (delete ? 0 : NLM_F_CREATE | NLM_F_REPLACE), seq);
        int b = w.body(12);
        put8(w.buf, b, family(r.destination().address()));
        put8(w.buf, b + 1, r.destination().length());
        put8(w.buf, b + 4, Integer.compareUnsigned(r.table(), 256) < 0 ? r.table() : RT_TABLE_UNSPEC);
        put8(w.buf, b + 5, r.protocol());
        // a delete matches any scope and type; the protocol (when not 0) keeps other owners' routes safe
        put8(w.buf, b + 6, delete ? RT_SCOPE_NOWHERE : r.scope().value());
        put8(w.buf, b + 7, delete ? 0 : RTN_UNICAST);
        put32(w.buf, b + 8, r.onlink() ? RTNH_F_ONLINK : 0);
        w.attrU32(RTA_TABLE, r.table());
        if (r.destination().length() > 0) {
            w.attr(RTA_DST, r.destination().address().getAddress());
        }
        w.attrU32(RTA_OIF, ifindex);
        if (r.gateway() != null) {
            w.attr(RTA_GATEWAY, r.gateway().getAddress());
        }
        if (r.metric() != 0) {
            w.attrU32(RTA_PRIORITY, r.metric());
        }
        w.end();
    }

    private static void neighbour(Nl.Writer w, boolean delete, Neighbour n, int ifindex, int seq) {
        w.begin(delete ? RTM_DELNEIGH : RTM_NEWNEIGH,
                NLM_F_REQUEST | NLM_F_ACK | (delete ? 0 : NLM_F_CREATE | NLM_F_REPLACE), seq);
        int b = w.body(12);
        put8(w.buf, b, family(n.address()));
        put32(w.buf, b + 4, ifindex);
        put16(w.buf, b + 8, delete ? 0 : NUD_PERMANENT);
        w.attr(NDA_DST, n.address().getAddress());
        if (!delete) {
            w.attr(NDA_LLADDR, n.lladdr().bytes());
        }
        w.end();
    }

    /** A dump request: header plus a zeroed family header of {@code bodyLen} bytes with the family set. */
    static void dumpRequest(Nl.Writer w, int type, int bodyLen, int family, int seq) {
        dumpRequest(w, type, bodyLen, family, seq, 0, 0);
    }

    /**
     * A dump request, filtered by the kernel to one device ({@code ifindex} > 0) and, for routes, one
     * protocol ({@code protocol} > 0): addresses by ifa_index, neighbours by NDA_IFINDEX, routes by
     * rtm_protocol and RTA_OIF (the socket has NETLINK_GET_STRICT_CHK; kernels without it ignore the
     * filters and the reader filters alone).
     */
    static void dumpRequest(Nl.Writer w, int type, int bodyLen, int family, int seq, int ifindex, int protocol) {
        w.begin(type, NLM_F_REQUEST | NLM_F_DUMP, seq);
        int b = w.body(bodyLen);
        put8(w.buf, b, family);
        if (ifindex > 0) {
            switch (type) {
                case RTM_GETADDR -> put32(w.buf, b + 4, ifindex);
                case RTM_GETNEIGH -> w.attrU32(NDA_IFINDEX, ifindex);
                case RTM_GETROUTE -> {
                    put8(w.buf, b + 5, protocol);
                    w.attrU32(RTA_OIF, ifindex);
                }
                default -> throw new IllegalArgumentException("no device filter for message type " + type);
            }
        }
        w.end();
    }

    /** RTM_GETLINK for one device by name. */
    static void getLink(Nl.Writer w, String name, int seq) {
        w.begin(RTM_GETLINK, NLM_F_REQUEST, seq);
        w.body(16);
        w.attrString(IFLA_IFNAME, name);
        w.end();
    }

    // ---- decoding; off is the start of the nlmsghdr, len its nlmsg_len

    static Link link(MemorySegment s, long off, int len) {
        int index = i32(s, off + 20);
        int flags = i32(s, off + 24);
        String[] name = {""};
        MacAddress[] mac = {null};
        int[] ints = {0, 0, 0}; // operstate, group, mtu
        attrs(s, off + 32, off + len, (type, p, l) -> {
            switch (type) {
                case IFLA_IFNAME -> name[0] = string(s, p, l);
                case IFLA_ADDRESS -> mac[0] = l == 6 ? MacAddress.of(bytes(s, p, 6)) : null;
                case IFLA_OPERSTATE -> ints[0] = l >= 1 ? u8(s, p) : 0;
                case IFLA_GROUP -> ints[1] = l >= 4 ? i32(s, p) : 0;
                case IFLA_MTU -> ints[2] = l >= 4 ? i32(s, p) : 0;
                default -> {
                }
            }
        });
        return new Link(index, name[0], (flags & IFF_UP) != 0, (flags & IFF_LOWER_UP) != 0, OperState.of(ints[0]), mac[0],
                ints[1], ints[2]);
    }

    /** An address, or null for families other than IPv4/IPv6 or unknown devices. */
    static Address address(MemorySegment s, long off, int len, IntFunction<String> names) {
        int family = u8(s, off + 16);
        int prefixLen = u8(s, off + 17);
        int scope = u8(s, off + 19);
        String dev = names.apply(i32(s, off + 20));
        if ((family != AF_INET && family != AF_INET6) || dev == null) {
            return null;
        }
        byte[][] addr = {null, null}; // local, address
        attrs(s, off + 24, off + len, (type, p, l) -> {
            if (type == IFA_LOCAL) {
                addr[0] = bytes(s, p, l);
            } else if (type == IFA_ADDRESS) {
                addr[1] = bytes(s, p, l);
            }
        });
        byte[] a = addr[0] != null ? addr[0] : addr[1];
        if (a == null) {
            return null;
        }
        return new Address(dev, new IpPrefix(inet(a), prefixLen), Scope.of(scope));
    }

    /** A unicast IPv4/IPv6 route, or null for anything else. */
    static Route route(MemorySegment s, long off, int len, IntFunction<String> names) {
        int family = u8(s, off + 16);
        int dstLen = u8(s, off + 17);
        int type = u8(s, off + 23);
        if ((family != AF_INET && family != AF_INET6) || type != RTN_UNICAST) {
            return null;
        }
        int[] ints = {u8(s, off + 20), 0, 0}; // table, oif, priority
        byte[][] addrs = {null, null}; // dst, gateway
        attrs(s, off + 28, off + len, (t, p, l) -> {
            switch (t) {
                case RTA_TABLE -> ints[0] = i32(s, p);
                case RTA_OIF -> ints[1] = i32(s, p);
                case RTA_PRIORITY -> ints[2] = i32(s, p);
                case RTA_DST -> addrs[0] = bytes(s, p, l);
                case RTA_GATEWAY -> addrs[1] = bytes(s, p, l);
                default -> {
                }
            }
        });
        InetAddress dst = addrs[0] != null ? inet(addrs[0]) : inet(new byte[family == AF_INET6 ? 16 : 4]);
        String dev = ints[1] == 0 ? null : names.apply(ints[1]);
        if (ints[1] != 0 && dev == null) {
            return null; // device vanished between the dumps
        }
        return new Route(new IpPrefix(dst, dstLen), addrs[1] == null ? null : inet(addrs[1]), dev, ints[2],
                Scope.of(u8(s, off + 22)), (i32(s, off + 24) & RTNH_F_ONLINK) != 0, u8(s, off + 21), ints[0]);
    }

    /** An IPv4/IPv6 neighbour, or null for anything else. */
    static Neighbour neighbour(MemorySegment s, long off, int len, IntFunction<String> names) {
        int family = u8(s, off + 16);
        String dev = names.apply(i32(s, off + 20));
        int state = u16(s, off + 24);
        if ((family != AF_INET && family != AF_INET6) || dev == null) {
            return null;
        }
        byte[][] v = {null, null};
        attrs(s, off + 28, off + len, (t, p, l) -> {
            if (t == NDA_DST) {
                v[0] = bytes(s, p, l);
            } else if (t == NDA_LLADDR) {
                v[1] = bytes(s, p, l);
            }
        });
        if (v[0] == null) {
            return null;
        }
        return new Neighbour(inet(v[0]), v[1] != null && v[1].length == 6 ? MacAddress.of(v[1]) : null, dev,
                (state & NUD_PERMANENT) != 0);
    }

    /** The text of an extended ack (NLMSGERR_ATTR_MSG), or "" if the error message carries none. */
    static String extAck(MemorySegment s, long off, int len) {
        int flags = u16(s, off + 6);
        if ((flags & NLM_F_ACK_TLVS) == 0) {
            return "";
        }
        long tlvs = off + HDRLEN + 4 + ((flags & NLM_F_CAPPED) != 0 ? HDRLEN : align(i32(s, off + HDRLEN + 4)));
        String[] msg = {""};
        attrs(s, tlvs, off + len, (t, p, l) -> {
            if (t == NLMSGERR_ATTR_MSG) {
                msg[0] = string(s, p, l);
            }
        });
        return msg[0];
    }

    static InetAddress inet(byte[] b) {
        try {
            return InetAddress.getByAddress(b);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("bad address length " + b.length, e);
        }
    }
}
