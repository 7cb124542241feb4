package org.netvm.cli;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.Manifest;

import org.netvm.cli.config.ConfigEdit;
import org.netvm.cli.config.ConfigTool;
import org.netvm.cli.config.Json;
import org.netvm.cli.protocol.ControlProtocol;

/**
 * The client half of {@code distribution/bin/netvm}: sends its arguments to a running agent's control
 * socket and relays the answer. Plain Java, no OSGi: {@code java -cp netvm-cli.jar org.netvm.cli.NetvmCli ...}.
 *
 * <p>Some verbs are (partly) done here, without the agent: {@code config check} (needs no agent),
 * {@code backend use --permanent} (after the agent switched, writes the configuration file) and
 * {@code bundles install --permanent} (copies the jar to the deploy directory first): the agent's
 * unit cannot write /etc. The launcher gives the places as system properties: {@code netvm.lib} (the
 * runtimes' jars), {@code netvm.config.file} (the installed configuration), {@code netvm.bundles.dir}
 * (the deploy directory).
 */
public final class NetvmCli {

    /** Default control socket of a netvm agent. */
    public static final String DEFAULT_SOCKET = "/run/netvm/control.sock";

    private NetvmCli() {
    }

    public static void main(String[] argv) {
        List<String> args = new ArrayList<>(List.of(argv));
        String socket = System.getenv().getOrDefault("NETVM_CONTROL", DEFAULT_SOCKET);
        if (args.size() >= 2 && args.get(0).equals("--control")) {
            socket = args.get(1);
            args = args.subList(2, args.size());
        }
        if (args.isEmpty() || List.of("help", "--help", "-h").contains(args.get(0)) && args.size() == 1) {
            int agent = help(Path.of(socket), System.out);
            // `netvm --help` needs no agent; `netvm help` also tells whether the agent answers (scripts wait on it)
            System.exit(args.isEmpty() || args.get(0).equals("help") ? agent : 0);
        }
        if (args.equals(List.of("--version")) || args.equals(List.of("version"))) {
            System.out.println("netvm " + version());
            System.exit(0);
        }
        System.exit(dispatch(Path.of(socket), args, Local.fromSystem(), System.out, System.err));
    }

    /** Where the launcher's files are (null when unknown). */
    record Local(Path lib, Path configFile, Path bundlesDir) {
        static Local fromSystem() {
            return new Local(path("netvm.lib"), path("netvm.config.file"), path("netvm.bundles.dir"));
        }

        private static Path path(String property) {
            String v = System.getProperty(property);
            return v == null || v.isBlank() ? null : Path.of(v);
        }
    }

    static final String CONFIG_USAGE = """
            usage: netvm config check [--role netvm|guest|proxy] [FILE]
                                               check FILE (default: the role's installed configuration) against
                                               the metatype of the installed bundles; needs no agent
                   netvm config show           the running agent's effective values and where each came from""";

    /** Runs a command: locally when it needs no agent, else through the agent (with the local part around it). */
    static int dispatch(Path socket, List<String> args, Local local, PrintStream out, PrintStream err) {
        String verb = args.get(0);
        List<String> rest = args.subList(1, args.size());
        if (verb.equals("config") && (rest.isEmpty() || !rest.get(0).equals("show"))) {
            if (!rest.isEmpty() && rest.get(0).equals("check")) {
                return ConfigTool.check(rest.subList(1, rest.size()), ConfigTool.schemaJars(local.lib(), local.bundlesDir()),
                        local.configFile(), out, err);
            }
            boolean help = rest.size() == 1 && List.of("--help", "-h", "help").contains(rest.get(0));
            (help ? out : err).println(CONFIG_USAGE);
            return help ? 0 : 2;
        }
        if (verb.equals("backend") && rest.size() == 3 && rest.get(0).equals("use") && rest.get(1).equals("--permanent")) {
            return backendUsePermanent(socket, rest.get(2), local, out, err);
        }
        if (verb.equals("bundles") && !rest.isEmpty() && rest.get(0).equals("install") && rest.contains("--permanent")) {
            return bundlesInstallPermanent(socket, rest.subList(1, rest.size()), local, out, err);
        }
        return run(socket, args, out, err);
    }

    /** The agent switches (a runtime change); once it has, the configuration file is edited so the choice survives a restart. */
    static int backendUsePermanent(Path socket, String name, Local local, PrintStream out, PrintStream err) {
        if (local.configFile() == null || !Files.isRegularFile(local.configFile())) {
            err.println("netvm backend use --permanent: no configuration file to write (" + local.configFile() + ")");
            return 1;
        }
        int st = run(socket, List.of("backend", "use", "--permanent", name), out, err);
        if (st != 0) {
            err.println("netvm backend use --permanent: the configuration file is unchanged");
            return st;
        }
        Path file = local.configFile();
        try {
            String text = Files.readString(file);
            ConfigEdit.write(file.toRealPath(), ConfigEdit.setString(text, "org.netvm.dataplane", "backend", name));
            out.println("written to " + file + ": org.netvm.dataplane backend = " + name + " (kept across restarts)");
            return 0;
        } catch (Json.ParseException e) {
            err.println("netvm backend use --permanent: " + name + " is in charge now, but " + file + " is not valid JSON ("
                    + e.line() + ":" + e.column() + ": " + e.getMessage() + "); not written");
        } catch (IOException e) {
            err.println("netvm backend use --permanent: " + name + " is in charge now, but " + file + " was not written: "
                    + e.getMessage());
        }
        return 1;
    }

