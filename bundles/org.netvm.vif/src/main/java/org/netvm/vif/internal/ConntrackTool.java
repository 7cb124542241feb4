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
 * {@link Conntrack} with the {@code conntrack} tool: two processes per address, started with
 * argument lists (the address is a parsed {@link InetAddress}, printed canonically), a few in
 * parallel. When the tool is missing the purge is skipped and that is logged once.
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
        try (ExecutorService pool = Executors.newFixedThreadPool(Math.min(4, addresses.size() * 2),
                Thread.ofVirtual().name("netvm-vif-conntrack").factory())) {
            List<Future<?>> jobs = new ArrayList<>();
            for (InetAddress a : addresses) {
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
