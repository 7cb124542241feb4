package org.netvm.xenstore.client.internal;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

import org.netvm.xenstore.Permission;
import org.netvm.xenstore.Transaction;
import org.netvm.xenstore.Watch;
import org.netvm.xenstore.WatchListener;
import org.netvm.xenstore.XenStore;
import org.netvm.xenstore.XenStoreError;
import org.netvm.xenstore.XenStoreException;
import org.netvm.xenstore.wire.Message;
import org.netvm.xenstore.wire.MessageType;

/**
 * A pipelined xenstored client with automatic reconnection. Usable without OSGi
 * ({@link #connectUnix(Path)}); the DS component {@link XenStoreClientComponent} registers one as the
 * {@link XenStore} service.
 *
 * <h2>Threads</h2>
 * <ul>
 * <li>Callers send requests themselves and wait for their reply; any number may be in flight, matched
 * by request id ({@link PendingReplies}).</li>
 * <li>One I/O thread connects (with exponential backoff). Messages are read by one thread at a time:
 * on a Unix socket a caller reads its own reply when nobody else is reading, otherwise the I/O thread
 * reads ({@link SharedReading}); replies complete the waiting caller, WATCH_EVENTs are handed to the
 * event thread. No reader runs listener code ({@link DaemonLink}).</li>
 * <li>One event thread calls {@link WatchListener}s in arrival order; after every (re)connection it
 * re-registers all watches and then calls {@link WatchListener#resync()} on each listener
 * ({@link WatchRegistry}).</li>
 * </ul>
 * This class holds the {@link XenStore} operations and their client-side checks.
 *
 * <p>Listeners may call the client (the reader is a separate thread), but while one runs no other
 * event is delivered and, after a reconnection, watches are not re-registered: keep them short.
 *
 * <h2>While disconnected</h2>
 * {@link #isConnected()} is {@code false}; requests fail at once with {@link XenStoreError#DISCONNECTED},
 * and so do requests in flight when the connection drops, and operations of a transaction started on
 * an earlier connection. {@link #watch} still succeeds: the watch is registered with the daemon (and
 * its listener resynced) as soon as the connection is back.
 *
 * <h2>Client-side checks</h2>
 * Paths with a NUL character fail with {@code EINVAL}; requests whose payload would exceed
 * {@link Message#MAX_PAYLOAD} bytes fail with {@code E2BIG}. Nothing is sent in either case. Everything
 * else (path syntax, permissions, quotas) is left to the daemon and its error is surfaced unchanged.
 */
public final class XenStoreClient implements XenStore, AutoCloseable {

    private static final int NO_TX = 0;
    /** How often DIRECTORY_PART restarts because the node changed under it before giving up. */
    private static final int DIRECTORY_PART_RESTARTS = 16;
    /**
     * Most DIRECTORY_PART requests for one listing: C xenstored fills each part to about 4 KB and a
     * child name has at most 2 KB, so this covers any listing up to {@link Message#MAX_INBOUND_PAYLOAD}.
     */
    private static final int DIRECTORY_PARTS_MAX = 1024;

    /**
     * Requests one {@link #readAll} or {@link #directoryAll} keeps in flight: enough that the daemon
     * always has the next one queued, few enough to stay far below any daemon's per-connection limit.
     */
    static final int PIPELINE_WINDOW = 64;

    private final Transport transport;
    private final DaemonLink link;
    private final WatchRegistry watches;
    /** The VM's home ({@code /local/domain/N}) relative paths resolve against, or null: the daemon's default. */
    private final String home;

    private XenStoreClient(Transport transport, ClientOptions options, Connection first, int domid) {
        this.transport = Objects.requireNonNull(transport, "transport");
        this.link = new DaemonLink(transport, Objects.requireNonNull(options, "options"));
        this.home = domid < 0 ? null : "/local/domain/" + domid;
        this.watches = new WatchRegistry(link, transport.address(), home);
        link.start(first, watches);
    }

    /**
     * Starts a client that connects in the background (and keeps retrying); use
     * {@link #awaitConnected(Duration)} to wait for the first connection.
     */
    public static XenStoreClient start(Transport transport, ClientOptions options) {
        return start(transport, options, -1);
    }

    /**
     * As {@link #start(Transport, ClientOptions)}, for the VM {@code domid} (-1: none): relative paths
     * resolve against {@code /local/domain/<domid>} here, not the connection's default home (a
     * privileged connection's is dom0's), and watch events come back relative for relative watches.
     */
    public static XenStoreClient start(Transport transport, ClientOptions options, int domid) {
        return new XenStoreClient(transport, options, null, domid);
    }

