package org.netvm.backend.iptables.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** {@link CommandRunner} on {@link ProcessBuilder}: no shell, output drained on virtual threads, a timeout. */
public final class ProcessCommandRunner implements CommandRunner {
    private final Duration timeout;

    public ProcessCommandRunner(Duration timeout) {
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout must be positive: " + timeout);
        }
        this.timeout = timeout;
    }

    @Override
    public Result run(List<String> argv, String stdin) throws IOException {
        Process process = new ProcessBuilder(List.copyOf(argv)).start();
        Drain out = new Drain(process.getInputStream());
        Drain err = new Drain(process.getErrorStream());
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
            return new Result(process.exitValue(), out.text(), err.text());
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting for " + argv.getFirst(), e);
        }
    }

    /** Reads a stream to its end on a virtual thread. */
    private static final class Drain {
        private final Thread thread;
        private volatile byte[] bytes = new byte[0];
        private volatile IOException failure;

        Drain(InputStream stream) {
            thread = Thread.startVirtualThread(() -> {
                try (stream) {
                    bytes = stream.readAllBytes();
                } catch (IOException e) {
                    failure = e;
                }
            });
        }

        String text() throws IOException, InterruptedException {
            thread.join();
            if (failure != null) {
                throw failure;
            }
            return new String(bytes, StandardCharsets.UTF_8);
        }
    }
}
