package org.netvm.dataplane;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.netvm.dataplane.Match.Protocol;

/** The interval key sets of 1.2: element validation, overlap, fit of keys and types, conflicts in a plan. */
class KeySetTest {
    private static final IpAddress GUEST = IpAddress.of("10.137.0.5");
    private static final IpAddress OTHER = IpAddress.of("10.137.0.6");
    private static final ChainRef FW = ChainRef.of(Family.INET, "fw-5");
    private static final NamedSet SET = NamedSet.of(Family.INET, "fw-r0-4p-a", SetType.IPV4_SRC_DST_PROTO_PORT);

    private static SetElement tcp(IpAddress source, String dst, int first, int last) {
        return SetElement.key(source, IpPrefix.parse(dst), Protocol.TCP, first, last);
    }

    @Test
    void elementsValidateAndFitTheirType() {
        SetElement e = tcp(GUEST, "10.0.0.0/8", 80, 90);
        assertTrue(e.fits(SetType.IPV4_SRC_DST_PROTO_PORT));
        assertFalse(e.fits(SetType.IPV4_SRC_DST_PROTO));
        assertFalse(e.fits(SetType.IPV4_ADDR));
        assertTrue(SetElement.key(GUEST, IpPrefix.parse("0.0.0.0/0"), null).fits(SetType.IPV4_SRC_DST_PROTO));
        assertTrue(SetElement.of("10.0.0.1").fits(SetType.IPV4_ADDR));
        assertEquals("10.137.0.5 . 10.0.0.0/8 . tcp . 80-90", e.toString());
        assertThrows(IllegalArgumentException.class, () -> SetElement.key(GUEST, IpPrefix.parse("10.0.0.0/8"),
                Protocol.ICMP, 1, 2), "ports need tcp or udp");
        assertThrows(IllegalArgumentException.class, () -> SetElement.key(IpAddress.of("fd00::1"),
                IpPrefix.parse("10.0.0.0/8"), null), "one IP version");
        assertThrows(IllegalArgumentException.class, () -> tcp(GUEST, "10.0.0.0/8", 90, 80));
        assertTrue(Match.SetKey.SOURCE_DESTINATION_PROTOCOL_PORT.fits(SetType.IPV6_SRC_DST_PROTO_PORT));
        assertFalse(Match.SetKey.SOURCE_DESTINATION_PROTOCOL.fits(SetType.IPV4_SRC_DST_PROTO_PORT));
        assertFalse(Match.SetKey.SOURCE_ADDRESS.fits(SetType.IPV4_SRC_DST_PROTO));
    }

    @Test
    void overlapNeedsTheSameSourceAndIntersectingFields() {
        SetElement e = tcp(GUEST, "10.0.0.0/8", 80, 90);
        assertTrue(e.overlaps(tcp(GUEST, "10.1.2.3", 90, 100)));
        assertFalse(e.overlaps(tcp(GUEST, "10.1.2.3", 91, 100)));
        assertFalse(e.overlaps(tcp(GUEST, "11.0.0.0/8", 80, 90)));
        assertFalse(e.overlaps(tcp(OTHER, "10.0.0.0/8", 80, 90)), "another guest");
        assertTrue(SetElement.key(GUEST, IpPrefix.parse("10.0.0.0/8"), null)
                .overlaps(SetElement.key(GUEST, IpPrefix.parse("10.0.0.1"), Protocol.ICMP)), "any protocol");
    }

    @Test
    void overlappingElementsOfOneSourceAreAConflictOfTheNewcomer() {
        Contribution a = Contribution.builder("firewall/5").chain(Chain.regular(Family.INET, FW.name())).set(SET)
                .element(SET.ref(), tcp(GUEST, "10.0.0.0/8", 80, 90))
                .element(SET.ref(), tcp(GUEST, "10.0.0.0/8", 91, 91))
                .rule(Rule.in(FW).inSet(Match.SetKey.SOURCE_DESTINATION_PROTOCOL_PORT, SET.name()).accept())
                .build();
        Contribution b = Contribution.builder("firewall/6").set(SET)
                .element(SET.ref(), tcp(OTHER, "10.0.0.0/8", 80, 90)).build();
        Plan ok = Plan.merge(a, b); // the same set declared by both; other sources never overlap
        assertEquals(3, ok.elements(SET.ref()).size());
        Contribution bad = Contribution.builder("firewall/7").set(SET)
                .element(SET.ref(), tcp(GUEST, "10.1.0.0/16", 85, 85)).build();
        assertThrows(IllegalArgumentException.class, () -> Plan.merge(a, bad));
        Plan.Merge kept = Plan.mergeLeavingOut(List.of(a, b, bad), java.util.Set.of("firewall/5", "firewall/6"));
        assertEquals(ok.elements(SET.ref()), kept.plan().elements(SET.ref()));
        assertTrue(kept.leftOut().containsKey("firewall/7"), kept.leftOut().toString());
        // the same through IncrementalMerge: one guest's update is checked against its neighbours only
        IncrementalMerge inc = new IncrementalMerge();
        inc.update(List.of(a, b), java.util.Set.of());
        Plan.Merge incremental = inc.update(List.of(a, b, bad), java.util.Set.of("firewall/5", "firewall/6"));
        assertEquals(kept.plan(), incremental.plan());
        assertTrue(incremental.leftOut().containsKey("firewall/7"));
    }
}
