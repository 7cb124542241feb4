package org.netvm.control.internal;

import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

import org.netvm.control.ControlCommand;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.wiring.FrameworkWiring;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;

/**
 * {@code netvm bundles [install [--start] FILE | start ID | stop ID | uninstall ID]}: lists, installs
 * and removes bundles of the running agent, so an extension can be added and taken away without a
 * restart and without an interactive shell (the Gogo console is not interactive under systemd). The
 * control socket is root only, so this gives root nothing it did not have.
 *
 * <p>Bundles installed this way live in the framework's storage; the runtime cleans that storage at
 * every start ({@code org.osgi.framework.storage.clean=onFirstInit}), so they are gone after a restart.
 * What survives is the deploy directory ({@code /etc/netvm/bundles.d}, installed and started at every
 * start by {@code org.netvm.runtime}): {@code netvm bundles install --permanent FILE} has the CLI copy
 * FILE there (the agent's unit cannot write /etc), then asks this command to install and start the copy.
 */
@Component(service = ControlCommand.class, property = ControlCommand.NAME + "=bundles")
public final class BundlesCommand implements ControlCommand {

    static final String USAGE = """
            usage: netvm bundles [--json]                 (list: id, state, symbolic name, version)
                   netvm bundles install [--start] FILE   (FILE: absolute path of a bundle jar; prints its id;
                                                           gone after a restart)
                   netvm bundles install --permanent FILE (the CLI copies FILE to the deploy directory,
                                                           /etc/netvm/bundles.d, then installs and starts it)
                   netvm bundles start ID
                   netvm bundles stop ID
                   netvm bundles uninstall ID              (stops it, removes it and refreshes its wiring)""";

    /** One bundle as listed. */
    record Info(long id, String state, String symbolicName, String version, String location) {
    }

    /** The framework operations the command needs; a seam so that the command is tested with a fake. */
    interface Framework {
        List<Info> bundles();

        Optional<Info> bundle(long id);

        /** Installs {@code jar} under location {@code file:<jar>}; returns it (an existing one if that location is installed). */
        Info install(Path jar) throws Exception;

        void start(long id) throws Exception;

        void stop(long id) throws Exception;

        /** Uninstalls and refreshes the bundle's wiring so its classes can go. */
        void uninstall(long id) throws Exception;

        /** The bundles that must not be stopped or removed through this command (framework, this bundle). */
        boolean protectedBundle(long id);
    }

    private final Framework framework;

    @Activate
    public BundlesCommand(BundleContext context) {
        this(new OsgiFramework(context));
    }

    BundlesCommand(Framework framework) {
        this.framework = framework;
    }

    @Override
    public String summary() {
        return "list, install, start, stop and uninstall bundles (extensions) of the running agent";
    }

    @Override
    public int run(List<String> args, PrintStream out, PrintStream err) {
        if (args.isEmpty() || args.equals(List.of("list"))) {
            list(out);
            return 0;
        }
        if (args.equals(List.of("--json")) || args.equals(List.of("list", "--json"))) {
            out.print(json(framework.bundles()));
            return 0;
        }
        String verb = args.get(0);
        try {
            switch (verb) {
                case "install" -> {
                    return install(args.subList(1, args.size()), out, err);
                }
                case "start", "stop", "uninstall" -> {
                    if (args.size() != 2) {
                        return usage(err);
                    }
                    Optional<Long> id = parseId(args.get(1));
                    if (id.isEmpty()) {
                        err.println("netvm bundles: not a bundle id: " + quote(args.get(1)));
                        return 2;
                    }
                    Optional<Info> b = framework.bundle(id.get());
                    if (b.isEmpty()) {
                        err.println("netvm bundles: no bundle " + id.get());
                        return 1;
                    }
                    if (!verb.equals("start") && framework.protectedBundle(id.get())) {
                        err.println("netvm bundles: refusing to " + verb + " " + b.get().symbolicName()
                                + " (the framework or the control socket itself)");
                        return 1;
                    }
                    switch (verb) {
                        case "start" -> framework.start(id.get());
                        case "stop" -> framework.stop(id.get());
                        default -> framework.uninstall(id.get());
                    }
                    out.println(verb.equals("uninstall") ? "uninstalled " + id.get() + " " + b.get().symbolicName()
                            : framework.bundle(id.get()).map(BundlesCommand::line).orElse(""));
                    return 0;
                }
                default -> {
                    return usage(err);
                }
            }
        } catch (Exception e) {
            err.println("netvm bundles " + verb + ": " + message(e));
            return 1;
        }
    }

