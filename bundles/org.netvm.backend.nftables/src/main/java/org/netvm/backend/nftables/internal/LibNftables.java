package org.netvm.backend.nftables.internal;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;

/**
 * {@link Nft} in-process through libnftables (the library {@code nft} itself uses), called with the
 * foreign function API: {@code nft_run_cmd_from_buffer} runs a command buffer as one transaction and
 * returns its status; output and errors are buffered in the context ({@code nft_ctx_buffer_output},
 * {@code nft_ctx_buffer_error}) and taken after each call (taking a buffer empties it). No process, no
 * probe line: a change costs the kernel round trip only, and nft's cache stays warm in the context.
 *
 * <p>One context, used by one platform thread that owns it: libnftables contexts are not thread-safe,
 * and the context's netlink socket belongs to the network namespace of the thread that creates it
 * (opened by {@code nft_ctx_new}). For a named namespace the thread first enters
 * {@code /var/run/netns/<name>} ({@code setns(CLONE_NEWNET)}) and never leaves it, so a socket the
 * library re-opens is in the same namespace. The context is freed on {@link #close}. A call that gets
 * no answer within the timeout is reported as unknown ({@link IOException}); the thread is not
 * interrupted (a native call cannot be).
 *
 * <p>The JVM needs {@code --enable-native-access=ALL-UNNAMED} (the launcher and {@code launch/*.bndrun}
 * pass it for the kernel seam already), else Java 25 warns on the first call.
 */
