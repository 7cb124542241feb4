package org.netvm.xenstore.client.internal;

import java.io.Closeable;
import java.io.IOException;

import org.netvm.xenstore.wire.Message;

/**
 * One open connection to xenstored. {@link #read()} is only ever called by the client's single reader
 * thread; {@link #write(Message)} may be called by many threads at once and must send each message
 * whole. {@link #close()} may be called from any thread and must wake a blocked reader.
 */
public interface Connection extends Closeable {

    /** Sends one whole message. */
    void write(Message message) throws IOException;

    /** Blocks until one whole message (of at most {@link Message#MAX_INBOUND_PAYLOAD} bytes) arrives; {@link java.io.EOFException} when the daemon hung up. */
    Message read() throws IOException;

    @Override
    void close();
}
