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
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.Manifest;

import org.netvm.cli.protocol.ControlProtocol;

/**
 * The client half of {@code distribution/bin/netvm}: sends its arguments to a running agent's control
 * socket and relays the answer. Plain Java, no OSGi: {@code java -cp netvm-cli.jar org.netvm.cli.NetvmCli ...}.
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
        System.exit(run(Path.of(socket), args));
    }

    /** What the launcher itself does, without an agent. */
    static final String LOCAL_USAGE = """
            usage: netvm run [--role netvm|guest|proxy] [--xenstore auto|embedded[:PATH]|unix:PATH|xenbus]
                             [--domid N] [--control PATH]      start the agent in the foreground (netvm run --help)
                   netvm sandbox [--guests N] [--swaps N] [--chain] [--keep]
                                                                a netvm, guests and an upstream in namespaces, checked
                   netvm forwarding prestart [OPTIONS]          the agent unit's pre-start: IP forwarding off unless
                                                                netvm's rules are in force
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