final class LibNftables implements Nft {
    static final String DEFAULT_LIBRARY = "libnftables.so.1";
    private static final Pattern LIBRARY = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.+/-]{0,200}");
    private static final Pattern NETNS = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}");
    // include/nftables/libnftables.h
    private static final int NFT_CTX_DEFAULT = 0;
    private static final int OUTPUT_JSON = 1 << 4;
    private static final int OUTPUT_NUMERIC_ALL = (1 << 7) | (1 << 8) | (1 << 9); // proto, prio, symbol

    private final String library;
    private final String netns;
    private final Duration timeout;
    private final ExecutorService thread;
    private final Calls calls;
    private MemorySegment ctx = MemorySegment.NULL; // touched on the owning thread only

    private LibNftables(String library, String netns, Duration timeout, Calls calls, ExecutorService thread) {
        this.library = library;
        this.netns = netns;
        this.timeout = timeout;
        this.calls = calls;
        this.thread = thread;
    }

    /**
     * Loads {@code library}, starts the owning thread (in {@code netns}, empty for the process's own
     * namespace) and creates the context there.
     *
     * @throws IOException if the library or one of its functions cannot be found, the namespace cannot
     *                     be entered or the context cannot be created
     */
    static LibNftables open(String library, String netns, Duration timeout) throws IOException {
        if (library == null || !LIBRARY.matcher(library).matches()) {
            throw new IllegalArgumentException("bad library name: " + library);
        }
        if (!netns.isEmpty() && !NETNS.matcher(netns).matches()) {
            throw new IllegalArgumentException("bad network namespace name: " + netns);
        }
        Calls calls;
        try {
            calls = new Calls(SymbolLookup.libraryLookup(library, Arena.global()));
        } catch (IllegalArgumentException | IllegalCallerException | java.util.NoSuchElementException e) {
            throw new IOException("cannot load " + library + ": " + e.getMessage(), e);
        }
        ExecutorService t = Executors.newSingleThreadExecutor(Thread.ofPlatform().daemon()
                .name("netvm-libnftables" + (netns.isEmpty() ? "" : "-" + netns)).factory());
        LibNftables nft = new LibNftables(library, netns, timeout, calls, t);
        try {
            nft.onThread(() -> {
                if (!netns.isEmpty()) {
                    org.netvm.util.NetnsEntry.enter(java.nio.file.Path.of("/var/run/netns", netns));
                }
                MemorySegment c = calls.ctxNew(NFT_CTX_DEFAULT);
                if (c.equals(MemorySegment.NULL)) {
                    throw new IOException("nft_ctx_new failed");
                }
                calls.bufferOutput(c);
                calls.bufferError(c);
                nft.ctx = c;
                return null;
            });
        } catch (IOException | RuntimeException e) {
            nft.close();
            throw e;
        }
        return nft;
    }

    @Override
    public Reply run(String commands, Output output) throws IOException {
        if (commands.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("NUL in nft commands");
        }
        return onThread(() -> {
            if (ctx.equals(MemorySegment.NULL)) {
                throw new IOException("libnftables context closed");
            }
            calls.setOutputFlags(ctx, output == Output.JSON ? OUTPUT_JSON | OUTPUT_NUMERIC_ALL : 0);
            int status;
            try (Arena a = Arena.ofConfined()) {
                status = calls.runCmdFromBuffer(ctx, a.allocateFrom(commands));
            }
            // always take both buffers: taking one empties it for the next call
            String out = calls.outputBuffer(ctx);
            String err = calls.errorBuffer(ctx);
            return new Reply(status == 0, out, err);
        });
    }

    @Override
    public String describe() {
        return "libnftables (" + library + ", in-process" + (netns.isEmpty() ? "" : ", netns " + netns) + ")";
    }

    @Override
    public void close() {
        try {
            thread.submit(() -> {
                if (!ctx.equals(MemorySegment.NULL)) {
                    calls.ctxFree(ctx);
                    ctx = MemorySegment.NULL;
                }
            });
        } catch (RejectedExecutionException e) {
            return; // closed before
        }
        thread.shutdown();
    }

    private <T> T onThread(Callable<T> call) throws IOException {
        Future<T> f;
        try {
            f = thread.submit(call);
        } catch (RejectedExecutionException e) {
            throw new IOException("libnftables context closed");
        }
        try {
            return f.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            throw new IOException("libnftables gave no answer within " + timeout);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting for libnftables", e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof IOException io) {
                throw io;
            }
            if (cause instanceof RuntimeException r) {
                throw r;
            }
            if (cause instanceof Error err) {
                throw err;
            }
            throw new IOException("libnftables call failed: " + cause, cause);
        }
    }

    /** The downcalls of libnftables' C API. */
    private static final class Calls {
        private final MethodHandle ctxNew;
        private final MethodHandle ctxFree;
        private final MethodHandle bufferOutput;
        private final MethodHandle bufferError;
        private final MethodHandle getOutput;
        private final MethodHandle getError;
        private final MethodHandle setOutputFlags;
        private final MethodHandle runCmd;

        Calls(SymbolLookup lib) {
            ctxNew = handle(lib, "nft_ctx_new", FunctionDescriptor.of(ADDRESS, JAVA_INT));
            ctxFree = handle(lib, "nft_ctx_free", FunctionDescriptor.ofVoid(ADDRESS));
            bufferOutput = handle(lib, "nft_ctx_buffer_output", FunctionDescriptor.of(JAVA_INT, ADDRESS));
            bufferError = handle(lib, "nft_ctx_buffer_error", FunctionDescriptor.of(JAVA_INT, ADDRESS));
            getOutput = handle(lib, "nft_ctx_get_output_buffer", FunctionDescriptor.of(ADDRESS, ADDRESS));
            getError = handle(lib, "nft_ctx_get_error_buffer", FunctionDescriptor.of(ADDRESS, ADDRESS));
            setOutputFlags = handle(lib, "nft_ctx_output_set_flags", FunctionDescriptor.ofVoid(ADDRESS, JAVA_INT));
            runCmd = handle(lib, "nft_run_cmd_from_buffer", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        }

        private static MethodHandle handle(SymbolLookup lib, String name, FunctionDescriptor fd) {
            return Linker.nativeLinker().downcallHandle(lib.find(name).orElseThrow(), fd);
        }

        MemorySegment ctxNew(int flags) throws IOException {
            try {
                return (MemorySegment) ctxNew.invokeExact(flags);
            } catch (Throwable t) {
                throw failed("nft_ctx_new", t);
            }
        }

        void ctxFree(MemorySegment ctx) {
            try {
                ctxFree.invokeExact(ctx);
            } catch (Throwable t) {
                throw new IllegalStateException("nft_ctx_free", t);
            }
        }

        void bufferOutput(MemorySegment ctx) throws IOException {
            check("nft_ctx_buffer_output", () -> (int) bufferOutput.invokeExact(ctx));
        }

        void bufferError(MemorySegment ctx) throws IOException {
            check("nft_ctx_buffer_error", () -> (int) bufferError.invokeExact(ctx));
        }

        void setOutputFlags(MemorySegment ctx, int flags) throws IOException {
            try {
                setOutputFlags.invokeExact(ctx, flags);
            } catch (Throwable t) {
                throw failed("nft_ctx_output_set_flags", t);
            }
        }

        int runCmdFromBuffer(MemorySegment ctx, MemorySegment buf) throws IOException {
            try {
                return (int) runCmd.invokeExact(ctx, buf);
            } catch (Throwable t) {
                throw failed("nft_run_cmd_from_buffer", t);
            }
        }

        String outputBuffer(MemorySegment ctx) throws IOException {
            try {
                return text((MemorySegment) getOutput.invokeExact(ctx));
            } catch (Throwable t) {
                throw failed("nft_ctx_get_output_buffer", t);
            }
        }

        String errorBuffer(MemorySegment ctx) throws IOException {
            try {
                return text((MemorySegment) getError.invokeExact(ctx));
            } catch (Throwable t) {
                throw failed("nft_ctx_get_error_buffer", t);
            }
        }

        /** A NUL-terminated C string the library owns, copied. */
        private static String text(MemorySegment s) {
            return s.equals(MemorySegment.NULL) ? "" : s.reinterpret(Long.MAX_VALUE).getString(0);
        }

        private interface IntCall {
            int call() throws Throwable;
        }

        private static void check(String what, IntCall c) throws IOException {
            int rc;
            try {
                rc = c.call();
            } catch (Throwable t) {
                throw failed(what, t);
            }
            if (rc != 0) {
                throw new IOException(what + " failed (" + rc + ")");
            }
        }

        private static IOException failed(String what, Throwable t) {
            if (t instanceof Error e) {
                throw e;
            }
            return new IOException(what + " failed: " + t, t);
        }
    }
}
