package org.netvm.xenstore.server.internal;

import java.io.IOException;
import java.net.ProtocolException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import org.netvm.xenstore.wire.Message;

/**
 * A connection's inbound bytes, cut into whole requests. {@link #fill} reads once, whatever has
 * arrived (a pipelining client's whole burst, up to {@link #CAPACITY} bytes); {@link #next} then
 * hands out the messages that are there whole, so the reader handles all of them before it writes
 * their replies together and reads again. The buffer holds the largest request (header and
 * {@link Message#MAX_PAYLOAD}), so a request is never read in pieces into an array of its own. Used by
 * one thread.
 */
final class Frames {

    /** Room for about a hundred typical requests and at least one of the maximum size. */
    static final int CAPACITY = 8192;

    private final int maxPayload;
    /** Unread bytes between position and limit. */
    private final ByteBuffer buffer = ByteBuffer.allocateDirect(CAPACITY).order(ByteOrder.LITTLE_ENDIAN).flip();

    Frames(int maxPayload) {
        if (maxPayload < 0 || Message.HEADER_SIZE + maxPayload > CAPACITY) {
            throw new IllegalArgumentException("maxPayload " + maxPayload);
        }
        this.maxPayload = maxPayload;
    }

    /** Reads what arrived (waiting for at least one byte); false at the end of the stream. */
    boolean fill(SocketIo io) throws IOException {
        buffer.compact();
        int n;
        try {
            n = io.read(buffer);
        } finally {
            buffer.flip();
        }
        return n >= 0;
    }

    /**
     * The next whole message buffered, or null until more bytes arrive.
     *
     * @throws ProtocolException as soon as a header announces a payload above the limit
     */
    Message next() throws ProtocolException {
        if (buffer.remaining() < Message.HEADER_SIZE) {
            return null;
        }
        int at = buffer.position();
        int len = buffer.getInt(at + 12);
        if (len < 0 || len > maxPayload) {
            throw new ProtocolException("announced payload of " + Integer.toUnsignedString(len) + " bytes exceeds " + maxPayload);
        }
        if (buffer.remaining() < Message.HEADER_SIZE + len) {
            return null;
        }
        byte[] payload = new byte[len];
        buffer.get(at + Message.HEADER_SIZE, payload);
        buffer.position(at + Message.HEADER_SIZE + len);
        return new Message(buffer.getInt(at), buffer.getInt(at + 4), buffer.getInt(at + 8), payload);
    }

    /** Bytes of a message not whole yet (a partial header or payload). */
    int pending() {
        return buffer.remaining();
    }
}
