package org.netvm.xenstore.server.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;

/**
 * How a connection's threads use its socket: the reader waits for requests and writes replies
 * without ever blocking, the writer thread writes and may wait as long as the client does not read.
 * Two ways, chosen by the thread kind, each with the fewest system calls for it:
 * <ul>
 * <li>{@link Toggled}, for virtual threads (guests): the channel stays in blocking mode and the reader
 * switches it to non-blocking around its write. For a virtual thread the JDK keeps the socket
 * non-blocking underneath and only flips a flag, so the switch costs no system call.</li>
 * <li>{@link Polled}, for platform threads (dom0): switching a platform thread's channel costs four
 * fcntl calls per reply, so the channel is non-blocking for good and each thread waits on a selector
 * of its own (epoll) when the socket has nothing to read or no room: a request costs one epoll_wait,
 * one read and one write.</li>
 * </ul>
 */
abstract sealed class SocketIo implements AutoCloseable {

    final SocketChannel channel;

    private SocketIo(SocketChannel channel) {
        this.channel = channel;
    }

    static SocketIo of(SocketChannel channel, boolean platformThreads) throws IOException {
        return platformThreads ? new Polled(channel) : new Toggled(channel);
    }

    /** Reads what has arrived, waiting until at least one byte has (or the end): -1 at the end. */
    abstract int read(ByteBuffer into) throws IOException;

    /** Writes what the socket takes without waiting; true when everything was written. */
    abstract boolean writeNow(ByteBuffer[] buffers) throws IOException;

    /** Writes everything, waiting while the client does not read. */
    abstract void writeAll(ByteBuffer[] buffers) throws IOException;

    /** Wakes whoever waits (the channel was closed), releasing what the waits hold. */
    @Override
    public abstract void close();

    static final class Toggled extends SocketIo {

        Toggled(SocketChannel channel) {
            super(channel);
        }

        @Override
        int read(ByteBuffer into) throws IOException {
            int n;
            do {
                n = channel.read(into);
            } while (n == 0 && into.hasRemaining());
            return n;
        }

        @Override
        boolean writeNow(ByteBuffer[] buffers) throws IOException {
            ByteBuffer last = buffers[buffers.length - 1];
            channel.configureBlocking(false);
            try {
                while (last.hasRemaining() && channel.write(buffers) > 0) {
                    // the socket took some; try the rest
                }
            } finally {
                channel.configureBlocking(true);
            }
            return !last.hasRemaining();
        }

        @Override
        void writeAll(ByteBuffer[] buffers) throws IOException {
            ByteBuffer last = buffers[buffers.length - 1];
            while (last.hasRemaining()) {
                channel.write(buffers);
            }
        }

        @Override
        public void close() {
            // closing the channel wakes a blocked read or write
        }
    }

    static final class Polled extends SocketIo {

        private final Selector readable;
        private final Selector writable;
        /** The last read may have left bytes in the socket (it filled the buffer): read before waiting. */
        private boolean more; // reader thread only

        Polled(SocketChannel channel) throws IOException {
            super(channel);
            channel.configureBlocking(false);
            readable = Selector.open();
            try {
                writable = Selector.open();
            } catch (IOException e) {
                readable.close();
                throw e;
            }
            channel.register(readable, SelectionKey.OP_READ);
            channel.register(writable, SelectionKey.OP_WRITE);
        }

        @Override
        int read(ByteBuffer into) throws IOException {
            while (true) {
                if (!more) {
                    await(readable); // level-triggered: returns at once when bytes are waiting
                }
                int n = channel.read(into);
                more = n > 0 && !into.hasRemaining();
                if (n != 0 || !into.hasRemaining()) {
                    return n;
                }
            }
        }

        @Override
        boolean writeNow(ByteBuffer[] buffers) throws IOException {
            ByteBuffer last = buffers[buffers.length - 1];
            while (last.hasRemaining() && channel.write(buffers) > 0) {
                // the socket took some; try the rest
            }
            return !last.hasRemaining();
        }

        @Override
        void writeAll(ByteBuffer[] buffers) throws IOException {
            while (!writeNow(buffers)) {
                await(writable);
            }
        }

        private void await(Selector selector) throws IOException {
            try {
                if (!channel.isOpen()) {
                    throw new ClosedChannelException();
                }
                selector.select(); // close() closes the selector, which ends a select in progress
                selector.selectedKeys().clear();
            } catch (ClosedSelectorException e) {
                throw new ClosedChannelException(); // closed meanwhile
            }
        }

        @Override
        public void close() {
            // deregisters the channel (its descriptor is closed then) and wakes a thread in select
            try {
                readable.close();
            } catch (IOException e) {
                // nothing to do
            }
            try {
                writable.close();
            } catch (IOException e) {
                // nothing to do
            }
        }
    }
}
