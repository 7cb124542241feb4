package org.netvm.status.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The endpoint over real HTTP on an ephemeral loopback port. */
class MetricsEndpointTest {

    private final Fakes.Rig rig = new Fakes.Rig();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private MetricsEndpoint endpoint;

    @BeforeEach
    void start() throws Exception {
        endpoint = new MetricsEndpoint(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), rig::report);
    }

    @AfterEach
    void stop() {
        endpoint.close();
    }

    private HttpResponse<String> request(String method, String path) throws Exception {
        URI uri = URI.create("http://127.0.0.1:" + endpoint.address().getPort() + path);
        return http.send(HttpRequest.newBuilder(uri).method(method, HttpRequest.BodyPublishers.noBody())
                .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void metricsAreServedInTheTextFormat() throws Exception {
        HttpResponse<String> r = request("GET", "/metrics");
        assertEquals(200, r.statusCode());
        assertEquals("text/plain; version=0.0.4; charset=utf-8", r.headers().firstValue("Content-Type").orElse(""));
        MetricsTest.assertWellFormed(r.body());
        assertTrue(r.body().contains("\nnetvm_guests_attached 1\n"), r.body());
        assertTrue(r.body().contains("\nnetvm_dataplane_applies_total{backend=\"nftables\"} 12\n"), r.body());
    }

    @Test
    void healthzIs200WhenInSyncAnd503WithTheReasonsWhenDegraded() throws Exception {
        HttpResponse<String> ok = request("GET", "/healthz");
        assertEquals(200, ok.statusCode());
        assertEquals("in-sync\n", ok.body());

        rig.xs.connected(false);
        rig.failVif4();
        HttpResponse<String> bad = request("GET", "/healthz");
        assertEquals(503, bad.statusCode());
        assertEquals("degraded: xenstore-disconnected (not connected to xenstored at /run/netvm/xenstored/socket"
                + " (reconnecting)); vifs-failed (1 vif(s) failed: vif4.0)\n", bad.body());
        assertTrue(request("GET", "/metrics").body().contains("\nnetvm_in_sync 0\n"));

        rig.xs.connected(true);
        rig.vifs.vifs.remove(1);
        assertEquals(200, request("GET", "/healthz").statusCode(), "recovers without a restart");
    }

    @Test
    void onlyGetAndHeadOnTwoPaths() throws Exception {
        assertEquals(404, request("GET", "/").statusCode());
        assertEquals(404, request("GET", "/metrics/../etc/passwd").statusCode());
        HttpResponse<String> post = request("POST", "/metrics");
        assertEquals(405, post.statusCode());
        assertEquals("GET, HEAD", post.headers().firstValue("Allow").orElse(""));
        HttpResponse<String> head = request("HEAD", "/healthz");
        assertEquals(200, head.statusCode());
        assertEquals("", head.body());
    }
}
