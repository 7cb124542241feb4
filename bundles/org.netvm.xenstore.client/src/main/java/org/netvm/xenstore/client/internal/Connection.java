package org.netvm.xenstore.client.internal;

import java.io.Closeable;
import java.io.IOException;

import org.netvm.xenstore.wire.Message;

/**
 * One open connection to xenstored. {@link #read()} and {@link #poll(long)} are only ever called by one
 * thread at a time (the one with the client's read turn); {@link #write(Message)} may be called by many threads at once and must send each message
 * whole. {@link #close()} may be called from any thread and must wake a blocked reader.
 */
public interface Connection extends Closeable {

    /** Sends one whole message. */
    void write(Message message) throws IOException;

    /** Blocks until one whole message (of at most {@link Message#MAX_INBOUND_PAYLOAD} bytes) arrives; {@link java.io.EOFException} when the daemon hung up. */
    Message read() throws IOException;

    /**
     * Whether {@link #poll(long)} works: a caller may then read its own reply and give up waiting at
     * any moment (timeout, interrupt) without breaking the stream. Otherwise only the client's I/O
     * thread reads, with {@link #read()}.
     */
    default boolean pollable() {
        return false;
    }

    /**
     * Waits at most about {@code timeoutMillis} (0: until something happens) for one whole message;
     * null when none is whole by then, when the calling thread is interrupted (its interrupt status
     * stays set) or when woken for no message. Only when {@link #pollable()}.
     */
    default Message poll(long timeoutMillis) throws IOException {
        throw new UnsupportedOperationException("not pollable");
    }

    /** False once {@link #close()} was called. */
    default boolean isOpen() {
        return true;
    }

    @Override
    void close();
}
