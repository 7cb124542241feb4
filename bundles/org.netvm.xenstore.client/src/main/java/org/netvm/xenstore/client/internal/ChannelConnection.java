package org.netvm.xenstore.client.internal;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;

import org.netvm.xenstore.wire.Message;
import org.netvm.xenstore.wire.MessageReader;

/**
 * A connection over a byte stream: a Unix socket, or the xenbus device (one read and one write channel
 * on the same file descriptor). Writers are serialised so messages never interleave; each message is
 * encoded into one reused direct buffer and leaves in one system call. Replies are read through a
 * {@link MessageReader}: one system call usually brings a whole reply.
 */
final class ChannelConnection implements Connection {

    private final ReadableByteChannel in;
    private final WritableByteChannel out;
    private final Closeable[] closeInOrder;
    private final Object writeLock = new Object();
    /** Header and largest payload; guarded by writeLock. */
    private final ByteBuffer outBuffer = ByteBuffer.allocateDirect(Message.HEADER_SIZE + Message.MAX_PAYLOAD);
    private final MessageReader reader;

    ChannelConnection(ReadableByteChannel in, WritableByteChannel out, Closeable... closeInOrder) {
        this.in = in;
        this.out = out;
        this.closeInOrder = closeInOrder;
        this.reader = new MessageReader(in, Message.MAX_INBOUND_PAYLOAD);
    }

    @Override
    public void write(Message message) throws IOException {
        // NIO channels close themselves when the writing thread is interrupted; keep a caller's
        // interrupt from killing the shared connection (it is restored for the caller afterwards).
        boolean interrupted = Thread.interrupted();
        try {
            synchronized (writeLock) {
                outBuffer.clear();
                message.encode(outBuffer);
                outBuffer.flip();
                while (outBuffer.hasRemaining()) {
                    out.write(outBuffer);
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public Message read() throws IOException {
        return reader.read();
    }

    @Override
    public void close() {
        for (Closeable c : closeInOrder) {
            try {
                c.close();
            } catch (IOException e) {
                // closing anyway
            }
        }
    }
}
