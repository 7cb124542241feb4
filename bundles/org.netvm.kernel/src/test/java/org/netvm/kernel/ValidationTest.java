package org.netvm.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/** Hostile values (from xenstore) never become devices, paths or addresses. */
class ValidationTest {

    @ParameterizedTest
    @ValueSource(strings = {"", ".", "..", "../../../etc", "vif3.0/..", "a/b", "vif3.0 ", "vif3.0;ls", "vif3.0\n",
            "0123456789abcdef", "vïf3.0", "eth0:1", "*"})
    void badDeviceNamesAreRejectedEverywhere(String name) {
        assertThrows(IllegalArgumentException.class, () -> Sysctl.proxyArp(name));
        assertThrows(IllegalArgumentException.class, () -> Sysctl.proxyNdp(name));
        assertThrows(IllegalArgumentException.class, () -> new Batch().setLinkUp(name, true));
        assertThrows(IllegalArgumentException.class,
                () -> Route.host(IpPrefix.parseAddress("10.137.0.5"), name));
        assertThrows(IllegalArgumentException.class,
                () -> Address.of(name, IpPrefix.parse("10.137.0.1/32")));
        assertThrows(IllegalArgumentException.class,
                () -> new Batch().deleteNeighbour(IpPrefix.parseAddress("10.137.0.5"), name));
    }

    @ParameterizedTest
    @ValueSource(strings = {"vif3.0", "eth0", "all", "default", "vif32752.15", "a", "br-lan_0", "0123456789abcde"})
    void goodDeviceNames(String name) {
        assertEquals("net/ipv4/conf/" + name + "/proxy_arp", Sysctl.proxyArp(name).path());
    }

    @Test
    void sysctlNamesFollowSysctl8() {
        assertEquals("net.ipv4.conf.vif3/0.proxy_arp", Sysctl.proxyArp("vif3.0").name());
        assertEquals("net/ipv6/conf/vif3.0/proxy_ndp", Sysctl.proxyNdp("vif3.0").path());
        assertEquals("net.ipv4.ip_forward", Sysctl.ipv4Forward().name());
        assertEquals(Sysctl.proxyArp("eth0"), Sysctl.proxyArp("eth0"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"localhost", "example.org", "10.1", "10.0.0.256", "010.0.0.1", "1.2.3.4.5", "::1%eth0",
            "fe80::1%1", ":::", "", " 10.0.0.1", "0x0a.0.0.1", "10.137.0.5/33", "10.137.0.5/", "10.137.0.5/-1",
            "::/129", "10.137.0.5/32/1", "::ffff:10.137.0.5"})
    void onlyLiteralsParse(String text) {
        assertThrows(IllegalArgumentException.class, () -> IpPrefix.parse(text));
    }

    @Test
    void literalsAndPrefixes() {
        assertEquals("10.137.0.5/32", IpPrefix.parse("10.137.0.5").toString());
        assertEquals("fd09:24ef:4179::a89:5/128", IpPrefix.parse("FD09:24EF:4179:0:0:0:A89:5").toString());
        assertEquals("::/0", IpPrefix.any(true).toString());
        assertEquals("2001:db8::1:0:0:1/64", IpPrefix.parse("2001:db8:0:0:1:0:0:1/64").toString());
        assertEquals("10.0.0.0/8", IpPrefix.parse("10.0.0.0/8").toString());
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "fe:ff:ff:ff:ff", "fe:ff:ff:ff:ff:ff:ff", "fe-ff-ff-ff-ff-ff", "fe:ff:ff:ff:ff:fg",
            "feff.ffff.ffff", "fe:ff:ff:ff:ff:ff\n"})
    void badMacs(String text) {
        assertThrows(IllegalArgumentException.class, () -> MacAddress.parse(text));
    }

    @Test
    void macsAreLowerCase() {
        assertEquals("00:16:3e:5e:6c:00", MacAddress.parse("00:16:3E:5E:6C:00").text());
        assertEquals(MacAddress.QUBES_GATEWAY, MacAddress.of(MacAddress.QUBES_GATEWAY.bytes()));
    }

    @Test
    void routesCheckTheirParts() {
        var v4 = IpPrefix.parseAddress("10.137.0.5");
        var v6 = IpPrefix.parseAddress("fd09::1");
        assertThrows(IllegalArgumentException.class, () -> Route.defaultVia(v4, "eth0").withGateway(v6));
        assertThrows(IllegalArgumentException.class, () -> Route.host(v4, "eth0").withMetric(-1));
        assertThrows(IllegalArgumentException.class, () -> Route.host(v4, "eth0").withProtocol(256));
        assertThrows(IllegalArgumentException.class, () -> new Op.LinkSet("eth0", -2, Op.Admin.UP));
        assertThrows(IllegalArgumentException.class,
                () -> new Op.NeighbourReplace(new Neighbour(v4, null, "eth0", true)));
    }
}
