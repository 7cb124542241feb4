package org.netvm.util;

import java.io.IOException;

/**
 * Tells the service manager how the agent is doing: systemd's notify protocol ({@code sd_notify(3)}),
 * one datagram of {@code KEY=VALUE} lines per call ({@code READY=1}, {@code STATUS=...},
 * {@code STOPPING=1}). The real one is {@link SystemdNotifier}; tests record.
 */
public interface ServiceNotifier {

    /** A notifier that sends nothing: not started by systemd, or not as {@code Type=notify}. */
    ServiceNotifier NONE = new ServiceNotifier() {
        @Override
        public boolean enabled() {
            return false;
        }

        @Override
        public void notify(String state) {
            // nobody listens
        }
    };

    /** Whether a service manager listens ({@code $NOTIFY_SOCKET} was set). */
    boolean enabled();

    /** Sends {@code state} (newline-separated {@code KEY=VALUE} assignments) as one message. */
    void notify(String state) throws IOException;

    /** The notifier for this process: {@link SystemdNotifier} on {@code $NOTIFY_SOCKET}, else {@link #NONE}. */
    static ServiceNotifier fromEnvironment() {
        String socket = System.getenv("NOTIFY_SOCKET");
        return socket == null || socket.isEmpty() ? NONE : new SystemdNotifier(socket);
    }
}
