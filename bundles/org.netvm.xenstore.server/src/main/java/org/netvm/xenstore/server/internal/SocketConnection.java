package org.netvm.xenstore.server.internal;

import java.io.IOException;
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
 * that lets too many messages pile up closes this connection only.
 */
final class SocketConnection implements MessageSink {

    private static final Logger LOG = Logger.getLogger(SocketConnection.class.getName());
    /** Queued messages beyond which a client that does not read is dropped. */
    static final int MAX_QUEUED = 65536;
    private static final Message POISON = new Message(0, 0, 0, new byte[0]);

    private final SocketChannel channel;
    private final XenstoredCore core;
    private final int domid;
    private final Consumer<SocketConnection> onClose;
    private final LinkedBlockingQueue<Message> out = new LinkedBlockingQueue<>();
    private volatile boolean closed;

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
        ByteBuffer header = ByteBuffer.allocate(Message.HEADER_SIZE);
        try {
            while (!closed) {
                header.clear();
                if (!readFully(header)) {
                    break;
                }
                header.flip();
                int len;
                try {
                    len = Message.payloadLength(header);
                } catch (IllegalArgumentException e) {
                    LOG.log(Level.WARNING, "dom{0}: {1}; closing the connection", new Object[] {domid, e.getMessage()});
                    break;
                }
                ByteBuffer whole = ByteBuffer.allocate(Message.HEADER_SIZE + len);
                whole.put(header);
                if (!readFully(whole)) {
                    break;
                }
                whole.flip();
                core.handle(session, Message.decode(whole));
            }
        } catch (IOException e) {
            // connection reset or closed: same as EOF
        } finally {
            core.disconnect(session);
            close();
        }
    }

    private boolean readFully(ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            if (channel.read(b) < 0) {
                return false;
            }
        }
        return true;
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
        if (out.size() >= MAX_QUEUED) {
            LOG.log(Level.WARNING, "dom{0} does not read its replies; closing the connection", domid);
            close();
            return;
        }
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
