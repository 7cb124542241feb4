package org.netvm.cli;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

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
        if (args.isEmpty()) {
            args = List.of("help");
        }
        System.exit(run(Path.of(socket), args));
    }

    static int run(Path socket, List<String> args) {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            ch.write(ByteBuffer.wrap(ControlProtocol.encodeRequest(args)));
            return ControlProtocol.relayResponse(Channels.newInputStream(ch), System.out, System.err);
        } catch (IOException e) {
            System.err.println("netvm: cannot reach the agent at " + socket + ": " + e.getMessage()
                    + " (is `netvm run` running? use --control PATH)");
            return 3;
        }
    }
}
