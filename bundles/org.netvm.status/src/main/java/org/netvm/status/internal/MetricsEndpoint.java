package org.netvm.status.internal;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

/**
 * A small HTTP server (the JDK's, module jdk.httpserver) with two read-only endpoints:
 * {@code /metrics} (Prometheus text format 0.0.4) and {@code /healthz} (200 {@code in-sync} or 503
 * {@code degraded: reasons}). GET and HEAD only; anything else is 405, other paths 404.
 */
final class MetricsEndpoint implements AutoCloseable {

    private final HttpServer server;
    private final ExecutorService executor;
    private final Supplier<StatusReport> reports;

    /** Binds {@code address} (port 0: any free port) and starts serving. */
    MetricsEndpoint(InetSocketAddress address, Supplier<StatusReport> reports) throws IOException {
        this.reports = reports;
        this.server = HttpServer.create(address, 16);
        this.executor = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "netvm-metrics-http");
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(executor);
        server.createContext("/", this::handle);
        server.start();
    }

    InetSocketAddress address() {
        return server.getAddress();
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            String method = ex.getRequestMethod();
            String path = ex.getRequestURI().getPath();
            if (!path.equals("/metrics") && !path.equals("/healthz")) {
                send(ex, 404, "text/plain; charset=utf-8", "not found: try /metrics or /healthz\n");
                return;
            }
            if (!method.equals("GET") && !method.equals("HEAD")) {
                ex.getResponseHeaders().set("Allow", "GET, HEAD");
                send(ex, 405, "text/plain; charset=utf-8", "method not allowed\n");
                return;
            }
            StatusReport r;
            try {
                r = reports.get();
            } catch (RuntimeException e) {
                send(ex, 500, "text/plain; charset=utf-8", "status failed: " + e + "\n");
                return;
            }
            if (path.equals("/metrics")) {
                send(ex, 200, Metrics.CONTENT_TYPE, Metrics.render(r));
            } else {
                send(ex, r.inSync() ? 200 : 503, "text/plain; charset=utf-8", StatusText.clean(r.verdictLine()) + "\n");
            }
        }
    }

    private static void send(HttpExchange ex, int status, String contentType, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", contentType);
        ex.getResponseHeaders().set("Cache-Control", "no-store");
        boolean head = ex.getRequestMethod().equals("HEAD");
        ex.sendResponseHeaders(status, head ? -1 : bytes.length);
        if (!head) {
            try (OutputStream out = ex.getResponseBody()) {
                out.write(bytes);
            }
        }
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
