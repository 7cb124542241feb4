package org.netvm.xenstore.client.internal;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ReadableByteChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.netvm.xenstore.wire.Message;
import org.netvm.xenstore.wire.MessageType;

/**
 * A message received from the daemon. Unlike {@link Message} it may carry more than
 * {@link Message#MAX_PAYLOAD} bytes: oxenstored answers DIRECTORY on a large node with one oversized
 * reply. Requests are always encoded with {@link Message}.
 */
public record Frame(int type, int requestId, int txId, byte[] payload) {

    /** The largest payload accepted from a daemon (oversized oxenstored listings); more is a protocol error. */
    public static final int MAX_INBOUND_PAYLOAD = 1 << 20;

    public MessageType messageType() {
        return MessageType.of(type);
    }

    /** Splits the payload at NUL bytes; a trailing NUL does not produce an empty last field. */
    public List<String> fields() {
        List<String> out = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < payload.length; i++) {
            if (payload[i] == 0) {
                out.add(new String(payload, start, i - start, StandardCharsets.UTF_8));
                start = i + 1;
            }
        }
        if (start < payload.length) {
            out.add(new String(payload, start, payload.length - start, StandardCharsets.UTF_8));
        }
        return out;
    }

    /** The payload as text without one trailing NUL. */
    public String text() {
        int len = payload.length;
        if (len > 0 && payload[len - 1] == 0) {
            len--;
        }
        return new String(payload, 0, len, StandardCharsets.UTF_8);
    }

    /** The payload as text, as it is (READ replies carry the value without terminator). */
    public String raw() {
        return new String(payload, StandardCharsets.UTF_8);
    }

    /** A frame with the same content as {@code m} (tests, and fakes that build replies with the codec). */
    public static Frame of(Message m) {
        return new Frame(m.type(), m.requestId(), m.txId(), m.payload());
    }

    /**
     * Reads one whole frame: the 16-byte little-endian header of {@link Message}, then the payload.
     *
     * @throws EOFException at end of stream, also in the middle of a frame
     * @throws IOException  when the announced length is negative or above {@link #MAX_INBOUND_PAYLOAD}
     */
    public static Frame read(ReadableByteChannel channel) throws IOException {
        ByteBuffer header = ByteBuffer.allocate(Message.HEADER_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        fill(channel, header);
        header.flip();
        int type = header.getInt();
        int req = header.getInt();
        int tx = header.getInt();
        int len = header.getInt();
        if (len < 0 || len > MAX_INBOUND_PAYLOAD) {
            throw new IOException("daemon announced a payload of " + Integer.toUnsignedString(len) + " bytes");
        }
        ByteBuffer payload = ByteBuffer.allocate(len);
        fill(channel, payload);
        return new Frame(type, req, tx, payload.array());
    }

    private static void fill(ReadableByteChannel channel, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            if (channel.read(buf) < 0) {
                throw new EOFException("connection closed by the daemon");
            }
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Frame f && f.type == type && f.requestId == requestId && f.txId == txId
                && java.util.Arrays.equals(f.payload, payload);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * (31 * type + requestId) + txId) + java.util.Arrays.hashCode(payload);
    }

    @Override
    public String toString() {
        MessageType t = messageType();
        String body = payload.length > 200 ? new String(payload, 0, 200, StandardCharsets.UTF_8) + "..." : raw();
        return (t == null ? "type" + type : t.name()) + "[req=" + requestId + ", tx=" + txId + ", "
                + body.replace('\0', '|') + "]";
    }
}
