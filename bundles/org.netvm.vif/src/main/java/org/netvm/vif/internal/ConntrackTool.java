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
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.netvm.kernel.IpPrefix;

/**
 * {@link Conntrack} with the {@code conntrack} tool, started with argument lists (addresses are
 * parsed {@link InetAddress}es, printed canonically). A purge first lists the table once per family
 * ({@code conntrack -L}) and then deletes ({@code -D -s} / {@code -D -d}) only for the addresses that
 * have entries, a few in parallel: 1 000 new guests cost one or two processes, not 2 000. If the
 * listing fails, every address is purged as before. When the tool is missing the purge is skipped
 * and that is logged once.
 */
final class ConntrackTool implements Conntrack {
    private static final System.Logger LOG = System.getLogger(ConntrackTool.class.getName());
    private static final List<String> CANDIDATES = List.of("/usr/sbin/conntrack", "/sbin/conntrack", "/usr/bin/conntrack");

    private final List<String> prefix;
    private final String tool;
    private final long timeoutMillis;
    private final AtomicBoolean missingLogged = new AtomicBoolean();

    /**
     * @param prefix  argv words before the tool (e.g. {@code ip netns exec NS} in tests), usually empty
     * @param tool    the tool's path; empty to look in the usual places
     */
    ConntrackTool(List<String> prefix, String tool, long timeoutMillis) {
        this.prefix = List.copyOf(prefix);
        this.tool = tool == null || tool.isEmpty() ? find() : tool;
        this.timeoutMillis = timeoutMillis;
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
        return java.util.concurrent.CompletableFuture.runAsync(() -> purge(copy), Thread::startVirtualThread);
    }

    @Override
    public void purge(Collection<InetAddress> addresses) {
        if (addresses.isEmpty()) {
            return;
        }
        if (tool == null || !Files.isExecutable(Path.of(tool))) {
            if (missingLogged.compareAndSet(false, true)) {
                LOG.log(Level.INFO, "conntrack tool not found: stale connection tracking entries of guests are not purged");
            }
            return;
        }
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
        if (todo.isEmpty()) {
            return;
        }
        try (ExecutorService pool = Executors.newFixedThreadPool(Math.min(4, todo.size() * 2),
                Thread.ofVirtual().name("netvm-vif-conntrack").factory())) {
            List<Future<?>> jobs = new ArrayList<>();
            for (InetAddress a : todo) {
                for (List<String> cmd : commands(a)) {
                    jobs.add(pool.submit(() -> run(cmd)));
                }
            }
            for (Future<?> f : jobs) {
                try {
                    f.get();
                } catch (Exception e) {
                    LOG.log(Level.WARNING, "conntrack purge failed: " + e);
                }
            }
        }
    }

    /** {@code conntrack -L -f ipv4|ipv6}'s output, empty if it could not be listed. */
    private java.util.Optional<String> list(boolean v6) {
        List<String> cmd = new ArrayList<>(prefix);
        cmd.addAll(List.of(tool, "-L", "-f", v6 ? "ipv6" : "ipv4"));
        try {
            Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.US_ASCII);
            if (!p.waitFor(timeoutMillis, TimeUnit.MILLISECONDS) || p.exitValue() != 0) {
                p.destroyForcibly();
                return java.util.Optional.empty();
            }
            return java.util.Optional.of(out);
        } catch (IOException e) {
            return java.util.Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
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

    private void run(List<String> cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start();
            p.getOutputStream().close();
            if (!p.waitFor(timeoutMillis, TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                LOG.log(Level.WARNING, "conntrack timed out: " + cmd);
                return;
            }
            // exit status 1 just means "0 flow entries deleted" for -D; nothing to report
            LOG.log(Level.DEBUG, () -> cmd + " exited " + p.exitValue());
        } catch (IOException e) {
            LOG.log(Level.WARNING, "conntrack could not be started: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
