package org.netvm.firewall.internal;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.netvm.dataplane.IpAddress;

/**
 * {@link Conntrack} with the {@code conntrack} tool (as the vif bundle runs it): argument lists, never a
 * shell; every word comes from a parsed address or a number. Missing tool: nothing is cut (logged).
 */
final class ConntrackTool implements Conntrack {
    private static final System.Logger LOG = System.getLogger(ConntrackTool.class.getName());
    private static final List<String> CANDIDATES = List.of("/usr/sbin/conntrack", "/sbin/conntrack", "/usr/bin/conntrack");

    private final List<String> prefix;
    private final String tool;
    private final long timeoutMillis;

    /** @param prefix argv words before the tool (e.g. {@code ip netns exec NS} in tests), usually empty */
    ConntrackTool(List<String> prefix, String tool, long timeoutMillis) {
        this.prefix = List.copyOf(prefix);
        this.tool = tool == null || tool.isEmpty()
                ? CANDIDATES.stream().filter(p -> Files.isExecutable(Path.of(p))).findFirst().orElse(null) : tool;
        this.timeoutMillis = timeoutMillis;
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
            Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            p.getOutputStream().close();
            byte[] out = p.getInputStream().readNBytes(16 << 20);
            if (!p.waitFor(timeoutMillis, TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                LOG.log(Level.WARNING, "conntrack timed out: " + cmd);
                return "";
            }
            return new String(out, StandardCharsets.UTF_8);
        } catch (IOException e) {
            LOG.log(Level.WARNING, "conntrack could not be started: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return "";
    }
}
