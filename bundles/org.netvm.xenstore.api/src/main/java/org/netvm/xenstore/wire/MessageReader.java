package org.netvm.xenstore.wire;

import java.io.EOFException;
import java.io.IOException;
import java.net.ProtocolException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ReadableByteChannel;

/**
 * Reads whole messages from one stream, like {@link Message#read(ReadableByteChannel, int)}, but
 * through a small buffer of its own: one system call usually brings a header with its payload, and
 * a pipelining peer's burst of messages at once. It reads from the channel only when the buffer
 * does not hold the next message's header (or payload) yet, so it never blocks while a whole
 * message is buffered. One reader per stream, used by one thread at a time.
 *
 * @since 1.2
 */
public final class MessageReader {

    /** Large enough for a burst of typical requests; a larger payload is read straight into its array. */
    private static final int BUFFER_SIZE = 1024;

    private final ReadableByteChannel channel;
    private final int maxPayload;
    /** Unread bytes between position and limit. */
    private final ByteBuffer buffer;

    /**
     * @param maxPayload the largest payload accepted, at most {@link Message#MAX_INBOUND_PAYLOAD}
     *                   (a daemon reading requests uses {@link Message#MAX_PAYLOAD})
     */
    public MessageReader(ReadableByteChannel channel, int maxPayload) {
        if (maxPayload < 0 || maxPayload > Message.MAX_INBOUND_PAYLOAD) {
            throw new IllegalArgumentException("maxPayload " + maxPayload + " is not within 0.." + Message.MAX_INBOUND_PAYLOAD);
        }
        this.channel = channel;
        this.maxPayload = maxPayload;
        this.buffer = ByteBuffer.allocateDirect(BUFFER_SIZE).order(ByteOrder.LITTLE_ENDIAN).flip();
    }

    /**
     * Blocks until one whole message is there and returns it.
     *
     * @throws EOFException      at end of stream, also in the middle of a message
     * @throws ProtocolException when the announced length is negative or above the limit
     * @throws IOException       when reading fails
     */
    public Message read() throws IOException {
        fillTo(Message.HEADER_SIZE);
        int at = buffer.position();
        int type = buffer.getInt(at);
        int req = buffer.getInt(at + 4);
        int tx = buffer.getInt(at + 8);
        int len = buffer.getInt(at + 12);
        if (len < 0 || len > maxPayload) {
            throw new ProtocolException("announced payload of " + Integer.toUnsignedString(len) + " bytes exceeds " + maxPayload);
        }
        buffer.position(at + Message.HEADER_SIZE);
        byte[] payload = new byte[len];
        if (len <= buffer.capacity()) {
            fillTo(len);
            buffer.get(payload);
        } else {
            int have = buffer.remaining();
            buffer.get(payload, 0, have);
            ByteBuffer rest = ByteBuffer.wrap(payload, have, len - have);
            while (rest.hasRemaining()) {
                if (channel.read(rest) < 0) {
                    throw new EOFException("end of stream after " + rest.position() + " of " + len + " payload bytes");
                }
            }
        }
        return new Message(type, req, tx, payload);
    }

    /** Reads until at least {@code n} (at most the buffer's capacity) unread bytes are buffered. */
    private void fillTo(int n) throws IOException {
        while (buffer.remaining() < n) {
            buffer.compact();
            int r;
            try {
                r = channel.read(buffer);
            } finally {
                buffer.flip();
            }
            if (r < 0) {
                throw new EOFException("end of stream after " + buffer.remaining() + " of " + n + " bytes");
            }
        }
    }
}
