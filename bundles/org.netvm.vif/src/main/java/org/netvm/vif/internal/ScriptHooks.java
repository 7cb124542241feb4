package org.netvm.vif.internal;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.netvm.vif.VifHook;

/**
 * The built-in {@link VifHook} that runs the executables of a directory, as Qubes' vif-route-qubes
 * runs {@code /rw/config/network-hooks.d/*} (issue 11 #4): for each guest address (IPv4, then IPv6)
 * every executable is started with the arguments {@code COMMAND VIF TYPE ADDRESS} ({@code online} or
 * {@code offline}, {@code vifD.N}, {@code vif}, the address); a vif without an address would get
 * {@code COMMAND VIF TYPE}. Files are taken in name order; hidden files, directories and files that are
 * not executable are skipped.
 *
 * <p>No shell: argv only, a small fixed environment ({@code PATH}, {@code vif}), stdin closed,
 * stdout discarded. Each run is limited to {@code timeoutMillis} and killed after it; a script that
 * fails, times out or cannot be started is logged (WARNING, with its name and the first line it wrote
 * to stderr) and changes nothing else: the vif is programmed before and regardless (see
 * {@link VifHook}). Runs for one vif happen one after the other (the {@link HookRunner} orders them);
 * an interrupt (the hook time limit) kills the running script and skips the rest.
 */
final class ScriptHooks implements VifHook {
    private static final System.Logger LOG = System.getLogger(HookRunner.class.getName());
    private static final String PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    private final Path directory;
    private final long timeoutMillis;

    ScriptHooks(Path directory, long timeoutMillis) {
        this.directory = directory;
        this.timeoutMillis = timeoutMillis;
    }

    Path directory() {
        return directory;
    }

    @Override
    public void vifChanged(Event event) throws InterruptedException {
        List<Path> scripts = scripts();
        if (scripts.isEmpty()) {
            return;
        }
        List<List<String>> argvs = arguments(event);
        for (Path script : scripts) {
            for (List<String> args : argvs) {
                List<String> argv = new ArrayList<>();
                argv.add(script.toString());
                argv.addAll(args);
                run(script, argv, event.vif());
            }
        }
    }

    /** The argument lists after the script's path, one per address, as vif-route-qubes passes them. */
    static List<List<String>> arguments(Event e) {
        String command = e.action().name().toLowerCase(Locale.ROOT);
        List<List<String>> out = new ArrayList<>();
        for (String address : new String[] {e.ipv4(), e.ipv6()}) {
            if (address != null) {
                out.add(List.of(command, e.vif(), e.type(), address));
            }
        }
        if (out.isEmpty()) {
            out.add(List.of(command, e.vif(), e.type()));
        }
        return out;
    }

    /** The executables of the directory in name order (none if it does not exist). */
    List<Path> scripts() {
        List<Path> out = new ArrayList<>();
        try (DirectoryStream<Path> dir = Files.newDirectoryStream(directory)) {
            for (Path p : dir) {
                if (!p.getFileName().toString().startsWith(".") && Files.isRegularFile(p) && Files.isExecutable(p)) {
                    out.add(p);
                }
            }
        } catch (NoSuchFileException e) {
            return List.of();
        } catch (IOException e) {
            LOG.log(Level.WARNING, "cannot list network hooks in " + directory + ": " + e.getMessage());
            return List.of();
        }
        out.sort(null);
        return out;
    }

    private void run(Path script, List<String> argv, String vif) throws InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(argv).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        Map<String, String> env = pb.environment();
        env.clear();
        env.put("PATH", PATH);
        env.put("vif", vif);
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            LOG.log(Level.WARNING, "network hook " + script.getFileName() + " could not be started: " + e.getMessage());
            return;
        }
        try {
            if (!p.waitFor(timeoutMillis, TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                LOG.log(Level.WARNING, "network hook " + script.getFileName() + " " + argv.subList(1, argv.size())
                        + " did not finish within " + timeoutMillis + " ms: killed");
                return;
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            throw e;
        }
        if (p.exitValue() != 0) {
            String first = "";
            try {
                first = new String(p.getErrorStream().readNBytes(1024), StandardCharsets.UTF_8).lines().findFirst()
                        .orElse("");
            } catch (IOException e) {
                // nothing to add
            }
            LOG.log(Level.WARNING, "network hook " + script.getFileName() + " " + argv.subList(1, argv.size())
                    + " exited " + p.exitValue() + (first.isEmpty() ? "" : ": " + VifStatus.logText(first)));
        }
    }
}
