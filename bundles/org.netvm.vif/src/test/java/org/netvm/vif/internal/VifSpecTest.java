package org.netvm.vif.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class VifSpecTest {
    private static final VifName VIF = VifName.parse("vif3.0").orElseThrow();
    private static final String MAC = "00:16:3e:5e:6c:00";

    @Test
    void validValues() throws Exception {
        VifSpec s = VifSpec.validate(VIF, "10.137.0.5 FD09:24EF:4179:0:0:0:a89:5", "00:16:3e:00:00:01", "10.137.0.1", "");
        assertEquals("10.137.0.5", VifSpec.text(s.ipv4()));
        assertEquals("fd09:24ef:4179::a89:5", VifSpec.text(s.ipv6()));
        assertEquals(32749, s.metric());
        assertNull(s.gateway6());
    }

    @Test
    void issue11NoMacAndNoGatewayFailAsInVifRouteQubes() {
        assertEquals("vif3.0: no mac in xenstore", assertThrows(VifSpec.InvalidVifException.class,
                () -> VifSpec.validate(VIF, "10.137.0.5", null, "10.137.0.1", null)).getMessage());
        for (String gw : new String[] {null, ""}) {
            assertEquals("vif3.0: the netvm has no qubes-netvm-gateway: no guest is programmed without one",
                    assertThrows(VifSpec.InvalidVifException.class,
                            () -> VifSpec.validate(VIF, "10.137.0.5", MAC, gw, null)).getMessage());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"", " 10.137.0.5", "10.137.0.5 ", "10.137.0.5  fd00::1", "10.137.0", "10.137.0.5.6",
            "010.137.0.5", "10.137.0.5/32", "1e1.0.0.1", "0x0a.0.0.1", "fd00::1", "10.137.0.5 fd00::1 fd00::2",
            "10.137.0.5 fd00::1%eth0", "10.137.0.5 ::ffff:10.0.0.1", "10.137.0.5 ::ffff:a00:1", "0.0.0.0",
            "255.255.255.255", "240.0.0.1", "250.1.2.3", "10.137.0.5 fe80::1", "10.137.0.5 febf::1", "224.0.0.1", "10.137.0.5 ff02::1", "10.137.0.5 ::1", "localhost", "10.137.0.5\u0000"})
    void invalidIps(String ip) {
        var e = assertThrows(VifSpec.InvalidVifException.class, () -> VifSpec.validate(VIF, ip, MAC, "10.137.0.1", null));
        assertTrue(e.getMessage().startsWith("vif3.0: "), e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"00:16:3e:5e:6c:00;reboot", "00:16:3E:5E:6C:00", "00:16:3e:5e:6c", "00-16-3e-5e-6c-00",
            "01:16:3e:5e:6c:00", "", "$(reboot)", "00:00:00:00:00:00"})
    void invalidMacs(String mac) {
        assertThrows(VifSpec.InvalidVifException.class, () -> VifSpec.validate(VIF, "10.137.0.5", mac, "10.137.0.1", null));
    }

    @Test
    void issue15DangerousValuesSayWhy() {
        assertTrue(assertThrows(VifSpec.InvalidVifException.class, () -> VifSpec.validate(VIF, "240.0.0.1", null, null,
                null)).getMessage().contains("class E"));
        assertTrue(assertThrows(VifSpec.InvalidVifException.class, () -> VifSpec.validate(VIF, "10.137.0.5 fe80::5",
                null, null, null)).getMessage().contains("link-local"));
        assertEquals("vif3.0: mac is all zeros", assertThrows(VifSpec.InvalidVifException.class,
                () -> VifSpec.validate(VIF, "10.137.0.5", "00:00:00:00:00:00", null, null)).getMessage());
    }

    @Test
    void invalidGatewayAndDomid() {
        assertThrows(VifSpec.InvalidVifException.class, () -> VifSpec.validate(VIF, "10.137.0.5", MAC, "10.137.0.1 x", null));
        assertThrows(VifSpec.InvalidVifException.class,
                () -> VifSpec.validate(VifName.parse("vif32753.0").orElseThrow(), "10.137.0.5", null, null, null));
        assertEquals(0, assertDoesNotThrow(VifName.parse("vif32752.0").orElseThrow()).metric());
    }

    private static VifSpec assertDoesNotThrow(VifName vif) {
        try {
            return VifSpec.validate(vif, "10.137.0.5", MAC, "10.137.0.1", null);
        } catch (VifSpec.InvalidVifException e) {
            throw new AssertionError(e);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"vif", "vif3", "vif3.", "vif.0", "vif03.0", "vif3.01", "vif3.0.1", "Vif3.0", "vif3.0\n",
            "vif123456.0", "vif3.0;x", "eth0", "vif-3.0"})
    void invalidNames(String name) {
        assertTrue(VifName.parse(name).isEmpty(), name);
    }
}