    /**
     * {@code bundles install --permanent [--start] FILE}: copies FILE into the deploy directory (installed
     * and started at every start of the agent), then has the agent install and start that copy now.
     */
    static int bundlesInstallPermanent(Path socket, List<String> args, Local local, PrintStream out, PrintStream err) {
        List<String> files = args.stream().filter(a -> !a.equals("--permanent") && !a.equals("--start")).toList();
        if (files.size() != 1) {
            err.println("usage: netvm bundles install --permanent FILE   (copies FILE to the deploy directory, "
                    + "installs and starts it)");
            return 2;
        }
        if (local.bundlesDir() == null) {
            err.println("netvm bundles install --permanent: no deploy directory known (set NETVM_BUNDLES_DIR)");
            return 2;
        }
        Path jar = Path.of(files.get(0)).toAbsolutePath().normalize();
        String name = jar.getFileName().toString();
        if (!name.endsWith(".jar") || !Files.isRegularFile(jar)) {
            err.println("netvm bundles install --permanent: not a jar file: " + jar);
            return 1;
        }
        Path dest = local.bundlesDir().resolve(name).toAbsolutePath().normalize();
        try {
            Files.createDirectories(local.bundlesDir());
            if (!dest.equals(jar)) {
                Path tmp = Files.createTempFile(local.bundlesDir(), "." + name, ".tmp");
                Files.copy(jar, tmp, StandardCopyOption.REPLACE_EXISTING);
                Files.move(tmp, dest, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            err.println("netvm bundles install --permanent: cannot copy " + jar + " to " + local.bundlesDir() + ": " + e);
            return 1;
        }
        out.println("copied to " + dest + " (installed and started at every start of the agent)");
        int st = run(socket, List.of("bundles", "install", "--start", dest.toString()), out, err);
        if (st == 3) {
            err.println("netvm bundles install --permanent: the agent will install it when it starts");
        }
        return st;
    }

    /** What the launcher itself does, without an agent. */
    static final String LOCAL_USAGE = """
            usage: netvm run [--role netvm|guest|proxy] [--xenstore auto|embedded[:PATH]|unix:PATH|xenbus]
                             [--domid N] [--control PATH]      start the agent in the foreground (netvm run --help)
                   netvm sandbox [--guests N] [--swaps N] [--chain] [--keep]
                                                                a netvm, guests and an upstream in namespaces, checked
                   netvm forwarding prestart [OPTIONS]          the agent unit's pre-start: IP forwarding off unless
                                                                netvm's rules are in force
                   netvm config check [FILE]                    check a configuration file; needs no agent
                   netvm --version                              the version of this netvm
                   netvm [--control PATH] COMMAND [ARGS...]     ask the running agent (commands below)
            exit status: 0 ok, 1 failed or degraded, 2 usage, 3 agent not reachable""";

    /**
     * {@code netvm help}: the launcher's own verbs, then the running agent's commands — or, when no
     * agent answers, a line saying so. Returns the agent's status (0, or 3 when it is not reachable).
     */
    static int help(Path socket, PrintStream out) {
        out.println(LOCAL_USAGE);
        out.println();
        ByteArrayOutputStream agentOut = new ByteArrayOutputStream();
        PrintStream capture = new PrintStream(agentOut, true, StandardCharsets.UTF_8);
        int st = run(socket, List.of("help"), capture, capture);
        if (st == 0) {
            String text = agentOut.toString(StandardCharsets.UTF_8);
            int start = text.indexOf("commands of the running agent:");
            out.print(start < 0 ? text : text.substring(start));
        } else {
            out.println("commands of the running agent: none reachable at " + socket
                    + " (start it with `netvm run`, or give --control PATH)");
        }
        return st;
    }

    /** Bundle-Version of this jar (the build's version), or "unknown". */
    static String version() {
        try (var in = NetvmCli.class.getResourceAsStream("/META-INF/MANIFEST.MF")) {
            if (in != null) {
                String v = new Manifest(in).getMainAttributes().getValue("Bundle-Version");
                if (v != null) {
                    return v;
                }
            }
        } catch (IOException e) {
            // unknown
        }
        return "unknown";
    }

    static int run(Path socket, List<String> args) {
        return run(socket, args, System.out, System.err);
    }

    static int run(Path socket, List<String> args, PrintStream out, PrintStream err) {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            ch.write(ByteBuffer.wrap(ControlProtocol.encodeRequest(args)));
            return ControlProtocol.relayResponse(Channels.newInputStream(ch), out, err);
        } catch (IOException e) {
            err.println("netvm: cannot reach the agent at " + socket + ": " + e.getMessage()
                    + " (is `netvm run` running? use --control PATH)");
            return 3;
        }
    }
}
