package org.netvm.xenstore.server.internal;

import java.io.IOException;
import java.net.ProtocolException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;

import org.netvm.xenstore.wire.Message;
import org.netvm.xenstore.wire.MessageType;

/**
 * One client on a Unix socket. A reader thread reads what has arrived in one system call (a
 * pipelining client's whole burst), hands every whole request in it, in order, to the core, and then
 * writes their replies together (with the watch events they fired for this connection) in one
 * gathering write. What the core queues for this connection is written whole, in order, by whoever
 * holds the write turn: the reader itself after the requests of one read were handled, without
 * blocking (a reply leaves without waking another thread; {@link SocketIo} says how it avoids
 * blocking with the fewest system calls), or else the writer thread, which writes what other connections' requests queue here
 * (watch events) and whatever the client's socket would not take at once. The core never writes, so
 * it never blocks on a slow client. A bad header (payload over 4096 bytes) or a client that lets
 * more than {@link #MAX_QUEUED_BYTES} of replies and events pile up closes this connection only, so
 * a client that never reads cannot exhaust the heap (C xenstored would queue without limit for a
 * socket client; the netvm runtime runs with a small heap).
 *
 * <p>A guest's connection also counts what it queues in its domain's {@link DomainAccount}: while
 * the domain has too many replies outstanding or too much memory held, the reader waits before it
 * reads the next request (C's domain_can_read), and an event that would pass the domain's memory
 * quota closes the connection it was for.
 */
final class SocketConnection implements MessageSink {

    private static final Logger LOG = Logger.getLogger(SocketConnection.class.getName());
    /** Queued messages beyond which a client that does not read is dropped. */
    static final int MAX_QUEUED = 65536;
    /**
     * Queued bytes (headers and payloads) beyond which a client that does not read is dropped: about
     * 250 replies of the maximum size, or some 10 000 typical watch events.
     */
    static final int MAX_QUEUED_BYTES = 1 << 20;
    /** Messages written by one gathering write at most. */
    private static final int MAX_BATCH = 64;
    /** Queued bytes at which the reader writes before it handles the rest of what one read brought. */
    private static final int FLUSH_BYTES = 1 << 16;

    private final SocketChannel channel;
    /** dom0 runs on platform threads, guests on virtual ones (see start). */
    private final boolean platformThreads;
    private SocketIo io; // set once in start, before the threads
    private final XenstoredCore core;
    private final int domid;
    private final Consumer<SocketConnection> onClose;
    private final ArrayDeque<Message> out = new ArrayDeque<>(); // guarded by this
    /** The reader is handling a request and writes what it queued afterwards; guarded by this. */
    private boolean readerWrites;
    /** The write turn: one thread writes at a time, taking messages in queue order. */
    private final ReentrantLock writing = new ReentrantLock();
    /** A batch the reader could not write without blocking, for the writer thread; guarded by writing. */
    private ByteBuffer[] unfinished;
    private List<Message> unfinishedBatch; // guarded by writing
    /** The reader handed an unfinished batch to the writer thread; guarded by this. */
    private boolean handedOver;
    private volatile boolean closed;
    private long queuedBytes; // guarded by this
    private int queuedReplies; // guarded by this
    private long repliesQueuedTotal; // guarded by this
    /** The domain's account for a guest's connection, null for a privileged one; set once in start. */
    private DomainAccount account; // guarded by this

    SocketConnection(SocketChannel channel, XenstoredCore core, int domid, Consumer<SocketConnection> onClose) {
        this.channel = channel;
        this.core = core;
        this.domid = domid;
        this.onClose = onClose;
        this.platformThreads = domid == 0;
    }

