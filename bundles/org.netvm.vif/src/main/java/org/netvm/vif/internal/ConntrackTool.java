package org.netvm.vif.internal;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.netvm.kernel.IpPrefix;
import org.netvm.util.ProcessRunner;
import org.netvm.util.SystemProcessRunner;

/**
 * {@link Conntrack} with the {@code conntrack} tool, started with argument lists (addresses are
 * parsed {@link InetAddress}es, printed canonically). A purge first lists the table once per family
 * ({@code conntrack -L}) and then deletes ({@code -D -s} / {@code -D -d}) only for the addresses that
 * have entries, a few in parallel: 1 000 new guests cost one or two processes, not 2 000. If the
 * listing fails, every address is purged as before. A delete fails when the tool cannot be started,
 * times out, or ends other than with success or "0 flow entries have been deleted" (the check
 * vif-route-qubes makes): the purge then throws, naming the addresses. A missing tool is an error at
 * start (logged) and fails every purge: a new domain reusing an address must not inherit state.
 */
final class ConntrackTool implements Conntrack {
    private static final System.Logger LOG = System.getLogger(ConntrackTool.class.getName());
    private static final List<String> CANDIDATES = List.of("/usr/sbin/conntrack", "/sbin/conntrack", "/usr/bin/conntrack");

    private final List<String> prefix;
    private final String tool;
    private final ProcessRunner runner;
    private static final java.util.regex.Pattern DELETED = java.util.regex.Pattern.compile(
            "(?m)^conntrack v[0-9.]+ \\(conntrack-tools\\): [0-9]+ flow entries have been deleted\\.$");

    /**
     * @param prefix  argv words before the tool (e.g. {@code ip netns exec NS} in tests), usually empty
     * @param tool    the tool's path; empty to look in the usual places
     */
    ConntrackTool(List<String> prefix, String tool, long timeoutMillis) {
        this.prefix = List.copyOf(prefix);
        this.tool = tool == null || tool.isEmpty() ? find() : tool;
        this.runner = new SystemProcessRunner(java.time.Duration.ofMillis(timeoutMillis));
        missing().ifPresent(m -> LOG.log(Level.ERROR, m));
    }

    /** Why the tool cannot be used, empty when it can. */
    java.util.Optional<String> missing() {
        if (tool != null && Files.isExecutable(Path.of(tool))) {
            return java.util.Optional.empty();
        }
        return java.util.Optional.of("conntrack tool not found (" + (tool == null ? "looked for " + CANDIDATES : tool)
                + "): new vifs fail, stale connection state of a reused address cannot be purged;"
                + " install conntrack (conntrack-tools) or set conntrackPath");
    }

    private static String find() {
        return CANDIDATES.stream().filter(p -> Files.isExecutable(Path.of(p))).findFirst().orElse(null);
    }

    /** The argument lists run for one address. */
    List<List<String>> commands(InetAddress address) {
        String a = IpPrefix.text(address);
        List<List<String>> out = new ArrayList<>();
        for (String dir : List.of("-s", "-d")) {
            List<String> cmd = new ArrayList<>(prefix);
            cmd.addAll(List.of(tool == null ? "conntrack" : tool, "-D", dir, a));
            out.add(cmd);
        }
        return out;
    }

    @Override
    public java.util.concurrent.CompletableFuture<Void> start(Collection<InetAddress> addresses) {
        List<InetAddress> copy = List.copyOf(addresses);
        java.util.concurrent.CompletableFuture<Void> f = new java.util.concurrent.CompletableFuture<>();
        Thread.startVirtualThread(() -> {
            try {
                purge(copy);
                f.complete(null);
            } catch (PurgeException | RuntimeException e) {
                f.completeExceptionally(e);
            }
        });
        return f;
    }

