package org.netvm.util;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The real {@link ProcessRunner}: {@link ProcessBuilder} (no shell), stdin written and closed, stdout
 * and stderr drained on virtual threads up to a limit each (more fails the run: a table listing is
 * never silently cut), and a timeout after which the process is killed.
 */
public final class SystemProcessRunner implements ProcessRunner {
    /** Default limits: a full listing of 10 000 guests' sets is a few MiB. */
    public static final int MAX_STDOUT = 256 << 20;
    public static final int MAX_STDERR = 1 << 20;

    private final Duration timeout;
    private final int maxStdout;
    private final int maxStderr;

    public SystemProcessRunner(Duration timeout) {
        this(timeout, MAX_STDOUT, MAX_STDERR);
    }

    public SystemProcessRunner(Duration timeout, int maxStdout, int maxStderr) {
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout must be positive: " + timeout);
        }
        if (maxStdout <= 0 || maxStderr <= 0) {
            throw new IllegalArgumentException("output limits must be positive");
        }
        this.timeout = timeout;
        this.maxStdout = maxStdout;
        this.maxStderr = maxStderr;
    }

    @Override
    public Result run(List<String> argv, String stdin) throws IOException {
        Process process = new ProcessBuilder(List.copyOf(argv)).start();
        Drain out = new Drain(process.getInputStream(), maxStdout);
        Drain err = new Drain(process.getErrorStream(), maxStderr);
        try (OutputStream in = process.getOutputStream()) {
            in.write(stdin.getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            // the program stopped reading early (e.g. a parse error); its exit status says why
        }
        try {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                throw new IOException(argv.getFirst() + " did not finish within " + timeout);
            }
            String stdout = out.text(argv.getFirst() + " standard output");
            String stderr = err.text(argv.getFirst() + " standard error");
            return new Result(process.exitValue(), stdout, stderr);
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting for " + argv.getFirst(), e);
        }
    }

    /** Reads a stream to its end (keeping at most {@code max} bytes) on a virtual thread. */
    private static final class Drain {
        private final Thread thread;
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        private volatile boolean overflow;
        private volatile IOException failure;

        Drain(InputStream stream, int max) {
            thread = Thread.startVirtualThread(() -> {
                byte[] buf = new byte[8192];
                try (stream) {
                    for (int n; (n = stream.read(buf)) >= 0;) {
                        if (bytes.size() + n > max) {
                            overflow = true; // keep reading so the process is not blocked on a full pipe
                        } else {
                            bytes.write(buf, 0, n);
                        }
                    }
                } catch (IOException e) {
                    failure = e;
                }
            });
        }

        String text(String what) throws IOException, InterruptedException {
            thread.join();
            if (failure != null) {
                throw failure;
            }
            if (overflow) {
                throw new IOException(what + " is larger than the limit");
            }
            return bytes.toString(StandardCharsets.UTF_8);
        }
    }
}
