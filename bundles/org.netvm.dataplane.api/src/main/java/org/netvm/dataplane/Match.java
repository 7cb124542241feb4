package org.netvm.dataplane;

import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;

/**
 * One condition of a {@link Rule}; all matches of a rule must hold. Every match may be negated where
 * that is meaningful ({@code negated}). Build them with the static factories, or through
 * {@link Rule.Builder}.
 */
public sealed interface Match {

    /** Input or output interface. */
    enum Direction {
        /** The interface the packet came in on ({@code iifname}, {@code iifgroup}). */
        INPUT,
        /** The interface the packet leaves through ({@code oifname}, {@code oifgroup}). */
        OUTPUT
    }

    /** Source or destination address/port. */
    enum Side {
        SOURCE, DESTINATION
    }

    /** Layer 4 protocol. */
    enum Protocol {
        TCP, UDP, ICMP, ICMPV6;

        public String keyword() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** Conntrack states, in the order nftables prints them. */
    enum CtState {
        INVALID, ESTABLISHED, RELATED, NEW;

        public String keyword() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** What is looked up in a set by {@link InSet}; the IP version comes from the set's type. */
    enum SetKey {
        /** {@code ip saddr} / {@code ip6 saddr}: needs an address set. */
        SOURCE_ADDRESS,
        /** {@code ip daddr} / {@code ip6 daddr}: needs an address set. */
        DESTINATION_ADDRESS,
        /** {@code iifname . ip saddr}: needs an ifname . address set. */
        IIFNAME_SOURCE_ADDRESS,
        /** {@code oifname . ip daddr}: needs an ifname . address set. */
        OIFNAME_DESTINATION_ADDRESS,
        /**
         * {@code ip saddr . ip daddr . meta l4proto}: needs a source . prefix . protocol set
         * ({@link SetType#IPV4_SRC_DST_PROTO}, {@link SetType#IPV6_SRC_DST_PROTO}). @since 1.2
         */
        SOURCE_DESTINATION_PROTOCOL,
        /**
         * {@code ip saddr . ip daddr . meta l4proto . th dport}: needs a source . prefix . protocol . port set
         * ({@link SetType#IPV4_SRC_DST_PROTO_PORT}, {@link SetType#IPV6_SRC_DST_PROTO_PORT}). @since 1.2
         */
        SOURCE_DESTINATION_PROTOCOL_PORT;

        /** Whether the key is an interface name . address concatenation. */
        public boolean withIfname() {
            return this == IIFNAME_SOURCE_ADDRESS || this == OIFNAME_DESTINATION_ADDRESS;
        }

        /** Whether a set of {@code type} can be looked up with this key. @since 1.2 */
        public boolean fits(SetType type) {
            return switch (this) {
                case SOURCE_ADDRESS, DESTINATION_ADDRESS, IIFNAME_SOURCE_ADDRESS, OIFNAME_DESTINATION_ADDRESS ->
                        withIfname() == type.withIfname() && !type.withProtocol();
                case SOURCE_DESTINATION_PROTOCOL -> type.withProtocol() && !type.withPort();
                case SOURCE_DESTINATION_PROTOCOL_PORT -> type.withPort();
            };
        }
    }

    /**
     * Interface by name: exact, or a prefix with a trailing {@code *} ({@code "vif*"}).
     *
     * @param direction input or output interface
     * @param name      {@code ^[A-Za-z0-9_.*-]{1,15}$}, {@code *} only last
     * @param negated   match when the name does not match
     */
    record Interface(Direction direction, String name, boolean negated) implements Match {
        public Interface {
            Objects.requireNonNull(direction, "direction");
            Names.ifname(name, true);
        }
    }

    /**
     * Interface by group number ({@code ip link set ... group N}).
     *
     * @param direction input or output interface
     * @param group     0..2147483647
     * @param negated   match when the group differs
     */
    record InterfaceGroup(Direction direction, int group, boolean negated) implements Match {
        public InterfaceGroup {
            Objects.requireNonNull(direction, "direction");
            if (group < 0) {
                throw new IllegalArgumentException("interface group must be >= 0: " + group);
            }
        }
    }

    /**
     * Source or destination address in a prefix. Its IP version must fit the chain's family.
     *
     * @param side    source or destination
     * @param prefix  the prefix (a host prefix for one address)
     * @param negated match when not in the prefix
     */
    record Address(Side side, IpPrefix prefix, boolean negated) implements Match {
        public Address {
            Objects.requireNonNull(side, "side");
            Objects.requireNonNull(prefix, "prefix");
        }
    }

    /**
     * Layer 4 protocol ({@code meta l4proto}).
     *
     * @param protocol the protocol
     * @param negated  match any other protocol
     */
    record L4(Protocol protocol, boolean negated) implements Match {
        public L4 {
            Objects.requireNonNull(protocol, "protocol");
        }
    }