    @Override
    public void purge(Collection<InetAddress> addresses) throws PurgeException {
        if (addresses.isEmpty()) {
            return;
        }
        java.util.Optional<String> missing = missing();
        if (missing.isPresent()) {
            throw new PurgeException(addresses, missing.get());
        }
        List<InetAddress> todo = withEntries(addresses);
        if (todo.isEmpty()) {
            return;
        }
        java.util.Map<InetAddress, String> failed = new java.util.concurrent.ConcurrentHashMap<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(Math.min(4, todo.size() * 2),
                Thread.ofVirtual().name("netvm-vif-conntrack").factory())) {
            List<Future<?>> jobs = new ArrayList<>();
            for (InetAddress a : todo) {
                for (List<String> cmd : commands(a)) {
                    jobs.add(pool.submit(() -> run(cmd).ifPresent(err -> failed.putIfAbsent(a, err))));
                }
            }
            for (Future<?> f : jobs) {
                try {
                    f.get();
                } catch (Exception e) {
                    throw new PurgeException(todo, "conntrack purge failed: " + e);
                }
            }
        }
        if (!failed.isEmpty()) {
            var first = failed.entrySet().iterator().next();
            throw new PurgeException(failed.keySet(), "conntrack purge of " + IpPrefix.text(first.getKey()) + " failed: "
                    + first.getValue());
        }
    }

    /** The addresses the table lists (all of them if it cannot be listed). */
    private List<InetAddress> withEntries(Collection<InetAddress> addresses) {
        java.util.Set<InetAddress> present = new java.util.HashSet<>();
        boolean listed = true;
        for (boolean v6 : new boolean[] {false, true}) {
            if (addresses.stream().anyMatch(a -> (a instanceof java.net.Inet6Address) == v6)) {
                java.util.Optional<String> table = list(v6);
                if (table.isEmpty()) {
                    listed = false;
                } else {
                    present.addAll(addressesIn(table.get()));
                }
            }
        }
        List<InetAddress> todo = new ArrayList<>();
        for (InetAddress a : addresses) {
            if (!listed || present.contains(a)) {
                todo.add(a);
            }
        }
        return todo;
    }

    /** {@code conntrack -L -f ipv4|ipv6}'s output, empty if it could not be listed. */
    private java.util.Optional<String> list(boolean v6) {
        List<String> cmd = new ArrayList<>(prefix);
        cmd.addAll(List.of(tool, "-L", "-f", v6 ? "ipv6" : "ipv4"));
        try {
            ProcessRunner.Result r = runner.run(cmd, "");
            return r.ok() ? java.util.Optional.of(r.stdout()) : java.util.Optional.empty();
        } catch (IOException e) {
            return java.util.Optional.empty();
        }
    }

    /** Every {@code src=} and {@code dst=} address in a {@code conntrack -L} listing. */
    static java.util.Set<InetAddress> addressesIn(String listing) {
        java.util.Set<InetAddress> out = new java.util.HashSet<>();
        for (String word : listing.split("\\s+")) {
            if (word.startsWith("src=") || word.startsWith("dst=")) {
                try {
                    out.add(IpPrefix.parseAddress(word.substring(4)));
                } catch (IllegalArgumentException e) {
                    // not an address: ignore
                }
            }
        }
        return out;
    }

    /** Runs one delete; empty on success (also "0 flow entries have been deleted"), else why it failed. */
    private java.util.Optional<String> run(List<String> cmd) {
        ProcessRunner.Result r;
        try {
            r = runner.run(cmd, ""); // stdout lists the deleted flows; the summary line is on stderr
        } catch (IOException e) {
            return java.util.Optional.of(e.getMessage()); // not started, timed out, or far too much output
        }
        String text = r.stderr().strip();
        if (r.ok() || DELETED.matcher(text).find()) {
            return java.util.Optional.empty();
        }
        return java.util.Optional.of("exit status " + r.exitCode() + (text.isEmpty() ? ""
                : ": " + VifStatus.logText(text.lines().findFirst().orElse(""))));
    }
}
