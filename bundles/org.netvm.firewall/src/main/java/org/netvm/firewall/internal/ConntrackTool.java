package org.netvm.firewall.internal;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.netvm.dataplane.IpAddress;
import org.netvm.util.ProcessRunner;
import org.netvm.util.SystemProcessRunner;

/**
 * {@link Conntrack} with the {@code conntrack} tool through the shared {@link ProcessRunner}: argument lists,
 * never a shell, a timeout, capped output; every word comes from a parsed address or a number. Missing tool: nothing is cut (logged).
 */
final class ConntrackTool implements Conntrack {
    private static final System.Logger LOG = System.getLogger(ConntrackTool.class.getName());
    private static final List<String> CANDIDATES = List.of("/usr/sbin/conntrack", "/sbin/conntrack", "/usr/bin/conntrack");

    private final List<String> prefix;
    private final String tool;
    private final ProcessRunner runner;

    /** @param prefix argv words before the tool (e.g. {@code ip netns exec NS} in tests), usually empty */
    ConntrackTool(List<String> prefix, String tool, long timeoutMillis) {
        this.prefix = List.copyOf(prefix);
        this.tool = tool == null || tool.isEmpty()
                ? CANDIDATES.stream().filter(p -> Files.isExecutable(Path.of(p))).findFirst().orElse(null) : tool;
        this.runner = new SystemProcessRunner(Duration.ofMillis(timeoutMillis));
    }

    @Override
    public List<Flow> flowsFrom(IpAddress source) {
        String out = run(List.of("-L", "-f", source.version() == 4 ? "ipv4" : "ipv6", "-s", source.text()));
        return out.lines().map(Flow::parse).filter(Objects::nonNull).toList();
    }

    @Override
    public void delete(Flow f) {
        List<String> args = new ArrayList<>(List.of("-D", "-s", f.source().text(), "-d", f.origDst().text(), "-p",
                f.protocol().keyword()));
        if (f.dport() > 0) {
            args.addAll(List.of("--dport", Integer.toString(f.dport())));
        }
        run(args);
    }

    private String run(List<String> args) {
        if (tool == null) {
            LOG.log(Level.WARNING, "conntrack tool not found: flows a new firewall rule forbids are not cut");
            return "";
        }
        List<String> cmd = new ArrayList<>(prefix);
        cmd.add(tool);
        cmd.addAll(args);
        try {
            return runner.run(cmd, "").stdout();
        } catch (IOException e) {
            LOG.log(Level.WARNING, "conntrack " + args.getFirst() + " failed: " + e.getMessage());
            return "";
        }
    }
}
