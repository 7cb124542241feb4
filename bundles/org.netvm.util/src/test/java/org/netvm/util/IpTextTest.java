package org.netvm.util;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class IpTextTest {

    private static String canonical(String literal, boolean embeddedIpv4) {
        return IpText.format(IpText.parse(literal, embeddedIpv4));
    }

    @Test
    void formatsAsRfc5952() {
        assertEquals("10.137.0.5", canonical("10.137.0.5", false));
        assertEquals("2001:db8::1", canonical("2001:0DB8:0:0:0:0:0:1", false));
        assertEquals("2001:db8:0:1:1:1:1:1", canonical("2001:db8::1:1:1:1:1", false), "one zero group stays");
        assertEquals("2001:0:0:1::1", canonical("2001:0:0:1:0:0:0:1", false), "the longest run");
        assertEquals("2001:db8::1:0:0:1", canonical("2001:db8:0:0:1:0:0:1", false), "the first of equal runs");
        assertEquals("::", canonical("::", false));
        assertEquals("::1", canonical("::1", false));
        assertEquals("1::", canonical("1::", false));
    }

    @Test
    void refusesWhatIsNotAStrictLiteral() {
        for (String s : new String[] {"", "1.2.3", "1.2.3.4.5", "01.2.3.4", "256.1.1.1", "1.2.3.4 ", "0x1.2.3.4",
                "1:2:3:4:5:6:7:8:9", "1::2::3", "12345::", ":1::", "fe80::1%eth0", "g::", "::\u0663",
                "1:2:3:4:5:6:7", "example.org", "1..2.3", ".1.2.3", "1.2.3.4.", "1.2.3.0004", "1.2.3.1000", "00.1.1.1",
                "1.2.3.\u0663", "1.2.3.-1", "+1.2.3.4", "...", "1.2.3.4..", "1.2.3.4.5.6.7"}) {
            assertThrows(IllegalArgumentException.class, () -> IpText.parse(s, true), s);
        }
        assertThrows(IllegalArgumentException.class, () -> IpText.parse(null, false));
    }

    @Test
    void dottedQuadsAtTheEdges() {
        assertArrayEquals(new byte[] {0, 0, 0, 0}, IpText.parse("0.0.0.0", false));
        assertArrayEquals(new byte[] {-1, -1, -1, -1}, IpText.parse("255.255.255.255", false));
        assertArrayEquals(new byte[] {10, (byte) 199, 0, 100}, IpText.parse("10.199.0.100", false));
        assertThrows(IllegalArgumentException.class, () -> IpText.parse("255.255.255.256", false));
    }

    @Test
    void anEmbeddedDottedQuadOnlyWhenAskedFor() {
        assertThrows(IllegalArgumentException.class, () -> IpText.parse("::ffff:10.0.0.1", false));
        assertArrayEquals(new byte[] {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -1, -1, 10, 0, 0, 1},
                IpText.parse("::ffff:10.0.0.1", true));
        assertEquals("1:2:3:4:5:6:102:304", canonical("1:2:3:4:5:6:1.2.3.4", true));
        assertThrows(IllegalArgumentException.class, () -> IpText.parse("1:2:3:4:5:6:7:1.2.3.4", true));
        assertThrows(IllegalArgumentException.class, () -> IpText.parse("1.2.3.4::", true));
    }
}
