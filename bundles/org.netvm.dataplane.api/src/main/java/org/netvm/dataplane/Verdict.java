package org.netvm.dataplane;

import java.util.Objects;

/** What a {@link Rule} does with a packet that matched. */
public sealed interface Verdict {

    Verdict ACCEPT = new Accept();
    Verdict DROP = new Drop();
    Verdict RETURN = new Return();
    Verdict MASQUERADE = new Masquerade();

    /** Accept. */
    record Accept() implements Verdict {
    }

    /** Drop silently. */
    record Drop() implements Verdict {
    }

    /** Return to the calling chain. */
    record Return() implements Verdict {
    }

    /** Source NAT to the outgoing interface's address (nat postrouting chains only). */
    record Masquerade() implements Verdict {
    }

    /** How a rejected packet is answered. */
    enum RejectType {
        /**
         * ICMP host-prohibited ({@code ip}); ICMPv6 admin-prohibited ({@code ip6}); icmpx
         * admin-prohibited ({@code inet}, answering IPv4 and IPv6 alike).
         */
        HOST_PROHIBITED,
        /** ICMP/ICMPv6 port-unreachable (icmpx in {@code inet}). */
        PORT_UNREACHABLE,
        /** TCP reset; the rule must also match TCP. */
        TCP_RESET,
        /**
         * ICMP admin-prohibited (type 3 code 13, {@code ip}); ICMPv6 admin-prohibited (type 1 code 1,
         * {@code ip6}); icmpx admin-prohibited ({@code inet}), in every family (what Qubes' firewall answers).
         *
         * @since 1.2
         */
        ADMIN_PROHIBITED
    }

    /**
     * Drop and answer.
     *
     * @param type how to answer
     */
    record Reject(RejectType type) implements Verdict {
        public Reject {
            Objects.requireNonNull(type, "type");
        }
    }

    /**
     * Continue in a regular chain of the same family, then come back.
     *
     * @param chain the target chain's name
     */
    record Jump(String chain) implements Verdict {
        public Jump {
            Names.object("chain", chain);
        }
    }

    /**
     * Continue in a regular chain of the same family without coming back.
     *
     * @param chain the target chain's name
     */
    record Goto(String chain) implements Verdict {
        public Goto {
            Names.object("chain", chain);
        }
    }

    /**
     * Destination NAT (nat prerouting/output chains only).
     *
     * @param address the new destination; its version must fit the chain's family
     * @param port    the new destination port 1..65535, or 0 to keep it
     */
    record Dnat(IpAddress address, int port) implements Verdict {
        public Dnat {
            Objects.requireNonNull(address, "address");
            if (port != 0 && (port < 1 || port > 65535)) {
                throw new IllegalArgumentException("dnat port out of range 1..65535: " + port);
            }
        }
    }

    static Verdict reject(RejectType type) {
        return new Reject(type);
    }

    static Verdict jump(String chain) {
        return new Jump(chain);
    }

    static Verdict goTo(String chain) {
        return new Goto(chain);
    }

    static Verdict dnat(String address) {
        return new Dnat(IpAddress.of(address), 0);
    }

    static Verdict dnat(String address, int port) {
        return new Dnat(IpAddress.of(address), port);
    }
}
