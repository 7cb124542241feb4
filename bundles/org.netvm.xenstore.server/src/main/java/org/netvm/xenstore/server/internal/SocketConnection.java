package org.netvm.xenstore.server.internal;

import java.io.IOException;
import java.net.ProtocolException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;

import org.netvm.xenstore.wire.Message;

/**
 * One client on a Unix socket. A reader thread decodes requests and hands them, in order, to the
 * core; a writer thread drains this connection's queue, so a reply or event is always written whole
 * and the core never blocks on a slow client. A bad header (payload over 4096 bytes) or a client
 * that lets more than {@link #MAX_QUEUED_BYTES} of replies and events pile up closes this connection
 * only, so a client that never reads cannot exhaust the heap (C xenstored would queue without limit
 * for a socket client; the netvm runtime runs with a small heap).
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

    private final SocketChannel channel;
    private final XenstoredCore core;
    private final int domid;
    private final Consumer<SocketConnection> onClose;
    private final LinkedBlockingQueue<Message> out = new LinkedBlockingQueue<>();
    private volatile boolean closed;
    private long queuedBytes; // guarded by this

    SocketConnection(SocketChannel channel, XenstoredCore core, int domid, Consumer<SocketConnection> onClose) {
        this.channel = channel;
        this.core = core;
        this.domid = domid;
        this.onClose = onClose;
    }

    /** Starts the reader and writer threads; returns false (and closes) if the core refuses the connection. */
    boolean start(String name) {
        Session session = core.connect(domid, this);
        if (session == null) {
            close();
            return false;
        }
        Thread.ofVirtual().name(name + "-writer").start(this::writeLoop);
        Thread.ofVirtual().name(name + "-reader").start(() -> readLoop(session));
        return true;
    }

    private void readLoop(Session session) {
        try {
            while (!closed) {
                core.handle(session, Message.read(channel, Message.MAX_PAYLOAD));
            }
        } catch (ProtocolException e) {
            LOG.log(Level.WARNING, "dom{0}: {1}; closing the connection", new Object[] {domid, e.getMessage()});
        } catch (IOException e) {
            // end of stream, connection reset or closed
        } finally {
            core.disconnect(session);
            close();
        }
    }

    private void writeLoop() {
        try {
            while (true) {
                Message m = out.take();
                if (m == POISON) {
                    break;
                }
                ByteBuffer b = m.encode();
                while (b.hasRemaining()) {
                    channel.write(b);
                }
                synchronized (this) {
                    queuedBytes -= b.capacity();
                }
            }
        } catch (IOException | InterruptedException e) {
            // peer gone
        } finally {
            close();
        }
    }

    @Override
    public synchronized void send(Message message) {
        if (closed) {
            return;
        }
        int size = Message.HEADER_SIZE + message.payload().length;
        if (out.size() >= MAX_QUEUED || queuedBytes + size > MAX_QUEUED_BYTES) {
            LOG.log(Level.WARNING, "dom{0} does not read its replies ({1} messages, {2} bytes queued); closing the connection",
                    new Object[] {domid, out.size(), queuedBytes});
            close();
            return;
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
        try {
            channel.close();
        } catch (IOException e) {
            // nothing to do
        }
    }
}
