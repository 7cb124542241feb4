package org.netvm.backend.iptables.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/** A throwaway network namespace for kernel tests; deleted by {@link #close()}. */
final class Netns implements AutoCloseable {
    static final CommandRunner RUNNER = new ProcessCommandRunner(Duration.ofSeconds(60));

    final String name;

    private Netns(String name) {
        this.name = name;
    }

    /** Whether we are root and have the tools; kernel tests skip otherwise. */
    static boolean usable(String... tools) {
        try {
            boolean root = Files.readAllLines(Path.of("/proc/self/status")).stream()
                    .anyMatch(l -> l.startsWith("Uid:") && l.split("\\s+")[1].equals("0"));
            if (!root) {
                return false;
            }
            for (String t : tools) {
                if (!onPath(t)) {
                    return false;
                }
            }
            return onPath("ip");
        } catch (IOException e) {
            return false;
        }
    }

    private static boolean onPath(String tool) {
        List<String> dirs = new ArrayList<>(List.of(System.getenv().getOrDefault("PATH", "").split(":")));
        dirs.addAll(List.of("/usr/sbin", "/sbin", "/usr/bin", "/bin"));
        return dirs.stream().anyMatch(d -> !d.isEmpty() && Files.isExecutable(Path.of(d, tool)));
    }

    static Netns create(String tag) throws IOException {
        String name = "netvmtest-ipt-" + tag + "-" + Integer.toHexString(ThreadLocalRandom.current().nextInt(1 << 24));
        CommandRunner.Result r = RUNNER.run(List.of("ip", "netns", "add", name), "");
        if (!r.ok()) {
            throw new IOException("ip netns add " + name + ": " + r.stderr());
        }
        Netns ns = new Netns(name);
        ns.must("ip", "link", "set", "lo", "up");
        return ns;
    }

    /** Runs {@code argv} inside the namespace. */
    CommandRunner.Result exec(String... argv) throws IOException {
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", name));
        full.addAll(List.of(argv));
        return RUNNER.run(full, "");
    }

    /** Runs {@code argv} inside the namespace and fails if it fails. */
    String must(String... argv) throws IOException {
        CommandRunner.Result r = exec(argv);
        if (!r.ok()) {
            throw new IOException(String.join(" ", argv) + " failed in " + name + ": " + r.stderr());
        }
        return r.stdout();
    }

    @Override
    public void close() throws IOException {
        RUNNER.run(List.of("ip", "netns", "del", name), "");
    }
}
