package org.netvm.util;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.file.Path;

/**
 * Moves the calling thread into a network namespace for good ({@code open} + {@code setns(fd,
 * CLONE_NEWNET)}, Java FFM). The other threads of the process keep their namespace; a socket or a
 * {@code /proc/sys/net} file opened by this thread afterwards belongs to the new one. Used by the
 * kernel seam's namespace thread and the nftables backend's libnftables thread.
 */
public final class NetnsEntry {
    private static final int O_RDONLY = 0;
    private static final int O_CLOEXEC = 0x80000;
    private static final int CLONE_NEWNET = 0x40000000;
    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    // open(2) is variadic: the mode is its first variadic argument
    private static final MethodHandle OPEN = LINKER.downcallHandle(LINKER.defaultLookup().find("open").orElseThrow(),
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), Linker.Option.firstVariadicArg(2),
            Linker.Option.captureCallState("errno"));
    private static final MethodHandle SETNS = LINKER.downcallHandle(LINKER.defaultLookup().find("setns").orElseThrow(),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT), Linker.Option.captureCallState("errno"));
    private static final MethodHandle CLOSE = LINKER.downcallHandle(LINKER.defaultLookup().find("close").orElseThrow(),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT));

    private NetnsEntry() {
    }

    /** A failed {@code open} or {@code setns}, with the call ({@code what}) and its errno. */
    public static final class Failure extends IOException {
        private static final long serialVersionUID = 1L;
        private final String what;
        private final int errno;

        Failure(String what, int errno) {
            super(what + " failed, errno " + errno);
            this.what = what;
            this.errno = errno;
        }

        public String what() {
            return what;
        }

        public int errno() {
            return errno;
        }
    }

    /** Enters the namespace {@code nsFile} (e.g. {@code /var/run/netns/<name>}); errors name the errno. */
    public static void enter(Path nsFile) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment state = a.allocate(CAPTURE);
            int fd = (int) OPEN.invokeExact(state, a.allocateFrom(nsFile.toString()), O_RDONLY | O_CLOEXEC, 0);
            if (fd < 0) {
                throw new Failure("open(" + nsFile + ")", (int) ERRNO.get(state, 0L));
            }
            try {
                if ((int) SETNS.invokeExact(state, fd, CLONE_NEWNET) != 0) {
                    throw new Failure("setns(" + nsFile + ", CLONE_NEWNET)", (int) ERRNO.get(state, 0L));
                }
            } finally {
                int ignored = (int) CLOSE.invokeExact(fd);
            }
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException("setns: " + t, t);
        }
    }
}