    /** Connects once now (throwing when that fails), then behaves like {@link #start}. */
    public static XenStoreClient connect(Transport transport, ClientOptions options) throws IOException {
        return connect(transport, options, -1);
    }

    /** Connects once now (throwing when that fails), then behaves like {@link #start(Transport, ClientOptions, int)}. */
    public static XenStoreClient connect(Transport transport, ClientOptions options, int domid) throws IOException {
        Connection first = transport.connect();
        XenStoreClient client = new XenStoreClient(transport, options, first, domid);
        client.awaitConnected(Duration.ofSeconds(5));
        return client;
    }

    /** {@code path} made absolute under the VM's home when it is relative and a home is configured. */
    String resolve(String path) {
        if (home == null || path == null || path.isEmpty() || path.startsWith("/") || path.startsWith("@")) {
            return path;
        }
        return home + "/" + path;
    }

    /** Connects to xenstored's Unix socket with {@link ClientOptions#defaults()}. */
    public static XenStoreClient connectUnix(Path socket) throws IOException {
        return connect(new UnixSocketTransport(socket), ClientOptions.defaults());
    }

    public Transport transport() {
        return transport;
    }

    /** Waits until connected; {@code false} on timeout or when closed. */
    public boolean awaitConnected(Duration timeout) {
        return link.awaitConnected(timeout);
    }

    @Override
    public boolean isConnected() {
        return link.isConnected();
    }

    /** Requests sent, and connections established after the first one (each follows a lost connection). */
    @Override
    public Optional<Statistics> statistics() {
        long established = link.established();
        return Optional.of(new Statistics(link.requestsSent(), Math.max(0, established - 1)));
    }

    // ------------------------------------------------------------------ operations

    @Override
    public String read(String path) throws XenStoreException {
        return read(NO_TX, -1, path);
    }

    @Override
    public void write(String path, String value) throws XenStoreException {
        write(NO_TX, -1, path, value);
    }

    @Override
    public void mkdir(String path) throws XenStoreException {
        simple(MessageType.MKDIR, NO_TX, -1, path);
    }

    @Override
    public void rm(String path) throws XenStoreException {
        simple(MessageType.RM, NO_TX, -1, path);
    }

    @Override
    public List<String> directory(String path) throws XenStoreException {
        return directory(NO_TX, -1, path);
    }

    /** Pipelined: up to {@link #PIPELINE_WINDOW} reads in flight at once. */
    @Override
    public List<Optional<String>> readAll(List<String> paths) throws XenStoreException {
        List<Optional<String>> out = new ArrayList<>(paths.size());
        List<String> resolved = new ArrayList<>(paths.size());
        for (Object r : many(MessageType.READ, paths, resolved)) {
            out.add(r instanceof Message m ? Optional.of(m.raw()) : Optional.empty());
        }
        return out;
    }

    /**
     * Pipelined as {@link #readAll}; a listing too large for one reply (E2BIG from C xenstored) is then
     * fetched in parts on its own.
     */
    @Override
    public List<Optional<List<String>>> directoryAll(List<String> paths) throws XenStoreException {
        List<Optional<List<String>>> out = new ArrayList<>(paths.size());
        List<String> resolved = new ArrayList<>(paths.size());
        List<Object> replies = many(MessageType.DIRECTORY, paths, resolved);
        for (int i = 0; i < replies.size(); i++) {
            Object r = replies.get(i);
            if (r instanceof Message m) {
                out.add(Optional.of(m.fields()));
            } else if (((XenStoreException) r).error() == XenStoreError.E2BIG) {
                out.add(Optional.of(directoryInParts(NO_TX, -1, resolved.get(i))));
            } else {
                out.add(Optional.empty());
            }
        }
        return out;
    }

    /**
     * One request of {@code type} per path, pipelined; the replies in order, each a {@link Message} or
     * an ENOENT {@link XenStoreException} (any other error is thrown). Fills {@code resolved} with the
     * absolute paths.
     */
    private List<Object> many(MessageType type, List<String> paths, List<String> resolved) throws XenStoreException {
        List<byte[]> payloads = new ArrayList<>(paths.size());
        for (String p : paths) {
            String path = resolve(p);
            resolved.add(path);
            payloads.add(pathPayload(path));
        }
        List<Object> replies = link.callAll(type, payloads, resolved, PIPELINE_WINDOW);
        for (Object r : replies) {
            if (r instanceof XenStoreException e && e.error() != XenStoreError.ENOENT
                    && !(type == MessageType.DIRECTORY && e.error() == XenStoreError.E2BIG)) {
                throw e;
            }
        }
        return replies;
    }

