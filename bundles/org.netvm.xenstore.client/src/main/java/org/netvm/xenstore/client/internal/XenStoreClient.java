package org.netvm.xenstore.client.internal;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

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
 * by request id.</li>
 * <li>One I/O thread connects (with exponential backoff), then reads every frame: replies complete the
 * waiting caller, WATCH_EVENTs are handed to the event thread. It never runs listener code.</li>
 * <li>One event thread calls {@link WatchListener}s in arrival order; after every (re)connection it
 * re-registers all watches and then calls {@link WatchListener#resync()} on each listener.</li>
 * </ul>
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

    private static final System.Logger LOG = System.getLogger(XenStoreClient.class.getName());
    private static final int NO_TX = 0;
    /** How often DIRECTORY_PART restarts because the node changed under it before giving up. */
    private static final int DIRECTORY_PART_RESTARTS = 16;
    /**
     * Most DIRECTORY_PART requests for one listing: C xenstored fills each part to about 4 KB and a
     * child name has at most 2 KB, so this covers any listing up to {@link Message#MAX_INBOUND_PAYLOAD}.
     */
    private static final int DIRECTORY_PARTS_MAX = 1024;

    private final Transport transport;
    private final ClientOptions options;

    private final Object state = new Object();
    private Connection connection;          // guarded by state; null while down
    private long generation;                // guarded by state; +1 per established connection
    private boolean closed;                 // guarded by state

    private final AtomicInteger nextRequestId = new AtomicInteger();
    private final AtomicLong requestsSent = new AtomicLong();
    private final Map<Integer, Pending> pending = new ConcurrentHashMap<>();

    /** Watches by token. Registering/unregistering with the daemon happens under {@link #watchLock}. */
    private final Map<String, Registration> watches = new ConcurrentHashMap<>();
    private final ReentrantLock watchLock = new ReentrantLock();
    private final AtomicLong nextToken = new AtomicLong();
    private final String tokenPrefix;

    private final ExecutorService events;
    private final Thread io;

    private record Pending(Connection connection, CompletableFuture<Message> reply) {
    }

    private XenStoreClient(Transport transport, ClientOptions options, Connection first) {
        this.transport = Objects.requireNonNull(transport, "transport");
        this.options = Objects.requireNonNull(options, "options");
        this.tokenPrefix = "netvm-" + Long.toHexString(System.nanoTime() & 0xFFFFFF) + "-";
        this.events = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "xenstore-events " + transport.address());
            t.setDaemon(true);
            return t;
        });
        this.io = new Thread(() -> runIo(first), "xenstore-io " + transport.address());
        this.io.setDaemon(true);
        this.io.start();
    }

    /**
     * Starts a client that connects in the background (and keeps retrying); use
     * {@link #awaitConnected(Duration)} to wait for the first connection.
     */
    public static XenStoreClient start(Transport transport, ClientOptions options) {
        return new XenStoreClient(transport, options, null);
    }

    /** Connects once now (throwing when that fails), then behaves like {@link #start}. */
    public static XenStoreClient connect(Transport transport, ClientOptions options) throws IOException {
        Connection first = transport.connect();
        XenStoreClient client = new XenStoreClient(transport, options, first);
        client.awaitConnected(Duration.ofSeconds(5));
        return client;
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
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (state) {
            while (connection == null && !closed) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                try {
                    TimeUnit.NANOSECONDS.timedWait(state, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
            return connection != null;
        }
    }

    @Override
    public boolean isConnected() {
        synchronized (state) {
            return connection != null;
        }
    }

    /** Requests sent, and connections established after the first one (each follows a lost connection). */
    @Override
    public Optional<Statistics> statistics() {
        long established;
        synchronized (state) {
            established = generation;
        }
        return Optional.of(new Statistics(requestsSent.get(), Math.max(0, established - 1)));
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
        long gen = currentGeneration();
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

    String read(int tx, long gen, String path) throws XenStoreException {
        return call(MessageType.READ, tx, pathPayload(path), path, gen).raw();
    }

    void write(int tx, long gen, String path, String value) throws XenStoreException {
        byte[] p = pathBytes(path);
        byte[] v = value.getBytes(StandardCharsets.UTF_8);
        if (p.length + 1 + v.length > Message.MAX_PAYLOAD) {
            throw new XenStoreException(XenStoreError.E2BIG, path);
        }
        call(MessageType.WRITE, tx, Message.pathAndValue(path, v), path, gen);
    }

    void simple(MessageType type, int tx, long gen, String path) throws XenStoreException {
        call(type, tx, pathPayload(path), path, gen);
    }

    List<String> directory(int tx, long gen, String path) throws XenStoreException {
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

    List<Permission> getPermissions(int tx, long gen, String path) throws XenStoreException {
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

    void setPermissions(int tx, long gen, String path, List<Permission> permissions) throws XenStoreException {
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

    /** The current connection's generation, or DISCONNECTED. */
    private long currentGeneration() throws XenStoreException {
        synchronized (state) {
            if (connection == null) {
                throw new XenStoreException(XenStoreError.DISCONNECTED, null);
            }
            return generation;
        }
    }

    /**
     * Sends one request and waits for its reply.
     *
     * @param gen the connection generation the request belongs to (a transaction's), or -1 for any
     */
    private Message call(MessageType type, int tx, byte[] payload, String path, long gen) throws XenStoreException {
        if (payload.length > Message.MAX_PAYLOAD) {
            throw new XenStoreException(XenStoreError.E2BIG, path);
        }
        CompletableFuture<Message> reply = new CompletableFuture<>();
        Connection c;
        int id;
        synchronized (state) {
            if (connection == null || (gen >= 0 && gen != generation)) {
                throw new XenStoreException(XenStoreError.DISCONNECTED, path);
            }
            c = connection;
            do {
                id = nextRequestId.incrementAndGet();
            } while (id == 0 || pending.putIfAbsent(id, new Pending(c, reply)) != null);
        }
        try {
            c.write(new Message(type.code(), id, tx, payload));
            requestsSent.incrementAndGet();
        } catch (IOException e) {
            pending.remove(id);
            c.close(); // the I/O thread notices, fails the other requests and reconnects
            throw new XenStoreException(XenStoreError.DISCONNECTED.name(), path, e);
        }
        Message received;
        try {
            long timeout = options.requestTimeout().toNanos();
            received = timeout == 0 ? reply.get() : reply.get(timeout, TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            pending.remove(id);
            throw new XenStoreException("ETIMEDOUT", path, e);
        } catch (InterruptedException e) {
            pending.remove(id);
            Thread.currentThread().interrupt();
            throw new XenStoreException("EINTR", path, e);
        } catch (ExecutionException e) {
            throw new XenStoreException(XenStoreError.DISCONNECTED.name(), path, e.getCause());
        }
        if (received.type() == MessageType.ERROR.code()) {
            throw new XenStoreException(received.text(), path);
        }
        return received;
    }

    // ------------------------------------------------------------------ watches

    @Override
    public Watch watch(String path, WatchListener listener) throws XenStoreException {
        pathBytes(path);
        Objects.requireNonNull(listener, "listener");
        Registration reg = new Registration(path, tokenPrefix + nextToken.incrementAndGet(), listener);
        byte[] payload = Message.strings(path, reg.token);
        if (payload.length > Message.MAX_PAYLOAD) {
            throw new XenStoreException(XenStoreError.E2BIG, path);
        }
        watchLock.lock();
        try {
            watches.put(reg.token, reg);
            long gen;
            synchronized (state) {
                gen = connection == null ? -1 : generation;
            }
            if (gen >= 0) {
                try {
                    call(MessageType.WATCH, NO_TX, payload, path, gen);
                    reg.registeredGeneration = gen;
                } catch (XenStoreException e) {
                    if (e.error() != XenStoreError.DISCONNECTED) {
                        watches.remove(reg.token);
                        throw e;
                    }
                    // registered when the connection is back
                }
            }
        } finally {
            watchLock.unlock();
        }
        return reg;
    }

    /** Number of registered watches (tests). */
    int watchCount() {
        return watches.size();
    }

    private final class Registration implements Watch {
        final String path;
        final String token;
        final WatchListener listener;
        volatile long registeredGeneration = -1;
        volatile boolean closed;

        Registration(String path, String token, WatchListener listener) {
            this.path = path;
            this.token = token;
            this.listener = listener;
        }

        @Override
        public String path() {
            return path;
        }

        @Override
        public void close() {
            watchLock.lock();
            try {
                if (watches.remove(token) == null) {
                    return;
                }
                closed = true;
                long gen = registeredGeneration;
                if (gen >= 0) {
                    try {
                        call(MessageType.UNWATCH, NO_TX, Message.strings(path, token), path, gen);
                    } catch (XenStoreException e) {
                        // the daemon forgets the watch with the connection anyway
                        LOG.log(Level.DEBUG, "unwatch {0}: {1}", path, e.getMessage());
                    }
                }
            } finally {
                watchLock.unlock();
            }
        }

        @Override
        public String toString() {
            return "Watch[" + path + ", " + token + "]";
        }
    }

    /** On the event thread. */
    private void dispatch(String path, String token) {
        Registration reg = watches.get(token);
        if (reg == null || reg.closed) {
            return;
        }
        try {
            reg.listener.changed(path);
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "watch listener for " + reg.path + " failed", e);
        }
    }

    /** On the event thread, after connection {@code gen} was established. */
    private void restoreWatches(long gen) {
        List<Registration> resync = new ArrayList<>();
        watchLock.lock();
        try {
            for (Registration reg : watches.values()) {
                // a watch registered by watch() on this connection already had its initial event
                if (reg.registeredGeneration != gen) {
                    try {
                        call(MessageType.WATCH, NO_TX, Message.strings(reg.path, reg.token), reg.path, gen);
                        reg.registeredGeneration = gen;
                    } catch (XenStoreException e) {
                        if (e.error() == XenStoreError.DISCONNECTED) {
                            return; // lost again; the next connection restores
                        }
                        LOG.log(Level.WARNING, "re-registering watch on {0} failed: {1}", reg.path, e.getMessage());
                        if (e.error() != XenStoreError.EEXIST) {
                            continue;
                        }
                        reg.registeredGeneration = gen;
                    }
                    resync.add(reg);
                }
            }
        } finally {
            watchLock.unlock();
        }
        for (Registration reg : resync) {
            if (reg.closed) {
                continue;
            }
            try {
                reg.listener.resync();
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "resync of watch listener for " + reg.path + " failed", e);
            }
        }
    }

    private void post(Runnable task) {
        try {
            events.execute(task);
        } catch (RejectedExecutionException e) {
            // closed
        }
    }

    // ------------------------------------------------------------------ connection handling

    private void runIo(Connection first) {
        long backoff = options.reconnectInitial().toMillis();
        Connection next = first;
        while (true) {
            Connection c = next;
            next = null;
            if (c == null) {
                try {
                    c = transport.connect();
                } catch (IOException | RuntimeException e) {
                    LOG.log(Level.DEBUG, "connecting to {0} failed: {1}", transport.address(), e.toString());
                    if (!sleep(backoff)) {
                        return;
                    }
                    backoff = Math.min(backoff * 2, options.reconnectMax().toMillis());
                    continue;
                }
            }
            backoff = options.reconnectInitial().toMillis();
            long gen;
            synchronized (state) {
                if (closed) {
                    c.close();
                    return;
                }
                connection = c;
                gen = ++generation;
                state.notifyAll();
            }
            LOG.log(Level.INFO, "connected to xenstored at {0} ({1})", transport.address(), transport.name());
            post(() -> restoreWatches(gen));
            try {
                while (true) {
                    Message f = c.read();
                    if (f.type() == MessageType.WATCH_EVENT.code()) {
                        List<String> fields = f.fields();
                        if (fields.size() >= 2) {
                            String path = fields.get(0);
                            String token = fields.get(1);
                            post(() -> dispatch(path, token));
                        }
                        continue;
                    }
                    Pending p = pending.remove(f.requestId());
                    if (p == null) {
                        LOG.log(Level.DEBUG, "reply without request: {0}", f);
                    } else {
                        p.reply().complete(f);
                    }
                }
            } catch (IOException | RuntimeException e) {
                boolean closing;
                synchronized (state) {
                    closing = closed;
                }
                if (!closing) {
                    LOG.log(Level.WARNING, "connection to xenstored at {0} lost: {1}", transport.address(), e.toString());
                }
            }
            connectionLost(c);
            synchronized (state) {
                if (closed) {
                    return;
                }
            }
        }
    }

    private void connectionLost(Connection c) {
        synchronized (state) {
            if (connection == c) {
                connection = null;
            }
        }
        c.close();
        for (Map.Entry<Integer, Pending> e : pending.entrySet()) {
            if (e.getValue().connection() == c && pending.remove(e.getKey(), e.getValue())) {
                e.getValue().reply().completeExceptionally(new XenStoreException(XenStoreError.DISCONNECTED, null));
            }
        }
    }

    /** Waits {@code millis} unless closed first; {@code false} when closed. */
    private boolean sleep(long millis) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        synchronized (state) {
            while (!closed) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return true;
                }
                try {
                    TimeUnit.NANOSECONDS.timedWait(state, left);
                } catch (InterruptedException e) {
                    return false;
                }
            }
            return false;
        }
    }

    /** Closes the connection for good; waiting callers fail with DISCONNECTED. */
    @Override
    public void close() {
        Connection c;
        synchronized (state) {
            if (closed) {
                return;
            }
            closed = true;
            c = connection;
            connection = null;
            state.notifyAll();
        }
        if (c != null) {
            connectionLost(c);
        }
        try {
            io.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (Pending p : pending.values()) {
            p.reply().completeExceptionally(new XenStoreException(XenStoreError.DISCONNECTED, null));
        }
        pending.clear();
        events.shutdown();
    }

    /** Simulates a broken connection (tests): closes the current connection; the client reconnects. */
    void dropConnection() {
        Connection c;
        synchronized (state) {
            c = connection;
        }
        if (c != null) {
            c.close();
        }
    }

    @Override
    public String toString() {
        return "XenStoreClient[" + transport.name() + ":" + transport.address() + (isConnected() ? "" : ", disconnected") + "]";
    }
}
