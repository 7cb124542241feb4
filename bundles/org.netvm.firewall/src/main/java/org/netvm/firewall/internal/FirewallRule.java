package org.netvm.firewall.internal;

import org.netvm.dataplane.IpPrefix;

/**
 * One parsed Qubes firewall rule ({@code qubes-firewall/<domid>/NNNN}); validated by {@link RuleParser}.
 *
 * @param accept        {@code action=accept} (else drop, answered with admin-prohibited)
 * @param proto         {@code proto=}, or null for any
 * @param dst           {@code dst4=} / {@code dst6=}, or null
 * @param dsthost       {@code dsthost=} name, or null
 * @param firstPort     {@code dstports=} first port, 0 if none
 * @param lastPort      {@code dstports=} last port, 0 if none
 * @param icmpType      {@code icmptype=}, -1 if none
 * @param dns           {@code specialtarget=dns}
 * @param expire        {@code expire=} unix time, 0 if none
 */
record FirewallRule(boolean accept, Proto proto, IpPrefix dst, String dsthost, int firstPort, int lastPort,
        int icmpType, boolean dns, long expire) {

    /** The protocols Qubes' rules name. */
    enum Proto { TCP, UDP, ICMP }

    FirewallRule {
        if (dst != null && dsthost != null) {
            throw new IllegalArgumentException("dst and dsthost together");
        }
        if (firstPort != 0 && (proto == Proto.ICMP)) {
            throw new IllegalArgumentException("dstports with proto=icmp");
        }
        if (icmpType >= 0 && proto != Proto.ICMP) {
            throw new IllegalArgumentException("icmptype needs proto=icmp");
        }
    }

    boolean hasPorts() {
        return firstPort != 0;
    }

    /** Whether the rule is left out at {@code nowSeconds} (its expiry has passed). */
    boolean expiredAt(long nowSeconds) {
        return expire != 0 && expire <= nowSeconds;
    }

    static FirewallRule policy(boolean accept) {
        return new FirewallRule(accept, null, null, null, 0, 0, -1, false, 0);
    }

}
