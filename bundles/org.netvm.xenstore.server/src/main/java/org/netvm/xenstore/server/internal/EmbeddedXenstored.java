package org.netvm.xenstore.server.internal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * An embedded xenstored: an in-memory store behind the xenstore wire protocol on a Unix socket,
 * behaving like C xenstored 4.17 towards its clients. The main socket is privileged (dom0). With a
 * domain-socket directory, every introduced domain D gets {@code <dir>/domain-<D>.sock} whose
 * clients are domain D (relative paths under {@code /local/domain/D}, permissions and quotas enforced).
 *
 * <pre>{@code
 * try (EmbeddedXenstored xs = EmbeddedXenstored.start(Path.of("/run/xenstored/socket"),
 *         Options.defaults().withDomainSocketDir(Path.of("/run/xenstored/domains")))) {
 *     xs.introduce(5);   // fires @introduceDomain, creates domain-5.sock
 * }
 * }</pre>
 */
public final class EmbeddedXenstored implements AutoCloseable {

    private final Options options;
    private final XenstoredCore core;
    private final Map<Integer, SocketServer> domainServers = new ConcurrentHashMap<>();
    private final SocketServer main;

    private EmbeddedXenstored(Path socket, Options options) throws IOException {
        this.options = Objects.requireNonNull(options, "options");
        this.core = new XenstoredCore(options.quotas(), new DomainListener() {
            @Override
            public void introduced(int domid) {
                openDomainSocket(domid);
            }

            @Override
            public void released(int domid) {
                SocketServer s = domainServers.remove(domid);
                if (s != null) {
                    s.close();
                }
            }
        });
        this.main = new SocketServer(socket, options.socketMode(), 0, core);
    }

    /** Binds {@code socket} (replacing a stale socket file) and starts serving. */
    public static EmbeddedXenstored start(Path socket, Options options) throws IOException {
        return new EmbeddedXenstored(socket, options);
    }

    private void openDomainSocket(int domid) {
        Path path = domainSocketPath(domid);
        if (path == null) {
            return;
        }
        try {
            domainServers.put(domid, new SocketServer(path, options.socketMode(), domid, core));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The privileged socket. */
    public Path socketPath() {
        return main.path();
    }

    /** Where domain {@code domid}'s socket is (or would be) created, null without a domain-socket directory. */
    public Path domainSocketPath(int domid) {
        Path dir = options.domainSocketDir();
        return dir == null ? null : dir.resolve("domain-" + domid + ".sock");
    }

    /**
     * Introduces a guest domain as dom0's INTRODUCE does: fires {@code @introduceDomain} and opens its
     * socket. Like C xenstored it does not create {@code /local/domain/<domid>}; the toolstack does.
     *
     * @return false if it was introduced already
     * @throws IllegalArgumentException if domid is not a guest domid (1..0x7FEF)
     */
    public boolean introduce(int domid) {
        return core.introduce(domid);
    }

    /**
     * Releases a domain as dom0's RELEASE does: closes its connections and socket, removes the
     * nodes it owns (firing their watches), then fires {@code @releaseDomain}.
     *
     * @return false if it was not introduced
     */
    public boolean release(int domid) {
        return core.release(domid);
    }

    public boolean isIntroduced(int domid) {
        return core.isIntroduced(domid);
    }

    /** Stops serving: closes all sockets (and removes their files) and drops every client. */
    @Override
    public void close() {
        main.close();
        for (SocketServer s : domainServers.values()) {
            s.close();
        }
        domainServers.clear();
    }

    XenstoredCore core() {
        return core;
    }
}
