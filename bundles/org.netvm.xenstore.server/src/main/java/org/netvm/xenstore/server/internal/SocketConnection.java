package org.netvm.xenstore.server.internal;

import java.io.IOException;
import java.net.ProtocolException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;

import org.netvm.xenstore.wire.Message;
import org.netvm.xenstore.wire.MessageType;

/**
 * One client on a Unix socket. A reader thread decodes requests and hands them, in order, to the
 * core; a writer thread drains this connection's queue, so a reply or event is always written whole
 * and the core never blocks on a slow client. A bad header (payload over 4096 bytes) or a client
 * that lets more than {@link #MAX_QUEUED_BYTES} of replies and events pile up closes this connection
 * only, so a client that never reads cannot exhaust the heap (C xenstored would queue without limit
 * for a socket client; the netvm runtime runs with a small heap).
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
    private static final Message POISON = new Message(0, 0, 0, new byte[0]);
    /** Messages written by one gathering write at most. */
    private static final int MAX_BATCH = 64;

    private final SocketChannel channel;
    private final XenstoredCore core;
    private final int domid;
    private final Consumer<SocketConnection> onClose;
    private final LinkedBlockingQueue<Message> out = new LinkedBlockingQueue<>();
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
        }
        // dom0 (the netvm's own agent and toolstack) on platform threads: whatever guests' connections
        // do to the virtual threads' carriers, the netvm's own requests keep threads of their own
        Thread.Builder threads = domid == 0 ? Thread.ofPlatform().daemon() : Thread.ofVirtual();
        threads.name(name + "-writer").start(this::writeLoop);
        DomainAccount a = session.account;
        threads.name(name + "-reader").start(() -> readLoop(session, a));
        return true;
    }

    private void readLoop(Session session, DomainAccount a) {
        try {
            while (!closed) {
                Message m = Message.read(channel, Message.MAX_PAYLOAD);
                if (a == null) {
                    core.handle(session, m);
                } else if (!handleCounted(session, a, m)) {
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

    /** Handles a guest's request as one outstanding for its domain; false if the connection closed meanwhile. */
    private boolean handleCounted(Session session, DomainAccount a, Message m) throws InterruptedException {
        if (!a.reserve(() -> closed, () -> Refusals.log("dom" + domid + " held", "dom" + domid
                + " has too many requests outstanding or too much memory held; its requests wait"))) {
            return false;
        }
        long before = repliesQueued();
        core.handle(session, m);
        if (repliesQueued() == before) {
            a.dequeued(1, 0); // no reply was queued (closed connection, or dropped at its own queue limit)
        }
        return true;
    }

    private synchronized long repliesQueued() {
        return repliesQueuedTotal;
    }

    /**
     * Writes what is queued: everything queued at that moment in one gathering write (a pipelining
     * client's replies and a burst of watch events leave in one system call), each message whole.
     */
    private void writeLoop() {
        List<Message> batch = new ArrayList<>();
        try {
            boolean stop = false;
            while (!stop) {
                batch.add(out.take());
                out.drainTo(batch, MAX_BATCH - 1);
                int poison = batch.indexOf(POISON);
                if (poison >= 0) {
                    batch.subList(poison, batch.size()).clear();
                    stop = true;
                }
                write(batch);
                batch.clear();
            }
        } catch (IOException | InterruptedException e) {
            // peer gone
        } finally {
            close();
            releaseQueued();
        }
    }

    private void write(List<Message> batch) throws IOException {
        if (batch.isEmpty()) {
            return;
        }
        ByteBuffer[] buffers = new ByteBuffer[batch.size()];
        for (int i = 0; i < buffers.length; i++) {
            buffers[i] = batch.get(i).encode();
        }
        ByteBuffer last = buffers[buffers.length - 1];
        while (last.hasRemaining()) {
            channel.write(buffers);
        }
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
        synchronized (this) {
            a = account;
            replies = queuedReplies;
            bytes = queuedBytes;
            queuedReplies = 0;
            queuedBytes = 0;
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
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        onClose.accept(this);
        out.add(POISON);
        if (account != null) {
            account.wake();
        }
        try {
            channel.close();
        } catch (IOException e) {
            // nothing to do
        }
    }
}
