package org.netvm.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;

/** The text form of batches, against golden files (the Qubes vif-route-qubes and setup-ip sequences). */
class BatchRenderTest {
    private static String golden(String name) throws IOException {
        return Files.readString(Path.of("src/test/resources", name));
    }

    @Test
    void netvmSideOfAVif() throws IOException {
        String vif = "vif3.0";
        InetAddress guest4 = IpPrefix.parseAddress("10.137.0.5");
        InetAddress guest6 = IpPrefix.parseAddress("fd09:24ef:4179:0:0:0:a89:5");
        MacAddress mac = MacAddress.parse("00:16:3E:5E:6C:00");
        int metric = 32752 - 3;
        Batch b = new Batch()
                .setSysctl(Sysctl.proxyArp(vif), 1)
                .setSysctl(Sysctl.proxyNdp(vif), 1)
                .replaceNeighbour(Neighbour.permanent(guest4, mac, vif))
                .replaceNeighbour(Neighbour.permanent(guest6, mac, vif))
                .setLink(vif, 2, true)
                .replaceRoute(Route.host(guest4, vif).withMetric(metric))
                .replaceRoute(Route.host(guest6, vif).withMetric(metric))
                .replaceAddress(Address.of(vif, IpPrefix.parse("10.137.0.1/32")));
        assertEquals(golden("qubes-vif-online.batch"), b.render());
        assertEquals(8, b.size());
    }

    @Test
    void guestSide() throws IOException {
        InetAddress gw = IpPrefix.parseAddress("10.137.0.2");
        Batch b = new Batch()
                .replaceAddress(Address.of("eth0", IpPrefix.parse("10.137.0.5")))
                .replaceNeighbour(Neighbour.permanent(gw, MacAddress.QUBES_GATEWAY, "eth0"))
                .setLink("eth0", 1, true)
                .replaceRoute(Route.host(gw, "eth0"))
                .replaceRoute(Route.defaultVia(gw, "eth0").withOnlink(true));
        assertEquals(golden("qubes-guest-setup.batch"), b.render());
    }

    @Test
    void teardownLines() {
        InetAddress guest = IpPrefix.parseAddress("10.137.0.5");
        Batch b = new Batch()
                .deleteRoute(Route.host(guest, "vif3.0").withMetric(32749))
                .deleteNeighbour(guest, "vif3.0")
                .deleteAddress(Address.of("vif3.0", IpPrefix.parse("10.137.0.1/32")))
                .setLinkUp("vif3.0", false)
                .setLinkGroup("vif3.0", 0)
                .setSysctl(Sysctl.ipv4Forward(), 1)
                .replaceRoute(Route.to(IpPrefix.parse("10.137.0.0/24"), "eth1").withTable(1000).withProtocol(Route.PROTO_STATIC)
                        .withScope(Scope.UNIVERSE));
        assertEquals("""
                route delete 10.137.0.5/32 dev vif3.0 scope link metric 32749 proto netvm
                neighbour delete 10.137.0.5 dev vif3.0
                address delete 10.137.0.1/32 dev vif3.0
                link set dev vif3.0 down
                link set dev vif3.0 group 0
                sysctl net.ipv4.ip_forward=1
                route replace 10.137.0.0/24 dev eth1 table 1000 proto static
                """, b.render());
    }
}
