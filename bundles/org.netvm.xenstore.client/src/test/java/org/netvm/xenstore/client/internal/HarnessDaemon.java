package org.netvm.xenstore.client.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Starts and stops the real daemons of the test harness in {@code tests/harness/xenstored} (see its
 * README): {@code start-xenstored.sh SOCKET} / {@code start-oxenstored.sh SOCKET} print the daemon's pid.
 */
public final class HarnessDaemon {

    public static final String C_XENSTORED = "start-xenstored.sh";
    public static final String OXENSTORED = "start-oxenstored.sh";

    private HarnessDaemon() {
    }

    /** The harness folder, found from the module directory ({@code ../../tests/harness/xenstored}). */
    public static Path harness() {
        Path module = Path.of(System.getProperty("basedir", "")).toAbsolutePath();
        return module.resolve("../../tests/harness/xenstored").normalize();
    }

    /**
     * Runs {@code script SOCKET} (logs and state next to the socket) and returns the daemon's pid.
     *
     * @throws IOException when the harness is missing or the script fails (its stderr is in the message)
     */
    public static long start(String script, Path socket) throws IOException, InterruptedException {
        Path exe = harness().resolve(script);
        if (!Files.isExecutable(exe)) {
            throw new IOException("no harness script " + exe);
        }
        Path errors = Files.createTempFile(socket.getParent(), "start-", ".err");
        ProcessBuilder pb = new ProcessBuilder(List.of(exe.toString(), socket.toString()))
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                .redirectError(errors.toFile());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        if (!p.waitFor(600, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(script + " did not finish");
        }
        if (p.exitValue() != 0 || out.isEmpty()) {
            throw new IOException(script + " failed (" + p.exitValue() + "): " + Files.readString(errors));
        }
        String[] lines = out.split("\n");
        try {
            return Long.parseLong(lines[lines.length - 1].trim());
        } catch (NumberFormatException e) {
            throw new IOException(script + " printed no pid: " + out, e);
        }
    }

    /** Stops the daemon and waits until it is gone. */
    public static void stop(long pid) throws InterruptedException {
        Optional<ProcessHandle> h = ProcessHandle.of(pid);
        if (h.isEmpty()) {
            return;
        }
        h.get().destroy();
        try {
            h.get().onExit().get(10, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            h.get().destroyForcibly();
            try {
                h.get().onExit().get(5, TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e2) {
                throw new IllegalStateException("daemon " + pid + " does not die", e2);
            }
        }
    }
}