    private int install(List<String> args, PrintStream out, PrintStream err) throws Exception {
        boolean start = !args.isEmpty() && args.get(0).equals("--start");
        List<String> rest = start ? args.subList(1, args.size()) : args;
        if (rest.size() != 1) {
            return usage(err);
        }
        Path jar;
        try {
            jar = Path.of(rest.get(0));
        } catch (RuntimeException e) {
            err.println("netvm bundles install: bad path " + quote(rest.get(0)));
            return 2;
        }
        if (!jar.isAbsolute()) {
            err.println("netvm bundles install: give an absolute path (the agent does not share your working "
                    + "directory): " + quote(rest.get(0)));
            return 2;
        }
        if (!Files.isRegularFile(jar)) {
            err.println("netvm bundles install: no such file: " + jar);
            return 1;
        }
        Info b = framework.install(jar.normalize());
        if (start) {
            try {
                framework.start(b.id());
            } catch (Exception e) {
                err.println("netvm bundles install: installed as " + b.id() + " but not started: " + message(e));
                return 1;
            }
            b = framework.bundle(b.id()).orElse(b);
        }
        out.println(line(b));
        return 0;
    }

    private void list(PrintStream out) {
        out.printf("%4s  %-11s %s%n", "ID", "STATE", "BUNDLE");
        framework.bundles().stream().sorted(Comparator.comparingLong(Info::id)).forEach(b -> out.println(line(b)));
    }

    static String line(Info b) {
        return String.format("%4d  %-11s %s %s", b.id(), b.state(), b.symbolicName(), b.version());
    }

    private static int usage(PrintStream err) {
        err.println(USAGE);
        return 2;
    }

    private static Optional<Long> parseId(String s) {
        if (!s.matches("[0-9]{1,18}")) {
            return Optional.empty();
        }
        return Optional.of(Long.parseLong(s));
    }

    private static String message(Throwable e) {
        StringBuilder b = new StringBuilder(String.valueOf(e.getMessage()));
        for (Throwable c = e.getCause(); c != null && c != e; c = c.getCause()) {
            b.append(": ").append(c.getMessage());
        }
        return b.toString();
    }

    private static String quote(String s) {
        String t = s.length() > 200 ? s.substring(0, 200) + "..." : s;
        return "\"" + t.replaceAll("\\p{Cntrl}", "?") + "\"";
    }

    /** {@link Framework} over the real framework. */
    static final class OsgiFramework implements Framework {
        private final BundleContext context;

        OsgiFramework(BundleContext context) {
            this.context = context;
        }

        @Override
        public List<Info> bundles() {
            List<Info> out = new ArrayList<>();
            for (Bundle b : context.getBundles()) {
                out.add(info(b));
            }
            return out;
        }

        @Override
        public Optional<Info> bundle(long id) {
            return Optional.ofNullable(context.getBundle(id)).map(OsgiFramework::info);
        }

        @Override
        public Info install(Path jar) throws Exception {
            try (InputStream in = Files.newInputStream(jar)) {
                return info(context.installBundle(jar.toUri().toString(), in));
            }
        }

        @Override
        public void start(long id) throws BundleException {
            get(id).start();
        }

        @Override
        public void stop(long id) throws BundleException {
            get(id).stop();
        }

        @Override
        public void uninstall(long id) throws BundleException {
            Bundle b = get(id);
            b.uninstall();
            context.getBundle(0).adapt(FrameworkWiring.class).refreshBundles(List.of(b));
        }

        @Override
        public boolean protectedBundle(long id) {
            return id == 0 || id == context.getBundle().getBundleId();
        }

        private Bundle get(long id) throws BundleException {
            Bundle b = context.getBundle(id);
            if (b == null) {
                throw new BundleException("no bundle " + id);
            }
            return b;
        }

        private static Info info(Bundle b) {
            String name = b.getSymbolicName() == null ? "?" : b.getSymbolicName();
            return new Info(b.getBundleId(), state(b.getState()), name, b.getVersion().toString(), b.getLocation());
        }

        private static String state(int state) {
            return switch (state) {
                case Bundle.INSTALLED -> "INSTALLED";
                case Bundle.RESOLVED -> "RESOLVED";
                case Bundle.STARTING -> "STARTING";
                case Bundle.STOPPING -> "STOPPING";
                case Bundle.ACTIVE -> "ACTIVE";
                case Bundle.UNINSTALLED -> "UNINSTALLED";
                default -> "UNKNOWN";
            };
        }
    }

    /** {@code netvm bundles --json}: schema {@code netvm.bundles/1} (docs/cli-json.md). */
    static String json(List<Info> bundles) {
        jakarta.json.JsonArrayBuilder list = jakarta.json.Json.createArrayBuilder();
        for (Info b : bundles) {
            list.add(jakarta.json.Json.createObjectBuilder().add("id", b.id()).add("state", b.state().toLowerCase(java.util.Locale.ROOT))
                    .add("symbolicName", b.symbolicName() == null ? "" : b.symbolicName())
                    .add("version", b.version() == null ? "" : b.version())
                    .add("location", b.location() == null ? "" : b.location()));
        }
        var text = new java.io.StringWriter();
        try (var w = jakarta.json.Json.createWriterFactory(
                java.util.Map.of(jakarta.json.stream.JsonGenerator.PRETTY_PRINTING, true)).createWriter(text)) {
            w.write(jakarta.json.Json.createObjectBuilder().add("schema", "netvm.bundles/1").add("bundles", list).build());
        }
        return text.toString().strip() + "\n";
    }
}
