package org.netvm.xenstore.client.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import org.junit.jupiter.api.Test;

class ClientSettingsTest {

    @Test
    void unixDefaultsToXenstoredPathFromTheEnvironment() {
        ClientSettings s = ClientSettings.resolve("unix", "", 50, 2000, 30000, Map.of("XENSTORED_PATH", "/run/xs/sock")::get);
        assertEquals(Path.of("/run/xs/sock"), s.address());
        assertEquals("unix", s.newTransport().name());
        assertEquals("/run/xs/sock", s.newTransport().address());
        assertEquals(Duration.ofMillis(50), s.options().reconnectInitial());
        assertEquals(Duration.ofSeconds(2), s.options().reconnectMax());
    }

    @Test
    void unixFallsBackToTheStandardSocket() {
        assertEquals(Path.of("/var/run/xenstored/socket"), ClientSettings.resolve("unix", "", 50, 2000, 0, k -> null).address());
        assertEquals(Path.of("/x/s"), ClientSettings.resolve("unix", "/x/s", 50, 2000, 0, k -> "/env").address());
    }

    @Test
    void xenbusUsesTheDevice() {
        ClientSettings s = ClientSettings.resolve("xenbus", "", 50, 2000, 0, k -> "/ignored");
        assertEquals(Path.of("/dev/xen/xenbus"), s.address());
        assertInstanceOf(XenbusTransport.class, s.newTransport());
    }

    @Test
    void badSettingsFailActivation() {
        assertThrows(IllegalArgumentException.class, () -> ClientSettings.resolve("tcp", "", 50, 2000, 0, k -> null));
        assertThrows(IllegalArgumentException.class, () -> ClientSettings.resolve("unix", "", 0, 2000, 0, k -> null));
        assertThrows(IllegalArgumentException.class, () -> ClientSettings.resolve("unix", "", 500, 20, 0, k -> null));
    }
}
