package org.netvm.guest.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Test;

/** The kernel operations of setup-ip, checked against golden files (src/test/resources/golden). */
class GuestPlannerTest {

    static String golden(String name, String actual) throws IOException {
        Path p = Path.of("src/test/resources/golden", name);
        if (Boolean.getBoolean("golden.update")) {
            Files.writeString(p, actual);
        }
        return Files.readString(p);
    }

    @Test
    void firstConfiguration() throws Exception {
        var n = GuestNetworkTest.read(GuestNetworkTest.qubes());
        String text = GuestPlanner.transition(Optional.empty(), null, n, "eth0").render();
        assertEquals(golden("setup-ip-ipv4.txt", text), text);
        assertEquals("# written by netvm from xenstore (qubes-primary-dns, qubes-secondary-dns)\n"
                + "nameserver 10.139.1.1\nnameserver 10.139.1.2\n", GuestPlanner.resolvConf(n).orElseThrow());
    }

    @Test
    void withIpv6AndNoDefaultRoute() throws Exception {
        Map<String, String> m = GuestNetworkTest.qubes();
        m.put("qubes-ip6", "fd09:24ef:4179::a89:5");
        m.put("qubes-gateway6", "fd09:24ef:4179::a89:2");
        m.put("qubes-service/disable-default-route", "1");
        String text = GuestPlanner.transition(Optional.empty(), null, GuestNetworkTest.read(m), "eth0").render();
        assertEquals(golden("setup-ip-ipv6-no-default.txt", text), text);
    }

    @Test
    void addressChangeRemovesTheOldOneAndRemovalUnconfigures() throws Exception {
        var before = GuestNetworkTest.read(GuestNetworkTest.qubes());
        Map<String, String> m = GuestNetworkTest.qubes();
        m.put("qubes-ip", "10.137.0.9");
        m.put("qubes-gateway", "10.137.0.3");
        var after = GuestNetworkTest.read(m);
        String change = GuestPlanner.transition(before, "eth0", after, "eth0").render();
        assertEquals(golden("change-ip-and-gateway.txt", change), change);
        String removal = GuestPlanner.transition(after, "eth0", Optional.empty(), "eth0").render();
        assertEquals(golden("unconfigure.txt", removal), removal);
    }
}