    @Override
    public List<Permission> getPermissions(String path) throws XenStoreException {
        return getPermissions(NO_TX, -1, path);
    }

    @Override
    public void setPermissions(String path, List<Permission> permissions) throws XenStoreException {
        setPermissions(NO_TX, -1, path, permissions);
    }

    @Override
    public Transaction transaction() throws XenStoreException {
        long gen = link.currentGeneration();
        Message reply = call(MessageType.TRANSACTION_START, NO_TX, Message.strings(""), null, gen);
        int id;
        try {
            id = Integer.parseUnsignedInt(reply.text());
        } catch (NumberFormatException e) {
            throw new XenStoreException(XenStoreError.EIO.name(), null, e);
        }
        return new ClientTransaction(this, id, gen);
    }

    @Override
    public String domainPath(int domid) throws XenStoreException {
        return call(MessageType.GET_DOMAIN_PATH, NO_TX, Message.strings(Integer.toString(domid)), null, -1).text();
    }

    @Override
    public void introduceDomain(int domid, long ringMfn, int eventChannel) throws XenStoreException {
        request(MessageType.INTRODUCE, NO_TX,
                Message.strings(Integer.toString(domid), Long.toString(ringMfn), Integer.toString(eventChannel)));
    }

    @Override
    public void releaseDomain(int domid) throws XenStoreException {
        request(MessageType.RELEASE, NO_TX, Message.strings(Integer.toString(domid)));
    }

    /**
     * Sends one request as it is and returns the reply (ERROR replies become exceptions). For tools and
     * tests that need a request the {@link XenStore} interface does not offer, such as INTRODUCE.
     */
    public Message request(MessageType type, int txId, byte[] payload) throws XenStoreException {
        return call(type, txId, payload, null, -1);
    }

    // --- the same operations, optionally inside a transaction on a given connection generation

    String read(int tx, long gen, String relative) throws XenStoreException {
        String path = resolve(relative);
        return call(MessageType.READ, tx, pathPayload(path), path, gen).raw();
    }

    void write(int tx, long gen, String relative, String value) throws XenStoreException {
        String path = resolve(relative);
        byte[] p = pathBytes(path);
        byte[] v = value.getBytes(StandardCharsets.UTF_8);
        if (p.length + 1 + v.length > Message.MAX_PAYLOAD) {
            throw new XenStoreException(XenStoreError.E2BIG, path);
        }
        call(MessageType.WRITE, tx, Message.pathAndValue(path, v), path, gen);
    }

    void simple(MessageType type, int tx, long gen, String relative) throws XenStoreException {
        String path = resolve(relative);
        call(type, tx, pathPayload(path), path, gen);
    }

    List<String> directory(int tx, long gen, String relative) throws XenStoreException {
        String path = resolve(relative);
        byte[] payload = pathPayload(path);
        try {
            return call(MessageType.DIRECTORY, tx, payload, path, gen).fields();
        } catch (XenStoreException e) {
            // C xenstored: a listing over XENSTORE_PAYLOAD_MAX is E2BIG and must be fetched in parts
            // (oxenstored instead sends one oversized reply, which the client reads up to Message.MAX_INBOUND_PAYLOAD).
            if (e.error() != XenStoreError.E2BIG) {
                throw e;
            }
        }
        return directoryInParts(tx, gen, path);
    }