    /** Starts the reader and writer threads; returns false (and closes) if the core refuses the connection. */
    boolean start(String name) {
        Session session;
        synchronized (this) { // no event is queued before the account is known
            session = core.connect(domid, this);
            if (session == null) {
                close();
                return false;
            }
            account = session.account;
            try {
                io = SocketIo.of(channel, platformThreads);
            } catch (IOException e) {
                LOG.log(Level.WARNING, "dom{0}: cannot set up the connection: {1}", new Object[] {domid, e.getMessage()});
                core.disconnect(session);
                close();
                return false;
            }
        }
        // dom0 (the netvm's own agent and toolstack) on platform threads: whatever guests' connections
        // do to the virtual threads' carriers, the netvm's own requests keep threads of their own
        Thread.Builder threads = platformThreads ? Thread.ofPlatform().daemon() : Thread.ofVirtual();
        threads.name(name + "-writer").start(this::writeLoop);
        DomainAccount a = session.account;
        threads.name(name + "-reader").start(() -> readLoop(session, a));
        return true;
    }

    private void readLoop(Session session, DomainAccount a) {
        Frames frames = new Frames(Message.MAX_PAYLOAD);
        try {
            while (!closed && frames.fill(io)) {
                if (!handleBuffered(session, a, frames)) {
                    break;
                }
            }
        } catch (ProtocolException e) {
            LOG.log(Level.WARNING, "dom{0}: {1}; closing the connection", new Object[] {domid, e.getMessage()});
        } catch (IOException | InterruptedException e) {
            // end of stream, connection reset or closed
        } finally {
            core.disconnect(session);
            close();
        }
    }

    /**
     * Handles every whole request buffered, then writes what they queued (replies, and the events
     * they fired for this connection) from this thread, together: the writer thread is not woken for
     * it. A guest's request first counts as outstanding for its domain; false if the connection closed
     * meanwhile.
     */
    private boolean handleBuffered(Session session, DomainAccount a, Frames frames)
            throws IOException, InterruptedException {
        setReaderWrites(true);
        try {
            Message m;
            while (!closed && (m = frames.next()) != null) {
                if (a == null) {
                    core.handle(session, m);
                } else if (!handleCounted(session, a, m)) {
                    return false;
                }
                if (queuedEnough()) {
                    writeQueued(false);
                }
            }
        } finally {
            setReaderWrites(false);
        }
        writeQueued(false);
        return true;
    }

    /** Handles a guest's request as one outstanding for its domain; false if the connection closed meanwhile. */
    private boolean handleCounted(Session session, DomainAccount a, Message m) throws IOException, InterruptedException {
        if (!a.tryReserve()) {
            // write what earlier requests queued first: their replies are what the domain waits for
            setReaderWrites(false);
            writeQueued(false);
            if (!a.reserve(() -> closed, () -> Refusals.log("dom" + domid + " held", "dom" + domid
                    + " has too many requests outstanding or too much memory held; its requests wait"))) {
                return false;
            }
            setReaderWrites(true);
        }
        long before = repliesQueued();
        core.handle(session, m);
        if (repliesQueued() == before) {
            a.dequeued(1, 0); // no reply was queued (closed connection, or dropped at its own queue limit)
        }
        return true;
    }

    /**
     * While on, what is queued waits for the reader's own write (the writer thread is not woken);
     * the reader writes after turning it off, and if the writer thread has the turn then, that thread
     * looks at the queue again after giving the turn up, so nothing is left behind.
     */
    private synchronized void setReaderWrites(boolean on) {
        readerWrites = on;
    }

    private synchronized boolean queuedEnough() {
        return out.size() >= MAX_BATCH || queuedBytes >= FLUSH_BYTES;
    }

    private synchronized long repliesQueued() {
        return repliesQueuedTotal;
    }

    /**
     * The writer thread: waits until something is queued that the reader will not write itself (a
     * watch event from another connection's request, or what the reader could not write without
     * blocking), then writes it, blocking as long as the client does not read.
     */
    private void writeLoop() {
        try {
            while (true) {
                synchronized (this) {
                    while (!closed && !handedOver && (out.isEmpty() || readerWrites)) {
                        wait();
                    }
                    if (closed) {
                        break;
                    }
                    handedOver = false;
                }
                writeQueued(true);
            }
        } catch (IOException | InterruptedException e) {
            // peer gone
        } finally {
            close();
            releaseQueued();
        }
    }