    /**
     * TCP or UDP port or port range ({@code udp dport 53}, {@code tcp dport 8000-8080}); implies the
     * protocol.
     *
     * @param protocol TCP or UDP
     * @param side     source or destination port
     * @param first    1..65535
     * @param last     first..65535 (equal to first for one port)
     * @param negated  match the protocol with a port outside the range
     */
    record Port(Protocol protocol, Side side, int first, int last, boolean negated) implements Match {
        public Port {
            Objects.requireNonNull(protocol, "protocol");
            Objects.requireNonNull(side, "side");
            if (protocol != Protocol.TCP && protocol != Protocol.UDP) {
                throw new IllegalArgumentException("ports exist only for tcp and udp, not " + protocol.keyword());
            }
            checkPort(first);
            checkPort(last);
            if (last < first) {
                throw new IllegalArgumentException("port range " + first + "-" + last + " is empty");
            }
        }

        private static void checkPort(int port) {
            if (port < 1 || port > 65535) {
                throw new IllegalArgumentException("port out of range 1..65535: " + port);
            }
        }
    }

    /**
     * ICMP or ICMPv6 message type ({@code icmp type 8}, {@code icmpv6 type 128}); implies the protocol and
     * so the IP version. Its version must fit the chain's family.
     *
     * @param protocol ICMP or ICMPV6
     * @param type     0..255
     * @param negated  match the protocol with any other type
     * @since 1.2
     */
    record IcmpType(Protocol protocol, int type, boolean negated) implements Match {
        public IcmpType {
            Objects.requireNonNull(protocol, "protocol");
            if (protocol != Protocol.ICMP && protocol != Protocol.ICMPV6) {
                throw new IllegalArgumentException("icmp types exist only for icmp and icmpv6, not "
                        + protocol.keyword());
            }
            if (type < 0 || type > 255) {
                throw new IllegalArgumentException("icmp type out of range 0..255: " + type);
            }
        }

        /** 4 for ICMP, 6 for ICMPv6. */
        public int ipVersion() {
            return protocol == Protocol.ICMP ? 4 : 6;
        }
    }

    /**
     * Conntrack state is one of {@code states} ({@code ct state established,related}).
     *
     * @param states  at least one state
     * @param negated match when the state is none of them
     */
    record Conntrack(Set<CtState> states, boolean negated) implements Match {
        public Conntrack {
            if (states == null || states.isEmpty()) {
                throw new IllegalArgumentException("conntrack match needs at least one state");
            }
            states = java.util.Collections.unmodifiableSet(EnumSet.copyOf(states));
        }
    }

    /**
     * Set membership ({@code ip saddr @downstream}, {@code iifname . ip saddr @allowed}). The set must
     * be declared in the chain's family with a type that fits {@code key}.
     *
     * @param key     what is looked up
     * @param set     the set's name
     * @param negated match when not in the set
     */
    record InSet(SetKey key, String set, boolean negated) implements Match {
        public InSet {
            Objects.requireNonNull(key, "key");
            Names.object("set", set);
        }
    }

    static Interface iifname(String name) {
        return new Interface(Direction.INPUT, name, false);
    }

    static Interface oifname(String name) {
        return new Interface(Direction.OUTPUT, name, false);
    }

    static InterfaceGroup iifgroup(int group) {
        return new InterfaceGroup(Direction.INPUT, group, false);
    }

    static InterfaceGroup oifgroup(int group) {
        return new InterfaceGroup(Direction.OUTPUT, group, false);
    }

    static Address saddr(String prefix) {
        return new Address(Side.SOURCE, IpPrefix.parse(prefix), false);
    }

    static Address daddr(String prefix) {
        return new Address(Side.DESTINATION, IpPrefix.parse(prefix), false);
    }

    static L4 protocol(Protocol protocol) {
        return new L4(protocol, false);
    }

    static Port dport(Protocol protocol, int port) {
        return new Port(protocol, Side.DESTINATION, port, port, false);
    }

    /** Destination port range {@code first-last}. @since 1.2 */
    static Port dport(Protocol protocol, int first, int last) {
        return new Port(protocol, Side.DESTINATION, first, last, false);
    }

    /** ICMP ({@code protocol} ICMP) or ICMPv6 type. @since 1.2 */
    static IcmpType icmpType(Protocol protocol, int type) {
        return new IcmpType(protocol, type, false);
    }

    static Port sport(Protocol protocol, int port) {
        return new Port(protocol, Side.SOURCE, port, port, false);
    }

    static Conntrack ct(CtState first, CtState... more) {
        return new Conntrack(EnumSet.of(first, more), false);
    }

    static InSet inSet(SetKey key, String set) {
        return new InSet(key, set, false);
    }

    /** The same match, negated (or un-negated). */
    default Match not() {
        return switch (this) {
            case Interface m -> new Interface(m.direction(), m.name(), !m.negated());
            case InterfaceGroup m -> new InterfaceGroup(m.direction(), m.group(), !m.negated());
            case Address m -> new Address(m.side(), m.prefix(), !m.negated());
            case L4 m -> new L4(m.protocol(), !m.negated());
            case Port m -> new Port(m.protocol(), m.side(), m.first(), m.last(), !m.negated());
            case IcmpType m -> new IcmpType(m.protocol(), m.type(), !m.negated());
            case Conntrack m -> new Conntrack(m.states(), !m.negated());
            case InSet m -> new InSet(m.key(), m.set(), !m.negated());
        };
    }
}
