package org.netvm.xenstore.server.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Locates the real-xenstore test harness (tests/harness/xenstored) and runs processes for tests. */
final class Harness {

    private Harness() {
    }

    record Result(int exit, String output) {
    }

    /** tests/harness/xenstored of this checkout, found from the module directory surefire runs in. */
    static Path dir() {
        Path p = Path.of("").toAbsolutePath();
        for (int i = 0; i < 4 && p != null; i++, p = p.getParent()) {
            Path h = p.resolve("tests/harness/xenstored");
            if (Files.isDirectory(h)) {
                return h;
            }
        }
        return null;
    }

    static boolean executable(String path) {
        return Files.isExecutable(Path.of(path));
    }

    /** Runs a command (argument list, no shell) with extra environment; stdout and stderr merged. */
    static Result run(List<String> command, java.util.Map<String, String> env, long timeoutSeconds)
            throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().putAll(env);
        Process p = pb.start();
        p.getOutputStream().close();
        byte[][] out = new byte[1][];
        Thread reader = Thread.ofVirtual().start(() -> {
            try {
                out[0] = p.getInputStream().readAllBytes();
            } catch (IOException e) {
                out[0] = new byte[0];
            }
        });
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            reader.join(2000);
            return new Result(-1, "timed out; " + (out[0] == null ? "" : new String(out[0], StandardCharsets.UTF_8)));
        }
        reader.join(5000);
        return new Result(p.exitValue(), out[0] == null ? "" : new String(out[0], StandardCharsets.UTF_8));
    }
}