    /**
     * Takes the write turn and writes everything queued, up to {@link #MAX_BATCH} messages per
     * gathering write, each message whole, in queue order.
     *
     * <p>The reader ({@code writerThread} false) never blocks here: it returns at once when the writer
     * thread has the turn (that thread looks at the queue again after giving it up, so nothing is left
     * behind), and it writes without blocking: what the client's socket does not take now is handed to
     * the writer thread. So a client that does not read stalls only the writer thread, the reader goes
     * on, and the client is dropped at the queue limit as before.
     */
    private void writeQueued(boolean writerThread) throws IOException {
        while (true) {
            if (writerThread) {
                writing.lock();
            } else if (!writing.tryLock()) {
                return;
            }
            try {
                if (unfinished != null) {
                    if (!writerThread) {
                        return; // handed over already
                    }
                    io.writeAll(unfinished);
                    dequeued(unfinishedBatch);
                    unfinished = null;
                    unfinishedBatch = null;
                }
                List<Message> batch = new ArrayList<>();
                synchronized (this) {
                    for (int i = 0; i < MAX_BATCH && !out.isEmpty(); i++) {
                        batch.add(out.poll());
                    }
                }
                if (batch.isEmpty()) {
                    return;
                }
                ByteBuffer[] buffers = encode(batch);
                if (writerThread) {
                    io.writeAll(buffers);
                } else if (!io.writeNow(buffers)) {
                    unfinished = buffers;
                    unfinishedBatch = batch;
                    synchronized (this) {
                        handedOver = true;
                        notifyAll();
                    }
                    return;
                }
                dequeued(batch);
            } finally {
                writing.unlock();
            }
        }
    }

    private static ByteBuffer[] encode(List<Message> batch) {
        ByteBuffer[] buffers = new ByteBuffer[batch.size()];
        for (int i = 0; i < buffers.length; i++) {
            buffers[i] = batch.get(i).encode();
        }
        return buffers;
    }

    /** A batch was written whole: it no longer counts against the connection's and domain's limits. */
    private void dequeued(List<Message> batch) {
        int size = 0;
        int replies = 0;
        for (Message m : batch) {
            size += size(m);
            replies += isReply(m) ? 1 : 0;
        }
        DomainAccount a;
        synchronized (this) {
            queuedBytes -= size;
            queuedReplies -= replies;
            a = account;
        }
        if (a != null) {
            a.dequeued(replies, size);
        }
    }

    /** What was never written (the connection closed) is no longer held for the domain. */
    private void releaseQueued() {
        DomainAccount a;
        int replies;
        long bytes;
        writing.lock(); // not while the reader is between taking a batch and counting it written
        try {
            synchronized (this) {
                out.clear();
                a = account;
                replies = queuedReplies;
                bytes = queuedBytes;
                queuedReplies = 0;
                queuedBytes = 0;
            }
        } finally {
            writing.unlock();
        }
        if (a != null) {
            a.dequeued(replies, bytes);
        }
    }

    private static int size(Message m) {
        return Message.HEADER_SIZE + m.payload().length;
    }

    private static boolean isReply(Message m) {
        return m.type() != MessageType.WATCH_EVENT.code();
    }

    @Override
    public synchronized void send(Message message) {
        if (closed) {
            return;
        }
        int size = size(message);
        if (out.size() >= MAX_QUEUED || queuedBytes + size > MAX_QUEUED_BYTES) {
            Refusals.log("dom" + domid + " queue", "dom" + domid + " does not read its replies (" + out.size()
                    + " messages, " + queuedBytes + " bytes queued); closing the connection");
            close();
            return;
        }
        boolean reply = isReply(message);
        if (account != null) {
            if (reply) {
                account.replyQueued(size);
            } else if (!account.eventQueued(size)) {
                Refusals.log("dom" + domid + " events", "dom" + domid + ": a watch event would pass its memory quota ("
                        + account.memory() + " bytes held); closing the connection");
                close();
                return;
            }
        }
        if (reply) {
            queuedReplies++;
            repliesQueuedTotal++;
        }
        queuedBytes += size;
        out.add(message);
        if (!readerWrites) {
            notifyAll();
        }
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        onClose.accept(this);
        notifyAll();
        if (account != null) {
            account.wake();
        }
        try {
            channel.close();
        } catch (IOException e) {
            // nothing to do
        }
        if (io != null) {
            io.close();
        }
    }
}
