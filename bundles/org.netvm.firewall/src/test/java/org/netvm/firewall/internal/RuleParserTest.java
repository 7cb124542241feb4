package org.netvm.firewall.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class RuleParserTest {

    @Test
    void parsesEveryKeyQubesWrites() throws RuleError {
        GuestRules g = RuleParser.parse(Map.of("policy", "drop",
                "0000", "action=accept proto=tcp dst4=192.168.1.0/24 dstports=443-444",
                "0001", "action=accept dst6=2001:db8::/32",
                "0002", "action=accept dsthost=www.example.com",
                "0003", "action=accept proto=icmp icmptype=8",
                "0004", "action=accept specialtarget=dns",
                "0005", "action=drop proto=udp dstports=53 expire=1700000000"));
        assertFalse(g.policyAccept());
        assertEquals(6, g.rules().size());
        FirewallRule r0 = g.rules().get(0);
        assertTrue(r0.accept());
        assertEquals(FirewallRule.Proto.TCP, r0.proto());
        assertEquals("192.168.1.0/24", r0.dst().toString());
        assertEquals(443, r0.firstPort());
        assertEquals(444, r0.lastPort());
        assertEquals("www.example.com", g.rules().get(2).dsthost());
        assertEquals(8, g.rules().get(3).icmpType());
        assertTrue(g.rules().get(4).dns());
        assertEquals(1700000000L, g.rules().get(5).expire());
        assertEquals(java.util.List.of("www.example.com"), g.hostnames());
    }

    @Test
    void rulesAreInKeyOrder() throws RuleError {
        GuestRules g = RuleParser.parse(Map.of("policy", "accept", "0001", "action=drop", "0000",
                "action=accept proto=udp"));
        assertTrue(g.rules().get(0).accept());
        assertFalse(g.rules().get(1).accept());
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "action=accept foo=bar",                       // unknown key
        "action=allow",                                // bad action
        "proto=tcp",                                   // no action
        "action=accept dst4=10.0.0.0/33",              // bad prefix length
        "action=accept dst4=10.0.0.1/8",               // host bits
        "action=accept dst4=300.0.0.1",
        "action=accept dst4=fd00::1",
        "action=accept dst6=10.0.0.1",
        "action=accept dstports=0-99999",
        "action=accept dstports=0",
        "action=accept dstports=80-79",
        "action=accept dstports=80:90",
        "action=accept proto=icmp icmptype=256",
        "action=accept icmptype=8",                     // needs proto=icmp
        "action=accept proto=icmp dstports=80",
        "action=accept proto=sctp",
        "action=accept specialtarget=ntp",
        "action=accept expire=soon",
        "action=accept dst4=1.2.3.4 dsthost=a.b",
        "action=accept  proto=tcp",                     // double space
        "action=accept proto=tcp ",                     // trailing space
        "action=accept proto=",
        "action=accept action=drop",
        "action=accept dsthost=a;rm -rf /",
        "action=accept dsthost=$(reboot)",
        "action=accept dsthost=x}\ntable",
        "action=accept dsthost=\"quoted\"",
        "action=accept dsthost=-leading",
        "action=accept dsthost=a..b",
        "action=accept proto=tcp;drop",
        "action=accept dst4=1.2.3.4\n"})
    void refusesHostileOrBadText(String text) {
        RuleError e = assertThrows(RuleError.class, () -> RuleParser.parse(Map.of("policy", "accept", "0000", text)));
        assertTrue(e.getMessage().startsWith("rule 0000: "), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), "message is one printable line: " + e.getMessage());
    }

    @Test
    void refusesOverlongValues() {
        RuleError e = assertThrows(RuleError.class, () -> RuleParser.parse(Map.of("policy", "accept",
                "0000", "action=accept dsthost=" + "a".repeat(600))));
        assertTrue(e.getMessage().contains("longer than"), e.getMessage());
        assertThrows(RuleError.class, () -> RuleParser.parse(Map.of("policy", "accept",
                "0000", "action=accept dsthost=" + "a".repeat(70) + ".example")));
    }

    @Test
    void refusesTenThousandRules() {
        Map<String, String> m = new HashMap<>(Map.of("policy", "accept"));
        for (int i = 0; i < 10_000; i++) {
            m.put(String.format("%04d", i % 10_000), "action=accept proto=tcp dstports=" + (1 + i % 60000));
        }
        RuleError e = assertThrows(RuleError.class, () -> RuleParser.parse(m));
        assertTrue(e.getMessage().contains("too many rules"), e.getMessage());
    }

    @Test
    void refusesBadPolicyAndEntries() {
        assertThrows(RuleError.class, () -> RuleParser.parse(Map.of("0000", "action=accept")));
        assertThrows(RuleError.class, () -> RuleParser.parse(Map.of("policy", "reject")));
        assertThrows(RuleError.class, () -> RuleParser.parse(Map.of("policy", "accept", "1", "action=accept")));
        assertThrows(RuleError.class, () -> RuleParser.parse(Map.of("policy", "accept", "x000", "action=accept")));
    }

    @Test
    void quoteKeepsMessagesPrintableAndShort() {
        assertEquals("\"a\\u000ab\"", RuleParser.quote("a\nb"));
        assertTrue(RuleParser.quote("x".repeat(1000)).length() < 50);
    }
}
