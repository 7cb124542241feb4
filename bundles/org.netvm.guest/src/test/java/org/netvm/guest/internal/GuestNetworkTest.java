package org.netvm.guest.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;

class GuestNetworkTest {

    static Map<String, String> qubes() {
        Map<String, String> m = new HashMap<>();
        m.put("qubes-ip", "10.137.0.5");
        m.put("qubes-netmask", "255.255.255.255");
        m.put("qubes-gateway", "10.137.0.2");
        m.put("qubes-primary-dns", "10.139.1.1");
        m.put("qubes-secondary-dns", "10.139.1.2");
        return m;
    }

    static Optional<GuestNetwork> read(Map<String, String> m) throws GuestNetwork.InvalidSettings {
        return GuestNetwork.read(k -> Optional.ofNullable(m.get(k)));
    }

    @Test
    void readsTheQubesKeys() throws Exception {
        GuestNetwork n = read(qubes()).orElseThrow();
        assertEquals("10.137.0.5/32", n.address().toString());
        assertEquals("10.137.0.2", n.gateway().getHostAddress());
        assertEquals("[/10.139.1.1, /10.139.1.2]", n.nameservers().toString());
        assertTrue(n.defaultRoute());
        assertTrue(n.ip6().isEmpty());
    }

    @Test
    void defaultsAndSwitches() throws Exception {
        Map<String, String> m = qubes();
        m.remove("qubes-netmask");
        m.remove("qubes-primary-dns");
        m.remove("qubes-secondary-dns");
        m.put("qubes-service/disable-default-route", "1");
        GuestNetwork n = read(m).orElseThrow();
        assertEquals(32, n.prefixLength());
        assertEquals("[/10.137.0.2]", n.nameservers().toString(), "a missing primary DNS falls back to the gateway");
        assertFalse(n.defaultRoute());
        m.put("qubes-netmask", "255.255.255.0");
        assertEquals(24, read(m).orElseThrow().prefixLength());
        m.put("qubes-service/disable-dns-server", "1");
        assertTrue(read(m).orElseThrow().nameservers().isEmpty());
    }

    @Test
    void aServiceIsOnOnlyWhenItsKeyIsOne() throws Exception {
        Map<String, String> m = qubes();
        for (String off : new String[] {"0", "", "yes", "1 "}) {
            m.put("qubes-service/disable-default-route", off);
            m.put("qubes-service/disable-dns-server", off);
            GuestNetwork n = read(m).orElseThrow();
            assertTrue(n.defaultRoute(), "disable-default-route='" + off + "' must leave the default route");
            assertEquals(2, n.nameservers().size(), "disable-dns-server='" + off + "' must leave the DNS servers");
        }
        m.put("qubes-service/disable-default-route", "1");
        assertFalse(read(m).orElseThrow().defaultRoute());
    }

    @Test
    void ipv6WhenPresent() throws Exception {
        Map<String, String> m = qubes();
        m.put("qubes-ip6", "fd09:24ef:4179::a89:5");
        m.put("qubes-gateway6", "fd09:24ef:4179::a89:2");
        GuestNetwork n = read(m).orElseThrow();
        assertEquals("fd09:24ef:4179:0:0:0:a89:5", n.ip6().orElseThrow().getHostAddress());
    }

    @Test
    void noIpMeansUnconfigured() throws Exception {
        Map<String, String> m = qubes();
        m.remove("qubes-ip");
        assertTrue(read(m).isEmpty());
    }

    static java.util.stream.Stream<org.junit.jupiter.params.provider.Arguments> hostile() {
        String[][] cases = {{"qubes-ip", "10.137.0.256"}, {"qubes-ip", "10.137.0.05"}, {"qubes-ip", "10.137.0.5 "},
                {"qubes-ip", "10.137.0.5;reboot"}, {"qubes-ip", "$(reboot)"}, {"qubes-ip", "::1"},
                {"qubes-ip", "example.com"}, {"qubes-netmask", "255.0.255.0"}, {"qubes-gateway", "10.137.0"},
                {"qubes-primary-dns", "10.139.1.1\nnameserver 6.6.6.6"}, {"qubes-secondary-dns", "1.1.1.1 8.8.8.8"},
                {"qubes-ip6", "10.1.1.1"}, {"qubes-ip6", "fe80::1%eth0"}, {"qubes-gateway6", "x"},
                {"qubes-ip", "10.137.0.5\u0000"}};
        return java.util.Arrays.stream(cases).map(c -> org.junit.jupiter.params.provider.Arguments.of(c[0], c[1]));
    }

    @ParameterizedTest
    @org.junit.jupiter.params.provider.MethodSource("hostile")
    void hostileValuesAreRejectedNamingTheKey(String key, String value) {
        Map<String, String> m = qubes();
        m.put("qubes-ip6", "fd00::5");
        m.put(key, value);
        var e = assertThrows(GuestNetwork.InvalidSettings.class, () -> read(m));
        assertTrue(e.getMessage().startsWith(key), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), "error messages are one line");
    }

    @Test
    void overlongValuesAreRejected() {
        Map<String, String> m = qubes();
        m.put("qubes-gateway", "1".repeat(5000));
        assertThrows(GuestNetwork.InvalidSettings.class, () -> read(m));
        Map<String, String> m2 = qubes();
        m2.remove("qubes-gateway");
        assertThrows(GuestNetwork.InvalidSettings.class, () -> read(m2));
    }
}
