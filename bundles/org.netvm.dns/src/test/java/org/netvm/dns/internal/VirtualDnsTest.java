package org.netvm.dns.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.netvm.dataplane.IpAddress;

class VirtualDnsTest {
    private static final IpAddress D1 = IpAddress.of("10.139.1.1");
    private static final IpAddress D2 = IpAddress.of("10.139.1.2");

    @Test
    void missingOrEmptyKeysMeanTheDefaults() {
        VirtualDns v = VirtualDns.of(Optional.empty(), Optional.of(""), D1, D2);
        assertEquals(VirtualDns.defaults(D1, D2), v);
    }

    @Test
    void validValuesAreUsed() {
        VirtualDns v = VirtualDns.of(Optional.of("10.139.2.1"), Optional.of("10.139.2.2"), D1, D2);
        assertTrue(v.valid());
        assertEquals(IpAddress.of("10.139.2.1"), v.primary());
        assertEquals(IpAddress.of("10.139.2.2"), v.secondary());
    }

    @ParameterizedTest
    @ValueSource(strings = {"10.139.1.1\n", " 10.139.1.1", "10.139.1.1 ", "10.139.1.1; drop", "010.139.1.1",
        "10.139.1", "0.0.0.0", "127.0.0.1", "224.0.0.1", "255.255.255.255", "fd09:24ef:4179::1", "dns.local",
        "10.139.1.1/32", "10.139.1.1\u0000", "1111111111111111111111111111111111111111111"})
    void hostileValuesFailClosed(String value) {
        VirtualDns v = VirtualDns.of(Optional.of("10.139.1.1"), Optional.of(value), D1, D2);
        assertFalse(v.valid());
        assertTrue(v.problem().startsWith("qubes-netvm-secondary-dns"), v.problem());
        assertEquals(D2, v.secondary()); // the default stands in, and gets a drop rule
    }
}
