package org.netvm.util;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The notifier against a real AF_UNIX datagram socket, bound here as systemd binds its notify socket. */
class SystemdNotifierTest {

    @TempDir
    Path dir;

    @Test
    void sendsEachMessageAsOneDatagramToAPath() throws Throwable {
        Path path = dir.resolve("notify");
        try (Listener l = new Listener(path.toString())) {
            SystemdNotifier n = new SystemdNotifier(path.toString());
            assertTrue(n.enabled());
            n.notify("READY=1\nSTATUS=in-sync");
            n.notify("STOPPING=1");
            assertEquals("READY=1\nSTATUS=in-sync", l.receive());
            assertEquals("STOPPING=1", l.receive());
        }
    }

    @Test
    void sendsToAnAbstractAddress() throws Throwable {
        String name = "@netvm-notify-test-" + ProcessHandle.current().pid() + "-" + System.nanoTime();
        try (Listener l = new Listener(name)) {
            new SystemdNotifier(name).notify("READY=1");
            assertEquals("READY=1", l.receive());
        }
    }

    @Test
    void nobodyListeningIsAnIoExceptionAndBadAddressesAreRefused() {
        assertThrows(IOException.class, () -> new SystemdNotifier(dir.resolve("none").toString()).notify("READY=1"));
        assertThrows(IllegalArgumentException.class, () -> new SystemdNotifier("relative"));
        assertThrows(IllegalArgumentException.class, () -> new SystemdNotifier("/" + "x".repeat(200)));
        assertEquals(false, ServiceNotifier.NONE.enabled());
    }

    /** A bound AF_UNIX datagram socket (FFM: the JDK has none), read without blocking until a deadline. */
    static final class Listener implements AutoCloseable {
        private static final Linker L = Linker.nativeLinker();
        private static final MethodHandle SOCKET = find("socket", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
        private static final MethodHandle BIND = find("bind", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
        private static final MethodHandle RECV = find("recv", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
        private static final MethodHandle CLOSE = find("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
        private static final int MSG_DONTWAIT = 0x40;

        private final Arena arena = Arena.ofConfined();
        private final int fd;

        Listener(String address) throws Throwable {
            byte[] name = address.getBytes(StandardCharsets.UTF_8);
            boolean abstractName = name[0] == '@';
            if (abstractName) {
                name[0] = 0;
            }
            MemorySegment sa = arena.allocate(110);
            sa.set(JAVA_SHORT, 0, (short) 1);
            MemorySegment.copy(name, 0, sa, JAVA_BYTE, 2, name.length);
            fd = (int) SOCKET.invokeExact(1, 2, 0);
            assertTrue(fd >= 0, "socket");
            int rc = (int) BIND.invokeExact(fd, sa, 2 + name.length + (abstractName ? 0 : 1));
            assertEquals(0, rc, "bind " + address);
        }

        String receive() throws Throwable {
            MemorySegment buf = arena.allocate(4096);
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (System.nanoTime() < deadline) {
                long n = (long) RECV.invokeExact(fd, buf, 4096L, MSG_DONTWAIT);
                if (n >= 0) {
                    return new String(buf.asSlice(0, n).toArray(JAVA_BYTE), StandardCharsets.UTF_8);
                }
                Thread.sleep(5);
            }
            throw new AssertionError("no datagram within 5 s");
        }

        @Override
        public void close() {
            try {
                int ignored = (int) CLOSE.invokeExact(fd);
            } catch (Throwable t) {
                throw new AssertionError(t);
            } finally {
                arena.close();
            }
        }

        private static MethodHandle find(String name, FunctionDescriptor fd) {
            return L.downcallHandle(L.defaultLookup().find(name).orElseThrow(), fd);
        }
    }

}
