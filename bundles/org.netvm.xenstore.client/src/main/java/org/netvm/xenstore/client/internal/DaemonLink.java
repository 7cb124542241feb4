package org.netvm.xenstore.client.internal;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.netvm.xenstore.XenStoreError;
import org.netvm.xenstore.XenStoreException;
import org.netvm.xenstore.wire.Message;
import org.netvm.xenstore.wire.MessageType;

/**
 * The client's link to the daemon: one I/O thread connects (with exponential backoff, again after
 * every loss). Callers send their requests themselves ({@link #call}) and wait for the reply.
 *
 * <h2>Who reads</h2>
 * One thread at a time has the read turn and reads every message that arrives: replies complete their
 * waiting caller ({@link PendingReplies}), WATCH_EVENTs go to the {@link Listener}; it never runs
 * listener code itself.
 * <ul>
 * <li>On a {@link Connection#pollable() pollable} connection (a Unix socket; {@link SharedReading}) a caller takes the turn
 * when it is free and reads until its own reply is there: a sequential caller reads its reply itself,
 * without waking another thread. A caller that finds the turn taken waits to be handed its reply.
 * When the last caller reading returns the turn with requests still in flight, the I/O thread takes it
 * over. When no caller has read for {@link SharedReading#LINGER_NANOS} (an idle client), the I/O thread takes the
 * turn to read watch events, and gives it back after the next reply it hands over, so a caller that
 * goes on reads its own replies again.</li>
 * <li>Otherwise (the xenbus device) the I/O thread alone reads, in blocking mode.</li>
 * </ul>
 *
 * <p>Each established connection has a generation (1, 2, ...); a request tied to a generation (a
 * transaction's) fails with DISCONNECTED on any other.
 */
final class DaemonLink {

    /** Told on the thread reading (the I/O thread, or a caller reading its own reply); must only hand work on. */
    interface Listener {
        /** Connection {@code generation} is established. */
        void connected(long generation);

        /** A WATCH_EVENT arrived. */
        void event(String path, String token);
    }

    private static final System.Logger LOG = System.getLogger(DaemonLink.class.getName());

    private final Transport transport;
    private final ClientOptions options;
    private final Object state = new Object();
    private Connection connection;          // guarded by state; null while down
    private long generation;                // guarded by state; +1 per established connection
    private boolean closed;                 // guarded by state
    private final PendingReplies pending = new PendingReplies();
    private final AtomicLong requestsSent = new AtomicLong();
    private Thread io;
    private SharedReading reading;

    DaemonLink(Transport transport, ClientOptions options) {
        this.transport = transport;
        this.options = options;
    }

    /** Starts the I/O thread, which uses {@code first} if not null before connecting itself. */
    void start(Connection first, Listener listener) {
        io = new Thread(() -> runIo(first, listener), "xenstore-io " + transport.address());
        reading = new SharedReading(pending, options, listener, io, this::logLoss);
        io.setDaemon(true);
        io.start();
    }

