package org.netvm.dataplane;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The 1.2 additions: ICMP types, port ranges, reject admin-prohibited (issue 10). */
class FirewallMatchTest {

    @Test
    void icmpTypeValidates() {
        assertEquals(8, Match.icmpType(Match.Protocol.ICMP, 8).type());
        assertEquals(6, Match.icmpType(Match.Protocol.ICMPV6, 128).ipVersion());
        assertThrows(IllegalArgumentException.class, () -> Match.icmpType(Match.Protocol.TCP, 8));
        assertThrows(IllegalArgumentException.class, () -> Match.icmpType(Match.Protocol.ICMP, 256));
        assertThrows(IllegalArgumentException.class, () -> Match.icmpType(Match.Protocol.ICMP, -1));
        assertTrue(((Match.IcmpType) Match.icmpType(Match.Protocol.ICMP, 0).not()).negated());
    }

    @Test
    void icmpTypeMustFitTheFamily() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> Rule.in(Family.IP6, "x").icmpType(Match.Protocol.ICMP, 8).accept());
        assertTrue(e.getMessage().contains("family ip6"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> Rule.in(Family.IP, "x").icmpType(Match.Protocol.ICMPV6, 128).accept());
        assertThrows(IllegalArgumentException.class,
                () -> Rule.in(Family.INET, "x").daddr("2001:db8::/32").icmpType(Match.Protocol.ICMP, 8).accept());
        Rule.in(Family.INET, "x").daddr("10.0.0.0/8").icmpType(Match.Protocol.ICMP, 8).accept();
    }

    @Test
    void portRanges() {
        Match.Port p = Match.dport(Match.Protocol.TCP, 1, 65535);
        assertEquals(65535, p.last());
        assertThrows(IllegalArgumentException.class, () -> Match.dport(Match.Protocol.TCP, 0, 99));
        assertThrows(IllegalArgumentException.class, () -> Match.dport(Match.Protocol.UDP, 1, 99999));
        assertThrows(IllegalArgumentException.class, () -> Match.dport(Match.Protocol.UDP, 10, 9));
    }

    @Test
    void rejectAdminProhibited() {
        Rule r = Rule.in(Family.INET, "x").reject(Verdict.RejectType.ADMIN_PROHIBITED);
        assertEquals(new Verdict.Reject(Verdict.RejectType.ADMIN_PROHIBITED), r.verdict());
    }
}
