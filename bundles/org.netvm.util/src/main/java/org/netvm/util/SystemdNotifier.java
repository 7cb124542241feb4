package org.netvm.util;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;

/**
 * systemd's notify socket spoken directly: an {@code AF_UNIX} datagram socket (which the JDK's channels
 * do not offer, hence three libc calls through FFM, {@link SocketCalls}: {@code socket}, {@code sendto}, {@code close}), one
 * datagram per message to {@code $NOTIFY_SOCKET}, a path or, starting with {@code @}, an abstract
 * address. A socket per message: messages are few (start, status changes, stop).
 */
public final class SystemdNotifier implements ServiceNotifier {

    private static final int AF_UNIX = 1;
    private static final int SOCK_DGRAM = 2;
    private static final int MSG_NOSIGNAL = 0x4000;
    private static final int SUN_PATH = 108;

    private final byte[] address;

    /** @param socket {@code $NOTIFY_SOCKET}: an absolute path, or {@code @name} for an abstract address */
    public SystemdNotifier(String socket) {
        byte[] name = socket.getBytes(StandardCharsets.UTF_8);
        if (name.length < 2 || name.length >= SUN_PATH || (name[0] != '/' && name[0] != '@')) {
            throw new IllegalArgumentException("NOTIFY_SOCKET is neither an absolute path nor @abstract: " + socket);
        }
        if (name[0] == '@') {
            name[0] = 0;
        }
        this.address = name;
    }

    @Override
    public boolean enabled() {
        return true;
    }

    @Override
    public void notify(String state) throws IOException {
        byte[] message = state.getBytes(StandardCharsets.UTF_8);
        try (Arena arena = Arena.ofConfined()) {
            // struct sockaddr_un: sa_family_t sun_family, char sun_path[108]; abstract names are not NUL-terminated
            MemorySegment sockaddr = arena.allocate(2 + SUN_PATH);
            sockaddr.set(JAVA_SHORT, 0, (short) AF_UNIX);
            MemorySegment.copy(address, 0, sockaddr, JAVA_BYTE, 2, address.length);
            int addrLen = 2 + address.length + (address[0] == 0 ? 0 : 1);
            MemorySegment buf = arena.allocateFrom(JAVA_BYTE, message);
            int fd = SocketCalls.socket(AF_UNIX, SOCK_DGRAM | SocketCalls.SOCK_CLOEXEC, 0);
            if (fd < 0) {
                throw new IOException("socket(AF_UNIX, SOCK_DGRAM): errno " + SocketCalls.errno());
            }
            try {
                long sent = SocketCalls.sendto(fd, buf, message.length, MSG_NOSIGNAL, sockaddr, addrLen);
                if (sent != message.length) {
                    throw new IOException("sendto NOTIFY_SOCKET: " + (sent < 0 ? "errno " + SocketCalls.errno()
                            : "short send " + sent));
                }
            } finally {
                SocketCalls.close(fd);
            }
        }
    }
}
