package org.netvm.xenstore.client.internal;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;

import org.netvm.xenstore.wire.Message;

/**
 * A connection over a byte stream: a Unix socket, or the xenbus device (one read and one write channel
 * on the same file descriptor). Writers are serialised so messages never interleave.
 */
final class ChannelConnection implements Connection {

    private final ReadableByteChannel in;
    private final WritableByteChannel out;
    private final Closeable[] closeInOrder;
    private final Object writeLock = new Object();

    ChannelConnection(ReadableByteChannel in, WritableByteChannel out, Closeable... closeInOrder) {
        this.in = in;
        this.out = out;
        this.closeInOrder = closeInOrder;
    }

    @Override
    public void write(Message message) throws IOException {
        ByteBuffer buf = message.encode();
        // NIO channels close themselves when the writing thread is interrupted; keep a caller's
        // interrupt from killing the shared connection (it is restored for the caller afterwards).
        boolean interrupted = Thread.interrupted();
        try {
            synchronized (writeLock) {
                while (buf.hasRemaining()) {
                    out.write(buf);
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
        return Message.read(in, Message.MAX_INBOUND_PAYLOAD);
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
