package org.netvm.xenstore.server.internal;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/** A listening Unix socket whose clients are all one domain (0 = privileged main socket). */
final class SocketServer implements AutoCloseable {

    private final Path path;
    private final int domid;
    private final XenstoredCore core;
    private final ServerSocketChannel server;
    private final AtomicInteger counter = new AtomicInteger();
    private final Set<SocketConnection> connections = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    SocketServer(Path path, String mode, int domid, XenstoredCore core) throws IOException {
        this.path = path;
        this.domid = domid;
        this.core = core;
        Path dir = path.toAbsolutePath().getParent();
        if (dir != null) {
            Files.createDirectories(dir);
        }
        if (Files.exists(path, LinkOption.NOFOLLOW_LINKS) && !Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) {
            Files.delete(path); // a stale socket from an earlier run, as xenstored unlinks it
        }
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            server.bind(UnixDomainSocketAddress.of(path));
            if (mode != null && !mode.isEmpty()) {
                Files.setPosixFilePermissions(path, permissions(Integer.parseInt(mode, 8)));
            }
        } catch (IOException | RuntimeException e) {
            server.close();
            Files.deleteIfExists(path);
            throw e;
        }
        (domid == 0 ? Thread.ofPlatform().daemon() : Thread.ofVirtual()).name("xenstored-accept-dom" + domid)
                .start(this::acceptLoop);
    }

    static Set<PosixFilePermission> permissions(int mode) {
        Set<PosixFilePermission> set = EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] order = {
            PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_READ,
            PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_READ,
            PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_READ};
        for (int bit = 0; bit < order.length; bit++) {
            if ((mode & (1 << bit)) != 0) {
                set.add(order[bit]);
            }
        }
        return set;
    }

    Path path() {
        return path;
    }

    private void acceptLoop() {
        while (!closed) {
            SocketChannel ch;
            try {
                ch = server.accept();
            } catch (IOException e) {
                break;
            }
            SocketConnection c = new SocketConnection(ch, core, domid, connections::remove);
            connections.add(c);
            if (!c.start("xenstored-dom" + domid + "-" + counter.incrementAndGet()) || closed) {
                c.close();
                connections.remove(c);
            }
        }
    }

    /** Stops accepting, removes the socket file and drops every client. Does not wait for threads. */
    @Override
    public void close() {
        closed = true;
        try {
            server.close();
        } catch (IOException e) {
            // nothing to do
        }
        try {
            Files.deleteIfExists(path);
        } catch (IOException e) {
            // nothing to do
        }
        for (SocketConnection c : java.util.List.copyOf(connections)) {
            c.close();
        }
    }
}
