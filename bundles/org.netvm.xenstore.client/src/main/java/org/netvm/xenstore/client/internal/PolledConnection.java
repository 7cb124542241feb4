package org.netvm.xenstore.client.internal;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.SelectableChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.WritableByteChannel;

import org.netvm.xenstore.wire.Message;

/**
 * A connection over selectable channels (a Unix socket) in non-blocking mode, so that a caller may
 * read its own reply ({@link #poll}) and stop waiting at any moment without breaking the stream: a
 * timeout or an interrupt only ends the wait (in blocking mode an interrupt would close the channel
 * for everyone). Writers are serialised; each message is encoded into one reused direct buffer and
 * usually leaves in one system call.
 */
final class PolledConnection implements Connection {

    private final ReadableByteChannel in;
    private final WritableByteChannel out;
    private final SelectableChannel outSelectable;
    private final Closeable[] closeInOrder;
    /** {@link #in} registered for reading; used by the one thread that has the read turn. */
    private final Selector readable;
    private final IncomingFrames frames = new IncomingFrames(Message.MAX_INBOUND_PAYLOAD);
    private final Object writeLock = new Object();
    /** Header and largest payload; guarded by writeLock. */
    private final ByteBuffer outBuffer = ByteBuffer.allocateDirect(Message.HEADER_SIZE + Message.MAX_PAYLOAD);
    /** {@link #out} registered for writing, made when the peer first does not take a message at once. */
    private volatile Selector writable;
    private volatile boolean open = true;

    private <I extends SelectableChannel & ReadableByteChannel, O extends SelectableChannel & WritableByteChannel> PolledConnection(
            I in, O out, Closeable... closeInOrder) throws IOException {
        this.in = in;
        this.out = out;
        this.outSelectable = out;
        this.closeInOrder = closeInOrder;
        in.configureBlocking(false);
        out.configureBlocking(false);
        this.readable = Selector.open();
        in.register(readable, SelectionKey.OP_READ);
    }

    /** Makes a connection of {@code in} and {@code out} (may be the same channel); closes everything given when that fails. */
    static <I extends SelectableChannel & ReadableByteChannel, O extends SelectableChannel & WritableByteChannel> PolledConnection of(
            I in, O out, Closeable... closeInOrder) throws IOException {
        try {
            return new PolledConnection(in, out, closeInOrder);
        } catch (IOException | RuntimeException e) {
            for (Closeable c : closeInOrder) {
                try {
                    c.close();
                } catch (IOException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw e;
        }
    }

    @Override
    public boolean pollable() {
        return true;
    }

    @Override
    public boolean isOpen() {
        return open;
    }

    @Override
    public Message poll(long timeoutMillis) throws IOException {
        try {
            Message m = frames.buffered();
            if (m != null) {
                return m;
            }
            readable.select(timeoutMillis);
            readable.selectedKeys().clear();
            if (!open) {
                throw new ClosedChannelException();
            }
            return frames.next(in);
        } catch (ClosedSelectorException e) {
            throw new ClosedChannelException();
        }
    }

    @Override
    public Message read() throws IOException {
        Message m;
        while ((m = poll(0)) == null) {
            if (!open) {
                throw new ClosedChannelException();
            }
        }
        return m;
    }

    @Override
    public void write(Message message) throws IOException {
        boolean interrupted = Thread.interrupted(); // a writer waiting for room must not spin on it
        try {
            synchronized (writeLock) {
                outBuffer.clear();
                message.encode(outBuffer);
                outBuffer.flip();
                while (outBuffer.hasRemaining()) {
                    if (out.write(outBuffer) == 0) {
                        interrupted |= awaitWritable();
                    }
                }
            }
        } catch (ClosedSelectorException e) {
            throw new ClosedChannelException();
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Waits until the peer takes more bytes (guarded by writeLock); true if it consumed an interrupt. */
    private boolean awaitWritable() throws IOException {
        Selector w = writable;
        if (w == null) {
            w = Selector.open();
            outSelectable.register(w, SelectionKey.OP_WRITE);
            writable = w;
            if (!open) {
                w.close();
            }
        }
        w.select();
        w.selectedKeys().clear();
        if (!open) {
            throw new ClosedChannelException();
        }
        return Thread.interrupted();
    }

    @Override
    public void close() {
        open = false;
        closeQuietly(readable);
        closeQuietly(writable);
        for (Closeable c : closeInOrder) {
            closeQuietly(c);
        }
    }

    private static void closeQuietly(Closeable c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (IOException e) {
            // closing anyway
        }
    }
}
