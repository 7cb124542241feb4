package org.netvm.runtime.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;

class LaunchOptionsTest {

    private static LaunchOptions parse(Map<String, String> props, Map<String, String> env, Set<String> files) {
        return LaunchOptions.from(props::get, env::get, p -> files.contains(p.toString()));
    }

    @Test
    void autoFallsBackToTheEmbeddedDaemonWhenNoXenIsPresent() {
        LaunchOptions o = parse(Map.of(), Map.of(), Set.of());
        assertTrue(o.embedded());
        assertEquals(LaunchOptions.DEFAULT_EMBEDDED_SOCKET, o.xenstorePath());
        assertTrue(o.configurations().containsKey("org.netvm.xenstore.server"));
        assertEquals("/run/netvm/xenstored/domains",
                o.configurations().get("org.netvm.xenstore.server").get("domainSocketDir"));
    }

    @Test
    void autoPrefersARunningXenstoredThenXenbus() {
        assertEquals("unix", parse(Map.of(), Map.of(), Set.of("/var/run/xenstored/socket", "/dev/xen/xenbus")).transport());
        LaunchOptions xenbus = parse(Map.of(), Map.of(), Set.of("/dev/xen/xenbus"));
        assertEquals("xenbus", xenbus.transport());
        assertFalse(xenbus.embedded());
        assertFalse(xenbus.configurations().containsKey("org.netvm.xenstore.server"));
        assertEquals("/tmp/x", parse(Map.of(), Map.of("XENSTORED_PATH", "/tmp/x"), Set.of("/tmp/x")).xenstorePath());
    }

    @Test
    void explicitChoices() {
        LaunchOptions o = parse(Map.of("netvm.xenstore", "embedded:/tmp/s/xs", "netvm.domid", "7",
                "netvm.role", "guest", "netvm.control", "/tmp/c.sock"), Map.of(), Set.of());
        assertTrue(o.embedded());
        assertEquals("/tmp/s/xs", o.xenstorePath());
        assertEquals(7, o.domid());
        assertEquals(7, o.configurations().get("org.netvm.xenstore.client").get("domid"),
                "the client resolves relative paths under /local/domain/7 (issue 11)");
        assertEquals(null, parse(Map.of(), Map.of(), Set.of()).configurations().get("org.netvm.xenstore.client").get("domid"),
                "no --domid: relative paths are left to the daemon");
        assertEquals("guest", o.role());
        assertEquals("/tmp/c.sock", o.configurations().get("org.netvm.control").get("socketPath"));
        assertEquals("unix", parse(Map.of("netvm.xenstore", "unix:/a/b"), Map.of(), Set.of()).transport());
    }

    @Test
    void aNamedNamespaceBindsTheKernelSeamAndBothBackends() {
        LaunchOptions o = parse(Map.of("netvm.netns", "nvt-itest"), Map.of(), Set.of());
        for (String pid : new String[] {"org.netvm.kernel", "org.netvm.backend.nftables", "org.netvm.backend.iptables"}) {
            assertEquals("nvt-itest", o.configurations().get(pid).get("netns"), pid);
        }
        assertFalse(parse(Map.of(), Map.of(), Set.of()).configurations().containsKey("org.netvm.kernel"),
                "without the option the process's own namespace is used");
    }

    @Test
    void badOptionsAreRejectedWithTheirName() {
        for (var bad : new String[][] {{"netvm.role", "router"}, {"netvm.domid", "32753"}, {"netvm.domid", "-1"},
                {"netvm.domid", "07"}, {"netvm.xenstore", "tcp:1.2.3.4"}, {"netvm.xenstore", "unix:relative"},
                {"netvm.control", "x"}, {"netvm.netns", "../x"}, {"netvm.netns", "a b"}}) {
            var e = assertThrows(IllegalArgumentException.class, () -> parse(Map.of(bad[0], bad[1]), Map.of(), Set.of()));
            assertTrue(e.getMessage().contains(bad[0]), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class,
                () -> parse(Map.of("netvm.xenstore", "unix:/" + "a".repeat(120)), Map.of(), Set.of()));
        assertEquals(Path.of("/a/b"), Path.of(parse(Map.of("netvm.xenstore", "unix:/a/b"), Map.of(), Set.of()).xenstorePath()));
    }

    @Test
    void theProxyRoleIsANetvmThatAlsoConfiguresItsUplink() {
        for (String spelling : new String[] {"proxy", "netvm,guest", "guest,netvm"}) {
            LaunchOptions o = parse(Map.of("netvm.role", spelling, "netvm.xenstore", "unix:/run/d/domain-3.sock"), Map.of(),
                    Set.of());
            assertEquals("proxy", o.role());
            assertTrue(o.configuresGuest());
            assertEquals(0, o.configurations().get("org.netvm.guest").get("domid"));
            assertEquals("/run/d/domain-3.sock", o.configurations().get("org.netvm.xenstore.client").get("path"));
        }
        assertFalse(parse(Map.of(), Map.of(), Set.of()).configurations().containsKey("org.netvm.guest"));
        assertThrows(IllegalArgumentException.class,
                () -> parse(Map.of("netvm.role", "netvm,guest,netvm"), Map.of(), Set.of()));
        assertThrows(IllegalArgumentException.class, () -> parse(Map.of("netvm.role", "netvm, guest"), Map.of(), Set.of()));
    }
}
