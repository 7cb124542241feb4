package org.netvm.xenstore.client.internal;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.Objects;

/** xenstored's Unix domain socket ({@code /var/run/xenstored/socket}); its clients count as dom0. */
public final class UnixSocketTransport implements Transport {

    private final Path path;

    public UnixSocketTransport(Path path) {
        this.path = Objects.requireNonNull(path, "path");
    }

    @Override
    public Connection connect() throws IOException {
        SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            channel.connect(UnixDomainSocketAddress.of(path));
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
        return PolledConnection.of(channel, channel, channel);
    }

    @Override
    public String name() {
        return "unix";
    }

    @Override
    public String address() {
        return path.toString();
    }
}
