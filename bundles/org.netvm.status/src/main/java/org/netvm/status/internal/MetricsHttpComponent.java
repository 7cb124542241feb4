package org.netvm.status.internal;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.log.Logger;
import org.osgi.service.log.LoggerFactory;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * Serves {@code /metrics} and {@code /healthz} over HTTP when {@code httpPort} is set (off by
 * default, loopback by default). A configuration change restarts the server.
 */
@Component(service = {}, immediate = true, configurationPid = MetricsHttpComponent.PID)
@Designate(ocd = MetricsHttpComponent.Config.class)
public final class MetricsHttpComponent {

    public static final String PID = "org.netvm.status";

    @ObjectClassDefinition(name = "netvm status and metrics",
            description = "Prometheus /metrics and /healthz on a local HTTP endpoint")
    public @interface Config {
        @AttributeDefinition(description = "TCP port of the metrics endpoint; 0 = off", min = "0", max = "65535")
        int httpPort() default 0;

        @AttributeDefinition(description = "Address to listen on (an IP literal); keep it local unless the"
                + " port is firewalled")
        String httpAddress() default "127.0.0.1";
    }

    private final MetricsEndpoint endpoint;

    @Activate
    public MetricsHttpComponent(@Reference StatusCollector collector,
            @Reference(service = LoggerFactory.class) Logger log, Config config) throws IOException {
        int port = config.httpPort();
        if (port <= 0) {
            endpoint = null;
            return;
        }
        if (port > 65535) {
            throw new IllegalArgumentException("httpPort must be 0..65535: " + port);
        }
        InetAddress address = literal(config.httpAddress());
        try {
            endpoint = new MetricsEndpoint(new InetSocketAddress(address, port), collector::report);
        } catch (IOException e) {
            log.error("metrics endpoint not started: cannot listen on {}:{}: {}", address.getHostAddress(), port,
                    e.toString());
            throw e;
        }
        log.info("metrics on http://{}/metrics and /healthz", endpoint.address().getAddress().getHostAddress() + ":"
                + endpoint.address().getPort());
    }

    /** An IP literal only: no name resolution from configuration. */
    static InetAddress literal(String text) {
        String t = text == null ? "" : text.strip();
        if (t.startsWith("[") && t.endsWith("]")) {
            t = t.substring(1, t.length() - 1);
        }
        if (!t.matches("[0-9.]+|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*")) {
            throw new IllegalArgumentException("httpAddress must be an IP address: " + text);
        }
        try {
            return InetAddress.getByName(t);
        } catch (IOException e) {
            throw new IllegalArgumentException("httpAddress must be an IP address: " + text, e);
        }
    }

    @Deactivate
    void deactivate() {
        if (endpoint != null) {
            endpoint.close();
        }
    }
}
