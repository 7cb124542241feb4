package org.netvm.dataplane.internal;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;

import org.netvm.util.ProcessRunner;
import org.osgi.service.log.Logger;

/**
 * The user's firewall scripts (Qubes: {@code qubes-firewall-user-script} and {@code qubes-firewall.d/}): after
 * each full apply ({@link FullApplyListener}), every executable regular file of a directory runs, in name
 * order, with the backend's name and netvm's table and user-owned chain names in its environment
 * ({@link #environment}). Argument vector only ({@code /usr/bin/env NAME=VALUE... SCRIPT}, no shell), each
 * with a timeout. They run on their own thread, never on the reconciler's: a failing or hanging script is
 * logged and changes nothing else. Full applies that come while scripts run are coalesced into one more run.
 * Names starting with {@code .} or containing {@code =} (which {@code env} would read as a variable) are
 * skipped.
 */
final class FirewallScripts implements FullApplyListener {

    /** Where the scripts are, how long each may run, and netvm's names for their environment. */
    record Setup(Path dir, Duration timeout, String nftablesTable, String iptablesChainPrefix) {
        Setup {
            Objects.requireNonNull(dir, "dir");
            if (timeout == null || timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("script timeout must be positive: " + timeout);
            }
        }

        static Setup of(DataplaneConfig c) {
            return new Setup(Path.of(c.scriptDir()), Duration.ofSeconds(Math.clamp(c.scriptTimeoutSeconds(), 1, 600)),
                    c.scriptNftablesTable(), c.scriptIptablesChainPrefix());
        }
    }

    static final String ENV = "/usr/bin/env";

    private final Function<Duration, ProcessRunner> runners;
    private final Executor worker;
    private final Logger log;
    private final AtomicReference<String> pending = new AtomicReference<>();
    private volatile Setup setup;

    /** {@code runners} makes a runner with the given timeout; {@code worker} runs one task at a time. */
    FirewallScripts(Setup setup, Function<Duration, ProcessRunner> runners, Executor worker, Logger log) {
        this.setup = Objects.requireNonNull(setup, "setup");
        this.runners = Objects.requireNonNull(runners, "runners");
        this.worker = Objects.requireNonNull(worker, "worker");
        this.log = Objects.requireNonNull(log, "log");
    }

    /** Stops the worker; a script under way is killed (its runner is interrupted). */
    void close() {
        if (worker instanceof java.util.concurrent.ExecutorService es) {
            es.shutdownNow();
        }
    }

    void configure(Setup s) {
        setup = Objects.requireNonNull(s, "setup");
    }

    @Override
    public void fullApplyDone(String backend) {
        if (pending.getAndSet(backend) == null) {
            worker.execute(this::runPending);
        }
    }

    private void runPending() {
        String backend = pending.getAndSet(null);
        if (backend != null) {
            runAll(backend);
        }
    }

    /** Runs every script of the directory once (worker thread). */
    void runAll(String backend) {
        Setup s = setup;
        List<Path> scripts;
        try {
            scripts = scripts(s.dir());
        } catch (IOException e) {
            log.warn("{}", "firewall scripts: cannot list " + s.dir() + ": " + e.getMessage());
            return;
        }
        if (scripts.isEmpty()) {
            return;
        }
        ProcessRunner runner = runners.apply(s.timeout());
        List<String> env = environment(backend, s);
        for (Path script : scripts) {
            if (Thread.currentThread().isInterrupted()) {
                return;
            }
            run(runner, env, script);
        }
    }

    private void run(ProcessRunner runner, List<String> env, Path script) {
        List<String> argv = new ArrayList<>();
        argv.add(ENV);
        argv.addAll(env);
        argv.add(script.toString());
        try {
            ProcessRunner.Result r = runner.run(argv, "");
            if (r.ok()) {
                log.info("{}", "firewall script " + script + " ran");
            } else {
                log.warn("{}", "firewall script " + script + " failed (exit " + r.exitCode() + "): "
                        + firstLine(r.stderr()));
            }
        } catch (IOException | RuntimeException e) {
            log.warn("{}", "firewall script " + script + " failed: " + e.getMessage());
        }
    }

    /** The executable regular files of {@code dir}, by name; none if it does not exist. */
    static List<Path> scripts(Path dir) throws IOException {
        List<Path> found = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path p : entries) {
                String name = p.getFileName().toString();
                if (!name.startsWith(".") && !name.contains("=") && Files.isRegularFile(p) && Files.isExecutable(p)) {
                    found.add(p.toAbsolutePath());
                }
            }
        } catch (NoSuchFileException e) {
            return List.of();
        }
        found.sort(null);
        return found;
    }

    /** {@code NAME=VALUE} for the scripts: the backend, its table and netvm's user-owned chains. */
    static List<String> environment(String backend, Setup s) {
        boolean ipt = backend.equals("iptables");
        String table = ipt ? "filter" : backend.equals("nftables") ? s.nftablesTable() : "";
        String prefix = ipt ? s.iptablesChainPrefix() : "";
        return List.of("NETVM_BACKEND=" + backend, "NETVM_TABLE=" + table,
                "NETVM_CUSTOM_INPUT=" + prefix + "custom-input", "NETVM_CUSTOM_FORWARD=" + prefix + "custom-forward");
    }

    private static String firstLine(String text) {
        String line = text.strip().lines().findFirst().orElse("");
        StringBuilder b = new StringBuilder();
        line.codePoints().limit(200).forEach(c -> b.appendCodePoint(c >= 0x20 && c != 0x7f ? c : '?'));
        return b.toString();
    }
}
