package org.netvm.vif.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.netvm.kernel.CloseableKernel;
import org.netvm.kernel.Kernels;
import org.netvm.vif.VifState.Actual;

/**
 * The vif lifecycle against the real kernel: a netvm namespace holding {@code vif3.0}, veth peer of
 * {@code eth0} in a guest namespace; the reconciler programs the netvm namespace through a
 * {@link Kernels#open kernel bound to it} (fake xenstore and dataplane, the real conntrack tool run
 * inside the namespace). Checked with {@code ip -n NS ...} as a user would. Skipped unless root.
 */
class VifNetnsTest {
    private static final String IP = List.of("/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip").stream()
            .filter(p -> Files.isExecutable(Path.of(p))).findFirst().orElse(null);

    private String netvm;
    private String guest;
    private CloseableKernel kernel;
    private VifReconciler reconciler;
    private final List<String> trace = new CopyOnWriteArrayList<>();
    private final FakeXenStore xs = new FakeXenStore();

    @BeforeEach
    void setUp() throws Exception {
        assumeTrue(IP != null, "ip(8) not installed");
        int uid;
        try {
            uid = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        } catch (IOException | UnsupportedOperationException e) {
            uid = -1;
        }
        assumeTrue(uid == 0, "real-kernel tests need root");
        String id = HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());
        netvm = "netvmtest-vif-" + id;
        guest = "netvmtest-vifg-" + id;
        ip("netns", "add", netvm);
        ip("netns", "add", guest);
        ip("-n", netvm, "link", "add", "vif3.0", "type", "veth", "peer", "name", "eth0", "netns", guest);
        ip("-n", guest, "link", "set", "eth0", "address", "00:16:3e:5e:6c:00");
        ip("-n", guest, "link", "set", "eth0", "up"); // a running guest: the vif has carrier once it is up
        kernel = Kernels.open(netvm);
        reconciler = new VifReconciler(kernel, xs, new FakeAntiSpoof(trace),
                new ConntrackTool(List.of(IP, "netns", "exec", netvm), "", 10_000), new HookRunner(() -> 1000L),
                new VifReconciler.Settings("backend/vif", 60_000, 0, 2_000), Clock.systemUTC());
        xs.put(VifReconciler.GATEWAY_KEY, "10.137.0.1");
        reconciler.subscribe();
    }

    @AfterEach
    void tearDown() {
        if (reconciler != null) {
            reconciler.stop();
        }
        if (kernel != null) {
            kernel.close();
        }
        for (String ns : new String[] {netvm, guest}) {
            if (ns != null) {
                try {
                    ip("netns", "del", ns);
                } catch (RuntimeException e) {
                    System.err.println("could not delete netns " + ns + ": " + e.getMessage());
                }
            }
        }
    }

    @Test
    void onlineProgramsWhatVifRouteQubesDoesAndOfflineRemovesIt() throws Exception {
        xs.putVif(3, 0, "10.137.0.5", null);
        assertTrue(reconciler.pass(true));
        assertEquals(Actual.PROGRAMMED, reconciler.vif("vif3.0").orElseThrow().actual(),
                () -> String.valueOf(reconciler.vif("vif3.0")));

        assertEquals("10.137.0.5 dev vif3.0 proto netvm scope link metric 32749",
                ip("-n", netvm, "route", "show", "10.137.0.5").trim().replace("proto 110", "proto netvm"));
        assertEquals("10.137.0.5 lladdr 00:16:3e:5e:6c:00 PERMANENT",
                ip("-n", netvm, "neigh", "show", "dev", "vif3.0").trim());
        assertEquals("1", ip("netns", "exec", netvm, "cat", "/proc/sys/net/ipv4/conf/vif3.0/proxy_arp").trim());
        assertEquals("1", ip("netns", "exec", netvm, "cat", "/proc/sys/net/ipv6/conf/vif3.0/disable_ipv6").trim(),
                "issue 11: IPv6 off on the vif of an IPv4-only guest");
        String link = ip("-n", netvm, "link", "show", "vif3.0");
        assertTrue(link.contains(",UP") && link.contains(" group 2 "), link);
        String addr = ip("-n", netvm, "-4", "addr", "show", "dev", "vif3.0");
        assertTrue(addr.contains("inet 10.137.0.1/32 scope global vif3.0"), addr);

        // the guest reaches its gateway through what was programmed (traffic stays in our namespaces)
        ip("-n", guest, "addr", "add", "10.137.0.5/32", "dev", "eth0");
        ip("-n", guest, "route", "add", "10.137.0.1", "dev", "eth0", "scope", "link");
        ip("netns", "exec", guest, "ping", "-c", "1", "-W", "5", "10.137.0.1");

        // a resync finds nothing to do
        long batches = reconciler.counters().batches();
        assertTrue(reconciler.pass(true));
        assertEquals(batches, reconciler.counters().batches(), "a resync of a programmed vif writes nothing");

        // offline while the device still exists: everything netvm programmed is gone
        reconciler.hotplug(VifName.parse("vif3.0").orElseThrow(), VifReconciler.Intent.OFFLINE);
        assertTrue(reconciler.pass(false));
        assertEquals(Actual.ABSENT, reconciler.vif("vif3.0").orElseThrow().actual());
        assertEquals("", ip("-n", netvm, "route", "show", "10.137.0.5").trim());
        assertEquals("", ip("-n", netvm, "neigh", "show", "dev", "vif3.0").trim());
        assertFalse(ip("-n", netvm, "-4", "addr", "show", "dev", "vif3.0").contains("10.137.0.1"));
        assertTrue(trace.contains("dataplane remove vif/vif3.0"), trace.toString());
    }

    @Test
    void ipv6GuestAndAVanishedDevice() throws Exception {
        xs.put(VifReconciler.GATEWAY6_KEY, "fd09:24ef:4179::a89:1");
        xs.putVif(3, 0, "10.137.0.5 fd09:24ef:4179::a89:5", null);
        assertTrue(reconciler.pass(true));
        assertEquals(Actual.PROGRAMMED, reconciler.vif("vif3.0").orElseThrow().actual(),
                () -> String.valueOf(reconciler.vif("vif3.0")));
        assertTrue(ip("-n", netvm, "-6", "route", "show", "fd09:24ef:4179::a89:5").contains("dev vif3.0"));
        assertTrue(ip("-n", netvm, "-6", "neigh", "show", "dev", "vif3.0").contains("PERMANENT"));
        assertEquals("1", ip("netns", "exec", netvm, "cat", "/proc/sys/net/ipv6/conf/vif3.0/proxy_ndp").trim());
        assertEquals("0", ip("netns", "exec", netvm, "cat", "/proc/sys/net/ipv6/conf/vif3.0/disable_ipv6").trim());
        String addr6 = ip("-n", netvm, "-6", "addr", "show", "dev", "vif3.0");
        assertTrue(addr6.contains("inet6 fd09:24ef:4179::a89:1/128"), addr6);

        ip("-n", netvm, "link", "del", "vif3.0");
        xs.rm("backend/vif/3");
        assertTrue(reconciler.pass(false));
        assertTrue(reconciler.vif("vif3.0").isEmpty(), () -> String.valueOf(reconciler.vif("vif3.0")));
        assertEquals("", ip("-n", netvm, "route", "show", "proto", "110").trim());
    }

    private static String ip(String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(IP);
        cmd.addAll(List.of(args));
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException("timeout: " + cmd);
            }
            if (p.exitValue() != 0) {
                throw new IllegalStateException(cmd + " exited " + p.exitValue() + ": " + out);
            }
            return out;
        } catch (IOException e) {
            throw new IllegalStateException(cmd.toString(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(cmd.toString(), e);
        }
    }
}
