package org.netvm.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.netvm.tests.Waits.read;
import static org.netvm.tests.Waits.uncheck;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;
import org.netvm.testing.netns.Command;
import org.netvm.testing.netns.Netns;
import org.netvm.xenstore.XenStore;
import org.osgi.framework.BundleContext;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.test.junit5.context.BundleContextExtension;
import org.osgi.test.junit5.service.ServiceExtension;

/**
 * The guest role configures a real interface from xenstore keys, like Qubes' setup-ip: the test is
 * the toolstack (writes the keys) and checks {@code ip addr/route/neigh} and resolv.conf in the
 * guest's namespace against the reference's expected output (qubes-behaviour.md section 6).
 * Runs in guest.bndrun (embedded xenstored) and guest-cxenstored.bndrun (real C xenstored).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@ExtendWith({BundleContextExtension.class, ServiceExtension.class})
class GuestRoleTest {

    @InjectBundleContext
    BundleContext context;

    @InjectService(timeout = 10000)
    ConfigurationAdmin cm;

    @InjectService(timeout = 10000)
    XenStore xs;

    Netns guest;
    Netns netvm;
    Path resolvConf;

    @BeforeAll
    void setUp() throws Exception {
        Assumptions.assumeTrue("guest".equals(context.getProperty("netvm.role")), "guest role runtime only");
        Assumptions.assumeTrue(Netns.usable(), "needs root and ip netns");
        String script = context.getProperty("netvm.test.start-cxenstored");
        if (script != null) {
            String socket = context.getProperty("netvm.xenstore").substring("unix:".length());
            var r = Command.run(List.of("bash", script, socket));
            Assumptions.assumeTrue(r.ok(), "C xenstored did not start: " + r.stderr());
            daemonPid = Long.parseLong(r.stdout().trim());
        }
        waitUntil("xenstore connected", () -> xs.isConnected());
        guest = Netns.create("nvt-guest");
        netvm = Netns.create("nvt-netvm");
        netvm.veth("vif5.0", guest, "eth0");
        netvm.ip("link", "set", "vif5.0", "up");
        resolvConf = Files.createTempFile("resolv", ".conf");
        Configuration k = cm.getConfiguration("org.netvm.kernel", "?");
        k.update(props("netns", guest.name()));
        Configuration g = cm.getConfiguration("org.netvm.guest", "?");
        Dictionary<String, Object> gp = g.getProperties() == null ? new Hashtable<>() : g.getProperties();
        gp.put("resolvConf", resolvConf.toString());
        gp.put("resyncSeconds", 1);
        g.update(gp);
    }

    long daemonPid = -1;

    @AfterAll
    void tearDown() throws Exception {
        // the kernel configuration keeps naming the deleted namespace: the guest component then stays
        // inactive and never touches this machine's own interfaces
        if (guest != null && xs.isConnected()) {
            for (String k : List.of("qubes-ip", "qubes-netmask", "qubes-gateway", "qubes-primary-dns", "qubes-secondary-dns")) {
                xs.readIfExists(k).ifPresent(v -> uncheck(() -> {
                    xs.rm(k);
                    return null;
                }));
            }
        }
        if (guest != null) {
            guest.close();
        }
        if (netvm != null) {
            netvm.close();
        }
        if (resolvConf != null) {
            Files.deleteIfExists(resolvConf);
        }
        if (daemonPid > 0) {
            ProcessHandle.of(daemonPid).ifPresent(ProcessHandle::destroy);
        }
    }

    @Test
    @Order(1)
    void theToolstacksKeysConfigureTheInterfaceAsSetupIpDoes() throws Exception {
        xs.inTransaction(10, tx -> {
            tx.write("qubes-ip", "10.137.0.5");
            tx.write("qubes-netmask", "255.255.255.255");
            tx.write("qubes-gateway", "10.137.0.2");
            tx.write("qubes-primary-dns", "10.139.1.1");
            tx.write("qubes-secondary-dns", "10.139.1.2");
            return null;
        });
        waitUntil("address configured", () -> addresses().contains("10.137.0.5/32"));
        assertEquals("inet 10.137.0.5/32 scope global eth0", addresses());
        assertEquals("default via 10.137.0.2 dev eth0 onlink\n10.137.0.2 dev eth0 scope link", routes());
        assertEquals("10.137.0.2 lladdr fe:ff:ff:ff:ff:ff PERMANENT", neighbours());
        String link = guest.ip("link", "show", "dev", "eth0");
        assertTrue(link.contains(",UP") && link.contains(" group 1 "), link);
        waitUntil("resolv.conf written", () -> read(resolvConf).contains("nameserver"));
        assertEquals(List.of("nameserver 10.139.1.1", "nameserver 10.139.1.2"),
                Files.readAllLines(resolvConf).stream().filter(l -> !l.startsWith("#")).toList());
    }

    @Test
    @Order(2)
    void aChangedAddressAndDnsAreAppliedWithoutRestart() throws Exception {
        xs.write("qubes-ip", "10.137.0.9");
        xs.write("qubes-secondary-dns", "10.139.1.3");
        waitUntil("new address", () -> addresses().equals("inet 10.137.0.9/32 scope global eth0"));
        waitUntil("new nameserver", () -> read(resolvConf).contains("nameserver 10.139.1.3"));
        assertEquals("default via 10.137.0.2 dev eth0 onlink\n10.137.0.2 dev eth0 scope link", routes());
    }

    @Test
    @Order(3)
    void hostileValuesChangeNothing() throws Exception {
        String before = addresses() + routes() + neighbours() + read(resolvConf);
        xs.write("qubes-gateway", "10.137.0.2;reboot");
        xs.write("qubes-primary-dns", "10.139.1.1\nnameserver 6.6.6.6");
        xs.write("qubes-ip", "1".repeat(3000));
        TimeUnit.MILLISECONDS.sleep(1500); // more than a reconcile and a periodic pass
        assertEquals(before, addresses() + routes() + neighbours() + read(resolvConf));
        xs.write("qubes-gateway", "10.137.0.2");
        xs.write("qubes-primary-dns", "10.139.1.1");
        xs.write("qubes-ip", "10.137.0.9");
    }

    @Test
    @Order(4)
    void aRemovedAddressLeavesTheInterfaceUnconfigured() throws Exception {
        xs.rm("qubes-ip");
        waitUntil("address removed", () -> addresses().isEmpty());
        waitUntil("routes removed", () -> routes().isEmpty());
        assertEquals("", neighbours());
    }

    private String addresses() {
        return uncheck(() -> guest.ip("-4", "-o", "addr", "show", "dev", "eth0")).lines()
                .map(l -> l.replaceAll("^\\d+: eth0\\s+", "").replaceAll("\\\\.*$", "").trim())
                .reduce((a, b) -> a + "\n" + b).orElse("");
    }

    /** {@code ip route}, without the protocol netvm marks its routes with (110). */
    private String routes() {
        return uncheck(() -> guest.ip("-4", "route", "show")).lines().map(l -> l.replace(" proto 110", "").trim())
                .reduce((a, b) -> a + "\n" + b).orElse("");
    }

    private String neighbours() {
        return uncheck(() -> guest.ip("-4", "neigh", "show", "dev", "eth0")).trim();
    }

    static void waitUntil(String what, Supplier<Boolean> condition) throws InterruptedException {
        Waits.waitUntil(what, Duration.ofSeconds(10), condition);
    }

    private static Dictionary<String, Object> props(String k, Object v) {
        Hashtable<String, Object> d = new Hashtable<>();
        d.put(k, v);
        return d;
    }
}
