package org.netvm.runtime.internal;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.function.IntConsumer;

import org.netvm.cli.config.ConfigCheck;
import org.netvm.cli.config.ConfigTool;
import org.netvm.cli.config.Metatype;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleActivator;
import org.osgi.framework.BundleContext;
import org.osgi.framework.startlevel.BundleStartLevel;

/**
 * The runtime's start, before any component of netvm runs (this bundle starts at level 3, everything
 * else at levels 8 to 10, see launch/netvm.bndrun; Config Admin and the Configurator at level 2 have
 * read the file already):
 * <ol>
 * <li>the deploy directory ({@code netvm.bundles.dir}, {@code /etc/netvm/bundles.d} when installed):
 * every {@code *.jar} in it is installed and marked started, like Karaf's {@code deploy/}. This is
 * what makes an extension permanent: {@code bin/netvm} keeps the framework's bundle cache only while
 * the deploy directory holds the same jars (its key, see {@link BundleCache}), and a bundle installed
 * from a jar that is gone is uninstalled here all the same;</li>
 * <li>once every bundle is installed, the bundle cache is marked complete ({@link BundleCache#stamp});</li>
 * <li>the configuration file ({@code netvm.config.file}) is checked against the metatype of every
 * installed bundle, extensions included, with the same checker as {@code netvm config check}. A file
 * with a problem stops the start: the problems are printed, one line each, and the JVM exits with 78
 * (EX_CONFIG, "status=78/CONFIG" in systemd). Refusing is the fail-closed choice: running on built-in
 * defaults instead could drop what the operator asked for (a firewall switched on, another backend),
 * while a refused start changes nothing: the kernel keeps the previous run's ruleset and IP
 * forwarding stays as the unit's pre-start decided. Nothing has started yet that would need a
 * clean stop, so the exit is immediate.</li>
 * </ol>
 */
public final class Boot implements BundleActivator {

    /** Exit status of a refused start: sysexits' EX_CONFIG. */
    static final int EX_CONFIG = 78;

    private final PrintStream out;
    private final IntConsumer exit;

    public Boot() {
        this(System.out, status -> {
            System.out.flush();
            System.err.flush();
            Runtime.getRuntime().halt(status);
        });
    }

    Boot(PrintStream out, IntConsumer exit) {
        this.out = out;
        this.exit = exit;
    }

    @Override
    public void start(BundleContext context) {
        String dir = context.getProperty("netvm.bundles.dir");
        if (dir != null && !dir.isBlank()) {
            deploy(context, Path.of(dir));
        }
        BundleCache.stamp(context, out);
        String file = context.getProperty("netvm.config.file");
        if (file != null && !file.isBlank()) {
            List<String> problems = check(Path.of(file), metatype(context));
            if (!problems.isEmpty()) {
                problems.forEach(out::println);
                out.println("netvm: not starting: " + problems.size() + (problems.size() == 1 ? " problem" : " problems")
                        + " in " + file + "; the kernel keeps the last ruleset. Fix the file (check it with: netvm config "
                        + "check), then start again");
                exit.accept(EX_CONFIG);
            }
        }
    }

    @Override
    public void stop(BundleContext context) {
        // nothing to undo
    }

    /** Installs every jar of the deploy directory and marks it started (it starts with netvm's bundles). */
    void deploy(BundleContext context, Path dir) {
        int level = 1;
        for (Bundle b : context.getBundles()) {
            BundleStartLevel sl = b.adapt(BundleStartLevel.class);
            level = Math.max(level, sl == null ? 1 : sl.getStartLevel());
        }
        List<Path> jars = ConfigTool.deployJars(dir);
        BundleCache.removeGone(context, jars, out);
        for (Path jar : jars) {
            try {
                Bundle b = context.installBundle(jar.toUri().toString());
                BundleStartLevel sl = b.adapt(BundleStartLevel.class);
                if (sl != null) {
                    sl.setStartLevel(level);
                }
                b.start();
                out.println("netvm: deploy directory: " + jar.getFileName() + " installed as " + b.getBundleId() + " ("
                        + b.getSymbolicName() + " " + b.getVersion() + ")");
            } catch (Exception e) {
                out.println("netvm: deploy directory: " + jar + " not installed: " + e.getMessage());
            }
        }
    }

    /** The metatype documents of every installed bundle, read from the jars' entries (nothing is resolved). */
    static Metatype metatype(BundleContext context) {
        Metatype m = new Metatype();
        for (Bundle b : context.getBundles()) {
            var paths = b.getEntryPaths("OSGI-INF/metatype/");
            if (paths == null) {
                continue;
            }
            m.countBundle();
            for (String p : Collections.list(paths)) {
                if (!p.endsWith(".xml")) {
                    continue;
                }
                try (var in = b.getEntry(p).openStream()) {
                    m.addXml(in.readAllBytes(), b.getSymbolicName());
                } catch (IOException e) {
                    // an unreadable document: its PIDs are then reported as unknown
                }
            }
        }
        return m;
    }

    /**
     * The problems of the file, formatted as {@code netvm config check} prints them; none when it is
     * fine. Records the file's values for {@code netvm config show}.
     */
    static List<String> check(Path file, Metatype metatype) {
        List<String> lines = new ArrayList<>();
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            lines.add(file + ":1:1: cannot read the file: " + e.getMessage());
            return lines;
        }
        ConfigCheck.Result r = ConfigCheck.check(text, metatype);
        StartValues.file(r.values());
        for (ConfigCheck.Problem p : r.problems()) {
            lines.add(p.format(file.toString()));
        }
        return lines;
    }
}
