package org.netvm.testing.netns;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Runs a command from an argument list (no shell) and collects its exit code, stdout and stderr. A
 * bare program name is looked up on the PATH and in the sbin directories (root's tools live there).
 */
public final class Command {
    /** How long a command may run unless the caller says otherwise. */
    public static final Duration TIMEOUT = Duration.ofSeconds(60);

    private Command() {
    }

    /** What a command did: exit code ({@code -1} when it could not start or timed out), stdout and stderr. */
    public record Result(int exitCode, String stdout, String stderr) {
        public boolean ok() {
            return exitCode == 0;
        }
    }

    /** Runs {@code argv} with no input and the default timeout. */
    public static Result run(String... argv) {
        return run(List.of(argv), "", TIMEOUT);
    }

    /** Runs {@code argv} with no input and the default timeout. */
    public static Result run(List<String> argv) {
        return run(argv, "", TIMEOUT);
    }

    /** Runs {@code argv} and returns its stdout; throws {@link IllegalStateException} when it fails. */
    public static String check(String... argv) {
        return check(List.of(argv));
    }

    /** Runs {@code argv} and returns its stdout; throws {@link IllegalStateException} when it fails. */
    public static String check(List<String> argv) {
        Result r = run(argv);
        if (!r.ok()) {
            throw new IllegalStateException(String.join(" ", argv) + " failed (" + r.exitCode() + "): "
                    + r.stderr().strip());
        }
        return r.stdout();
    }

    /**
     * Runs {@code argv} with {@code stdin} written to it; a command still running after {@code timeout}
     * is killed (with its children) and reported with exit code {@code -1}.
     */
    public static Result run(List<String> argv, String stdin, Duration timeout) {
        List<String> cmd = new ArrayList<>(argv);
        which(cmd.getFirst()).ifPresent(p -> cmd.set(0, p.toString()));
        Process p;
        try {
            p = new ProcessBuilder(cmd).start();
        } catch (IOException e) {
            return new Result(-1, "", e.toString());
        }
        CompletableFuture<String> out = drain(p.getInputStream());
        CompletableFuture<String> err = drain(p.getErrorStream());
        try (OutputStream in = p.getOutputStream()) {
            in.write(stdin.getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            // the command did not read its input; its exit code tells the rest
        }
        try {
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                return new Result(-1, "", "timeout after " + timeout + ": " + String.join(" ", argv));
            }
            // a child left running in the background may hold the pipes open: do not wait for it for ever
            return new Result(p.exitValue(), out.get(5, TimeUnit.SECONDS), err.get(5, TimeUnit.SECONDS));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            return new Result(-1, "", "interrupted");
        } catch (ExecutionException | TimeoutException e) {
            return new Result(-1, "", "output not collected: " + e);
        }
    }

    private static CompletableFuture<String> drain(InputStream s) {
        CompletableFuture<String> f = new CompletableFuture<>();
        Thread.ofVirtual().start(() -> {
            try (s) {
                f.complete(new String(s.readAllBytes(), StandardCharsets.UTF_8));
            } catch (IOException e) {
                f.completeExceptionally(new UncheckedIOException(e));
            }
        });
        return f;
    }

    /** The executable {@code tool} on the PATH or in the sbin/bin directories; a path is taken as is. */
    public static Optional<Path> which(String tool) {
        if (tool.contains("/")) {
            return Optional.of(Path.of(tool));
        }
        Set<String> dirs = new LinkedHashSet<>(List.of(System.getenv().getOrDefault("PATH", "").split(":")));
        dirs.addAll(List.of("/usr/sbin", "/sbin", "/usr/bin", "/bin"));
        return dirs.stream().filter(d -> !d.isEmpty()).map(d -> Path.of(d, tool))
                .filter(Files::isExecutable).findFirst();
    }
}
