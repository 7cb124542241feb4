package org.netvm.xenstore.client.internal;

import java.nio.file.Path;
import java.time.Duration;
import java.util.function.UnaryOperator;

/**
 * The component configuration, resolved: which transport, which address, which timings.
 *
 * <p>An empty path means the default: for {@code unix} the environment variable {@code XENSTORED_PATH}
 * (as libxenstore reads it), else {@value #DEFAULT_SOCKET}; for {@code xenbus} {@value #DEFAULT_XENBUS}.
 */
record ClientSettings(String transport, Path address, ClientOptions options) {

    static final String DEFAULT_SOCKET = "/var/run/xenstored/socket";
    static final String DEFAULT_XENBUS = "/dev/xen/xenbus";

    static ClientSettings resolve(String transport, String path, long reconnectInitialMs, long reconnectMaxMs,
            long requestTimeoutMs, UnaryOperator<String> env) {
        String t = transport == null ? "unix" : transport.trim();
        String p = path == null ? "" : path.trim();
        if (p.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("path contains NUL");
        }
        Path address = switch (t) {
            case "unix" -> {
                if (p.isEmpty()) {
                    String fromEnv = env.apply("XENSTORED_PATH");
                    p = fromEnv == null || fromEnv.isBlank() ? DEFAULT_SOCKET : fromEnv;
                }
                yield Path.of(p);
            }
            case "xenbus" -> Path.of(p.isEmpty() ? DEFAULT_XENBUS : p);
            default -> throw new IllegalArgumentException("unknown xenstore transport '" + t + "' (unix or xenbus)");
        };
        ClientOptions options = new ClientOptions(Duration.ofMillis(reconnectInitialMs), Duration.ofMillis(reconnectMaxMs),
                Duration.ofMillis(requestTimeoutMs));
        return new ClientSettings(t, address, options);
    }

    Transport newTransport() {
        return "xenbus".equals(transport) ? new XenbusTransport(address) : new UnixSocketTransport(address);
    }
}