    /** Waits until connected; {@code false} on timeout or when closed. */
    boolean awaitConnected(Duration timeout) {
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

    boolean isConnected() {
        synchronized (state) {
            return connection != null;
        }
    }

    /** Connections established so far. */
    long established() {
        synchronized (state) {
            return generation;
        }
    }

    long requestsSent() {
        return requestsSent.get();
    }

    /** The current connection's generation, or DISCONNECTED. */
    long currentGeneration() throws XenStoreException {
        synchronized (state) {
            if (connection == null) {
                throw new XenStoreException(XenStoreError.DISCONNECTED, null);
            }
            return generation;
        }
    }

    /** The current connection's generation, or -1 while down. */
    long generationOrNone() {
        synchronized (state) {
            return connection == null ? -1 : generation;
        }
    }

    /**
     * Sends one request and waits for its reply; an ERROR reply becomes the exception.
     *
     * @param gen the connection generation the request belongs to (a transaction's), or -1 for any
     */
    Message call(MessageType type, int tx, byte[] payload, String path, long gen) throws XenStoreException {
        PendingReplies.Reply reply = new PendingReplies.Reply();
        return orError(receive(send(type, tx, payload, path, gen, reply), reply, path), path);
    }

    /**
     * Pipelining from one caller: sends a request per payload, keeping up to {@code window} in flight,
     * and collects the replies in order, each a {@link Message} or, for an ERROR reply, its
     * {@link XenStoreException}. A lost connection, a timeout or an interrupt fails the whole call (the
     * requests still in flight are forgotten).
     */
    List<Object> callAll(MessageType type, List<byte[]> payloads, List<String> paths, int window)
            throws XenStoreException {
        int n = payloads.size();
        List<Object> out = new ArrayList<>(n);
        PendingReplies.Reply[] replies = new PendingReplies.Reply[n];
        Sent[] ids = new Sent[n];
        int sent = 0;
        int i = 0;
        try {
            for (; i < n; i++) {
                for (; sent < n && sent - i < window; sent++) {
                    replies[sent] = new PendingReplies.Reply();
                    ids[sent] = send(type, 0, payloads.get(sent), paths.get(sent), -1, replies[sent]);
                }
                Message m = receive(ids[i], replies[i], paths.get(i));
                out.add(m.type() == MessageType.ERROR.code() ? new XenStoreException(m.text(), paths.get(i)) : m);
            }
        } catch (XenStoreException e) {
            for (int j = i + 1; j < sent; j++) {
                pending.forget(ids[j].id());
            }
            throw e;
        }
        return out;
    }

    /** Sends one request whose reply completes {@code reply}. */
    private Sent send(MessageType type, int tx, byte[] payload, String path, long gen, PendingReplies.Reply reply)
            throws XenStoreException {
        if (payload.length > Message.MAX_PAYLOAD) {
            throw new XenStoreException(XenStoreError.E2BIG, path);
        }
        Connection c;
        int id;
        synchronized (state) {
            if (connection == null || (gen >= 0 && gen != generation)) {
                throw new XenStoreException(XenStoreError.DISCONNECTED, path);
            }
            c = connection;
            id = pending.add(c, reply);
        }
        try {
            c.write(new Message(type.code(), id, tx, payload));
            requestsSent.incrementAndGet();
        } catch (IOException e) {
            pending.forget(id);
            c.close(); // the I/O thread notices, fails the other requests and reconnects
            throw new XenStoreException(XenStoreError.DISCONNECTED.name(), path, e);
        }
        return new Sent(c, id);
    }

    /** A request on its way: the connection it was written to and its id. */
    private record Sent(Connection connection, int id) {
    }

    /** {@code sent}'s reply: read by the caller itself on a pollable connection when the read turn is free. */
    private Message receive(Sent sent, PendingReplies.Reply reply, String path) throws XenStoreException {
        Connection c = sent.connection();
        return c.pollable() ? reading.readOwnReply(c, reply, sent.id(), path) : await(reply, sent.id(), path);
    }

    private static Message orError(Message received, String path) throws XenStoreException {
        if (received.type() == MessageType.ERROR.code()) {
            throw new XenStoreException(received.text(), path);
        }
        return received;
    }

    private Message await(PendingReplies.Reply reply, int id, String path) throws XenStoreException {
        return pending.await(reply, id, path, options.requestTimeout().toNanos());
    }


    void logLoss(Exception e) {
        boolean closing;
        synchronized (state) {
            closing = closed;
        }
        if (!closing) {
            LOG.log(Level.WARNING, "connection to xenstored at {0} lost: {1}", transport.address(), e.toString());
        }
    }

    // ------------------------------------------------------------------ the I/O thread

    private void runIo(Connection first, Listener listener) {
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
            if (!established(c, listener)) {
                return;
            }
            readUntilLost(c);
            connectionLost(c);
            synchronized (state) {
                if (closed) {
                    return;
                }
            }
        }
    }

    /** Makes {@code c} the connection; false (and closes it) when the client closed meanwhile. */
    private boolean established(Connection c, Listener listener) {
        long gen;
        synchronized (state) {
            if (closed) {
                c.close();
                return false;
            }
            connection = c;
            gen = ++generation;
            state.notifyAll();
        }
        LOG.log(Level.INFO, "connected to xenstored at {0} ({1})", transport.address(), transport.name());
        listener.connected(gen);
        return true;
    }

    private void readUntilLost(Connection c) {
        try {
            if (c.pollable()) {
                reading.ioThreadReads(c);
            } else {
                while (true) {
                    reading.dispatch(c.read());
                }
            }
        } catch (IOException | RuntimeException e) {
            logLoss(e);
        }
    }

    private void connectionLost(Connection c) {
        synchronized (state) {
            if (connection == c) {
                connection = null;
            }
        }
        c.close();
        pending.failAll(c);
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

    /** Closes the connection for good; waiting callers fail with DISCONNECTED. False if closed already. */
    boolean close() {
        Connection c;
        synchronized (state) {
            if (closed) {
                return false;
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
        pending.failEverything();
        return true;
    }

    /** Simulates a broken connection (tests): closes the current connection; the I/O thread reconnects. */
    void dropConnection() {
        Connection c;
        synchronized (state) {
            c = connection;
        }
        if (c != null) {
            c.close();
        }
    }
}