    /**
     * DIRECTORY_PART as libxenstore does it: generation, then children at a byte offset, "" ends. A
     * listing over {@link Message#MAX_INBOUND_PAYLOAD} bytes or {@link #DIRECTORY_PARTS_MAX} parts fails
     * with E2BIG.
     */
    private List<String> directoryInParts(int tx, long gen, String path) throws XenStoreException {
        String generationSeen = null;
        ByteArrayOutputStream names = new ByteArrayOutputStream();
        int restarts = 0;
        int parts = 0;
        while (true) {
            if (++parts > DIRECTORY_PARTS_MAX) {
                throw new XenStoreException(XenStoreError.E2BIG, path);
            }
            int offset = names.size();
            Message reply = call(MessageType.DIRECTORY_PART, tx, Message.strings(path, Integer.toString(offset)), path, gen);
            byte[] p = reply.payload();
            int end = indexOfNul(p, 0);
            if (end < 0) {
                throw new XenStoreException(XenStoreError.EIO.name(), path);
            }
            String g = new String(p, 0, end, StandardCharsets.UTF_8);
            if (offset == 0) {
                generationSeen = g;
            } else if (!g.equals(generationSeen)) {
                if (++restarts > DIRECTORY_PART_RESTARTS) {
                    throw new XenStoreException(XenStoreError.EAGAIN, path);
                }
                names.reset();
                continue;
            }
            names.write(p, end + 1, p.length - end - 1);
            byte[] all = names.toByteArray();
            if (p.length - end - 1 == 0 || all.length <= 1 || all[all.length - 2] == 0) {
                return namesUntilEmpty(all);
            }
            if (all.length > Message.MAX_INBOUND_PAYLOAD) {
                // a daemon whose parts never end the listing must not keep the caller (and its memory) forever
                throw new XenStoreException(XenStoreError.E2BIG, path);
            }
        }
    }

    private static List<String> namesUntilEmpty(byte[] all) {
        List<String> out = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < all.length; i++) {
            if (all[i] == 0) {
                if (i == start) {
                    break;
                }
                out.add(new String(all, start, i - start, StandardCharsets.UTF_8));
                start = i + 1;
            }
        }
        return out;
    }

    private static int indexOfNul(byte[] b, int from) {
        for (int i = from; i < b.length; i++) {
            if (b[i] == 0) {
                return i;
            }
        }
        return -1;
    }

    List<Permission> getPermissions(int tx, long gen, String relative) throws XenStoreException {
        String path = resolve(relative);
        List<String> fields = call(MessageType.GET_PERMS, tx, pathPayload(path), path, gen).fields();
        List<Permission> out = new ArrayList<>(fields.size());
        for (String f : fields) {
            try {
                out.add(Permission.parse(f));
            } catch (IllegalArgumentException e) {
                throw new XenStoreException(XenStoreError.EIO.name(), path, e);
            }
        }
        return List.copyOf(out);
    }

    void setPermissions(int tx, long gen, String relative, List<Permission> permissions) throws XenStoreException {
        String path = resolve(relative);
        pathBytes(path);
        String[] fields = new String[permissions.size() + 1];
        fields[0] = path;
        for (int i = 0; i < permissions.size(); i++) {
            fields[i + 1] = permissions.get(i).toString();
        }
        byte[] payload = Message.strings(fields);
        if (payload.length > Message.MAX_PAYLOAD) {
            throw new XenStoreException(XenStoreError.E2BIG, path);
        }
        call(MessageType.SET_PERMS, tx, payload, path, gen);
    }

    void endTransaction(int tx, long gen, boolean commit) throws XenStoreException {
        call(MessageType.TRANSACTION_END, tx, Message.strings(commit ? "T" : "F"), null, gen);
    }

    private static byte[] pathBytes(String path) throws XenStoreException {
        Objects.requireNonNull(path, "path");
        if (path.indexOf('\0') >= 0) {
            throw new XenStoreException(XenStoreError.EINVAL, path.replace('\0', '?'));
        }
        return path.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] pathPayload(String path) throws XenStoreException {
        byte[] p = pathBytes(path);
        if (p.length + 1 > Message.MAX_PAYLOAD) {
            throw new XenStoreException(XenStoreError.E2BIG, path);
        }
        return Message.strings(path);
    }

    private Message call(MessageType type, int tx, byte[] payload, String path, long gen) throws XenStoreException {
        return link.call(type, tx, payload, path, gen);
    }

    // ------------------------------------------------------------------ watches

    @Override
    public Watch watch(String path, WatchListener listener) throws XenStoreException {
        pathBytes(path);
        return watches.watch(path, resolve(path), listener);
    }

    /** Number of registered watches (tests). */
    int watchCount() {
        return watches.size();
    }

    /** Closes the connection for good; waiting callers fail with DISCONNECTED. */
    @Override
    public void close() {
        if (link.close()) {
            watches.shutdown();
        }
    }

    /** Simulates a broken connection (tests): closes the current connection; the client reconnects. */
    void dropConnection() {
        link.dropConnection();
    }

    @Override
    public String toString() {
        return "XenStoreClient[" + transport.name() + ":" + transport.address() + (isConnected() ? "" : ", disconnected") + "]";
    }
}
