package org.netvm.xenstore.client.internal;

import java.io.EOFException;
import java.io.IOException;
import java.net.ProtocolException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ReadableByteChannel;

import org.netvm.xenstore.wire.Message;

/**
 * Whole messages out of a non-blocking stream: {@link #next} returns a message once all its bytes are
 * there and {@code null} before, keeping partial bytes for the next call, so a reader may stop waiting
 * (timeout, interrupt) at any moment and another thread take over the stream later without losing a
 * byte. One system call usually brings a whole reply (or a pipelining burst). Used by one thread at a
 * time.
 */
final class IncomingFrames {

    /** Holds any message up to the largest request's reply; larger payloads get an array of their own. */
    private static final int BUFFER_SIZE = 8192;

    private final int maxPayload;
    /** Unread bytes between position and limit. */
    private final ByteBuffer buffer = ByteBuffer.allocateDirect(BUFFER_SIZE).order(ByteOrder.LITTLE_ENDIAN).flip();
    /** The payload of a message larger than the buffer while it arrives, with its header; null otherwise. */
    private ByteBuffer large;
    private int largeType;
    private int largeRequestId;
    private int largeTxId;

    IncomingFrames(int maxPayload) {
        this.maxPayload = maxPayload;
    }

    /** The next message if it is whole in what was read already (no system call), else null. */
    Message buffered() throws ProtocolException {
        return large == null ? take() : null;
    }

    /**
     * The next whole message from what is buffered plus at most one read from {@code channel} (a
     * daemon may send a header and its payload in separate writes: the caller waits for readability
     * again rather than trying reads that would find nothing); null when it is not whole yet. Blocks
     * only if {@code channel} is in blocking mode.
     *
     * @throws EOFException      at end of stream, also in the middle of a message
     * @throws ProtocolException when the announced length is negative or above the limit
     */
    Message next(ReadableByteChannel channel) throws IOException {
        Message m = buffered();
        if (m != null) {
            return m;
        }
        if (large != null) {
            return fillLarge(channel);
        }
        buffer.compact();
        int r;
        try {
            r = channel.read(buffer);
        } finally {
            buffer.flip();
        }
        if (r < 0) {
            throw new EOFException("end of stream with " + buffer.remaining() + " bytes of a message read");
        }
        m = take();
        return m == null && large != null ? fillLarge(channel) : m;
    }

    /** A message whole in the buffer, or null (and {@link #large} set when its payload does not fit). */
    private Message take() throws ProtocolException {
        if (buffer.remaining() < Message.HEADER_SIZE) {
            return null;
        }
        int at = buffer.position();
        int len = buffer.getInt(at + 12);
        if (len < 0 || len > maxPayload) {
            throw new ProtocolException("announced payload of " + Integer.toUnsignedString(len) + " bytes exceeds " + maxPayload);
        }
        int type = buffer.getInt(at);
        int requestId = buffer.getInt(at + 4);
        int txId = buffer.getInt(at + 8);
        if (Message.HEADER_SIZE + len > buffer.capacity()) {
            buffer.position(at + Message.HEADER_SIZE);
            large = ByteBuffer.wrap(new byte[len]);
            largeType = type;
            largeRequestId = requestId;
            largeTxId = txId;
            return null;
        }
        if (buffer.remaining() < Message.HEADER_SIZE + len) {
            return null;
        }
        byte[] payload = new byte[len];
        buffer.position(at + Message.HEADER_SIZE).get(payload);
        return new Message(type, requestId, txId, payload);
    }

    private Message fillLarge(ReadableByteChannel channel) throws IOException {
        int buffered = Math.min(buffer.remaining(), large.remaining());
        if (buffered > 0) {
            large.put(large.position(), buffer, buffer.position(), buffered);
            large.position(large.position() + buffered);
            buffer.position(buffer.position() + buffered);
        }
        if (large.hasRemaining() && buffered == 0) {
            if (channel.read(large) < 0) {
                throw new EOFException("end of stream after " + large.position() + " of " + large.capacity() + " payload bytes");
            }
        }
        if (large.hasRemaining()) {
            return null;
        }
        Message m = new Message(largeType, largeRequestId, largeTxId, large.array());
        large = null;
        return m;
    }
}
