package org.netvm.util;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.charset.StandardCharsets;

/**
 * systemd's notify socket spoken directly: an {@code AF_UNIX} datagram socket (which the JDK's channels
 * do not offer, hence three libc calls through FFM: {@code socket}, {@code sendto}, {@code close}), one
 * datagram per message to {@code $NOTIFY_SOCKET}, a path or, starting with {@code @}, an abstract
 * address. A socket per message: messages are few (start, status changes, stop).
 */
public final class SystemdNotifier implements ServiceNotifier {

    private static final int AF_UNIX = 1;
    private static final int SOCK_DGRAM = 2;
    private static final int SOCK_CLOEXEC = 0x80000;
    private static final int MSG_NOSIGNAL = 0x4000;
    private static final int SUN_PATH = 108;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final MethodHandle SOCKET = handle("socket", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle SENDTO =
            handle("sendto", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle CLOSE = handle("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));

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
            MemorySegment errno = arena.allocate(CAPTURE);
            // struct sockaddr_un: sa_family_t sun_family, char sun_path[108]; abstract names are not NUL-terminated
            MemorySegment sockaddr = arena.allocate(2 + SUN_PATH);
            sockaddr.set(JAVA_SHORT, 0, (short) AF_UNIX);
            MemorySegment.copy(address, 0, sockaddr, JAVA_BYTE, 2, address.length);
            int addrLen = 2 + address.length + (address[0] == 0 ? 0 : 1);
            MemorySegment buf = arena.allocateFrom(JAVA_BYTE, message);
            int fd = (int) SOCKET.invokeExact(errno, AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
            if (fd < 0) {
                throw new IOException("socket(AF_UNIX, SOCK_DGRAM): errno " + (int) ERRNO.get(errno, 0L));
            }
            try {
                long sent = (long) SENDTO.invokeExact(errno, fd, buf, (long) message.length, MSG_NOSIGNAL, sockaddr,
                        addrLen);
                if (sent != message.length) {
                    throw new IOException("sendto NOTIFY_SOCKET: " + (sent < 0 ? "errno " + (int) ERRNO.get(errno, 0L)
                            : "short send " + sent));
                }
            } finally {
                int ignored = (int) CLOSE.invokeExact(errno, fd);
            }
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException(t);
        }
    }

    private static MethodHandle handle(String name, FunctionDescriptor fd) {
        return LINKER.downcallHandle(LINKER.defaultLookup().find(name).orElseThrow(() -> new UnsatisfiedLinkError(name)),
                fd, Linker.Option.captureCallState("errno"));
    }
}
