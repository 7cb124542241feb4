package org.netvm.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.function.Predicate;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.netvm.testing.netns.Command;
import org.netvm.testing.netns.Netns;
import org.netvm.xenstore.XenStore;
import org.netvm.xenstore.XenStoreException;
import org.osgi.framework.BundleContext;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.test.junit5.context.BundleContextExtension;
import org.osgi.test.junit5.service.ServiceExtension;

/**
 * {@code netvm status} and the metrics endpoint of the running netvm role: the endpoint is off until
 * {@code org.netvm.status httpPort} is configured; a guest whose xenstore entry is invalid turns the
 * verdict to degraded (503 on /healthz, exit 1 of {@code netvm status}) and removing it heals it.
 *
 * <p>Like ExtensionLifecycleTest, it binds the kernel seam and both backends to a namespace of its own
 * (the runtime starts bound to one that does not exist) and leaves them bound to it when it deletes it.
 */
@ExtendWith({BundleContextExtension.class, ServiceExtension.class})
class StatusTest {

    private static final String VIF6 = "/local/domain/0/backend/vif/6";

    @InjectBundleContext
    BundleContext context;

    @InjectService(timeout = 10000)
    ConfigurationAdmin cm;

    @InjectService(timeout = 10000)
    XenStore xs;

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private HttpResponse<String> get(int port, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Polls until {@code done} holds (or 30 s passed) and returns the last response. */
    private HttpResponse<String> await(int port, String path, Predicate<HttpResponse<String>> done) throws Exception {
        HttpResponse<String> last = null;
        long end = System.nanoTime() + 30_000_000_000L;
        while (System.nanoTime() < end) {
            try {
                last = get(port, path);
                if (done.test(last)) {
                    return last;
                }
            } catch (IOException e) {
                // not listening yet
            }
            Thread.sleep(100);
        }
        return last;
    }

    @Test
    void statusAndMetricsFollowAFailingGuestOverHttpAndTheControlSocket() throws Exception {
        Assumptions.assumeTrue("netvm".equals(context.getProperty("netvm.role")), "netvm role only");
        Assumptions.assumeTrue(Netns.usable(), "needs root and ip netns");
        Assumptions.assumeTrue(Command.run("nft", "--version").ok(), "needs nft");
        Path control = Path.of(context.getProperty("netvm.control"));
        Cli.waitFor(control);
        int port = freePort();
        Configuration config = cm.getConfiguration("org.netvm.status", "?");
        try (Netns netvm = Netns.create("nvt-status")) {
            for (String pid : List.of("org.netvm.kernel", "org.netvm.backend.nftables", "org.netvm.backend.iptables")) {
                Configuration c = cm.getConfiguration(pid, "?");
                Dictionary<String, Object> p = c.getProperties() == null ? new Hashtable<>() : c.getProperties();
                p.put("netns", netvm.name());
                c.update(p);
            }
            config.update(Cli.props("httpPort", port));

            HttpResponse<String> health = await(port, "/healthz", r -> r.statusCode() == 200);
            assertEquals(200, health == null ? -1 : health.statusCode(), "the netvm gets in sync: "
                    + (health == null ? "endpoint never answered" : health.body()) + "\n"
                    + Cli.run(control, "status").out());
            assertEquals("in-sync\n", health.body());

            HttpResponse<String> metrics = get(port, "/metrics");
            assertEquals(200, metrics.statusCode());
            assertEquals("text/plain; version=0.0.4; charset=utf-8", metrics.headers().firstValue("Content-Type").orElse(""));
            String m = metrics.body();
            for (String line : new String[] {"netvm_in_sync 1", "netvm_xenstore_connected 1", "netvm_dataplane_in_sync 1",
                "netvm_dataplane_active_backend{backend=\"nftables\"} 1", "netvm_vifs_failed 0", "netvm_vif_inputs_synced 1"}) {
                assertTrue(m.contains("\n" + line + "\n"), "missing " + line + " in\n" + m);
            }
            assertTrue(m.matches("(?s).*\nnetvm_dataplane_applies_total\\{backend=\"nftables\"\\} [1-9][0-9]*\n.*"), m);
            assertTrue(m.matches("(?s).*\nnetvm_xenstore_requests_total [1-9][0-9]*\n.*"), m);

            Cli.Result ok = Cli.run(control, "status", "--json");
            assertEquals(0, ok.status(), ok.err());
            assertTrue(ok.out().contains("\"schema\": \"netvm.status/1\""), ok.out());
            assertTrue(ok.out().contains("\"verdict\": \"in-sync\""), ok.out());
            assertTrue(ok.out().contains("\"connected\": true"), ok.out());
            assertTrue(ok.out().contains("\"activeBackend\": \"nftables\""), ok.out());

            // a guest whose toolstack keys are invalid: the vif fails, the netvm is degraded
            xs.write(VIF6 + "/0/ip", "10.137.0.256");
            xs.write(VIF6 + "/0/mac", "00:16:3e:5e:6c:06");
            HttpResponse<String> bad = await(port, "/healthz", r -> r.statusCode() == 503);
            assertEquals(503, bad.statusCode(), bad.body());
            assertTrue(bad.body().startsWith("degraded: vifs-failed (1 vif(s) failed: vif6.0)"), bad.body());
            assertTrue(get(port, "/metrics").body().contains("\nnetvm_vifs_failed 1\n"));

            Cli.Result degraded = Cli.run(control, "status", "--json");
            assertEquals(1, degraded.status(), "degraded exits with 1");
            String j = degraded.out();
            assertTrue(j.contains("\"verdict\": \"degraded\""), j);
            assertTrue(j.contains("\"code\": \"vifs-failed\""), j);
            assertTrue(j.matches("(?s).*\"vif\": \"vif6.0\",\\s*\"domid\": 6,.*\"desired\": \"online\",\\s*"
                    + "\"actual\": \"failed\",.*"), j);
            assertTrue(j.contains("\"error\": \"vif6.0: ip: not an IPv4 address: \\\"10.137.0.256\\\"\""), j);
            Cli.Result table = Cli.run(control, "status");
            assertTrue(table.out().startsWith("netvm: degraded\n  - vifs-failed: 1 vif(s) failed: vif6.0\n"), table.out());

            xs.rm(VIF6);
            assertEquals(200, await(port, "/healthz", r -> r.statusCode() == 200).statusCode(), "heals without a restart");
            assertEquals(0, Cli.run(control, "status").status());
        } finally {
            config.delete();
            try {
                xs.rm(VIF6);
            } catch (XenStoreException e) {
                // already gone
            }
        }
        int closedPort = port;
        Thread.sleep(500);
        org.junit.jupiter.api.Assertions.assertThrows(IOException.class, () -> get(closedPort, "/healthz"),
                "off again without configuration");
    }
}
