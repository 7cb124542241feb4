package org.netvm.xenstore.wire;

import java.io.EOFException;
import java.io.IOException;
import java.net.ProtocolException;
import java.nio.BufferOverflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ReadableByteChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One xenstore message, sent or received by the client and the embedded daemon alike. {@code type}
 * is the raw wire code so that unknown types survive a round trip (a daemon must answer them with
 * EINVAL); use {@link #messageType()} for the enum.
 *
 * <p>What is sent ({@link #encode()}) carries at most {@link #MAX_PAYLOAD} bytes. A received message
 * may carry up to {@link #MAX_INBOUND_PAYLOAD}: oxenstored answers DIRECTORY on a large node with one
 * oversized reply. Each reader chooses its limit ({@link #read(ReadableByteChannel, int)}).
 */
public record Message(int type, int requestId, int txId, byte[] payload) {

    /** Header size in bytes. */
    public static final int HEADER_SIZE = 16;
    /** XENSTORE_PAYLOAD_MAX. */
    public static final int MAX_PAYLOAD = 4096;
    /**
     * The largest payload a message may hold: a client accepts replies up to this size from a daemon
     * (oversized oxenstored listings); more is a protocol error.
     *
     * @since 1.1
     */
    public static final int MAX_INBOUND_PAYLOAD = 1 << 20;

    /** @throws IllegalArgumentException when the payload exceeds {@link #MAX_INBOUND_PAYLOAD} */
    public Message {
        if (payload.length > MAX_INBOUND_PAYLOAD) {
            throw new IllegalArgumentException("payload of " + payload.length + " bytes exceeds " + MAX_INBOUND_PAYLOAD);
        }
    }

    public Message(MessageType type, int requestId, int txId, byte[] payload) {
        this(type.code(), requestId, txId, payload);
    }

    public MessageType messageType() {
        return MessageType.of(type);
    }

    /** A payload of NUL-terminated strings, as requests with path arguments use. */
    public static byte[] strings(String... fields) {
        return join(true, fields);
    }

    /** Fields separated by NUL with the last not terminated (WRITE: path NUL value). */
    public static byte[] pathAndValue(String path, byte[] value) {
        byte[] p = path.getBytes(StandardCharsets.UTF_8);
        byte[] out = Arrays.copyOf(p, p.length + 1 + value.length);
        System.arraycopy(value, 0, out, p.length + 1, value.length);
        return out;
    }

    static byte[] join(boolean terminateLast, String... fields) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < fields.length; i++) {
            sb.append(fields[i]);
            if (terminateLast || i < fields.length - 1) {
                sb.append('\0');
            }
        }
        return sb.toString().getBytes(StandardCharsets.UTF_8);
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

    /** The payload as text, as it is (READ replies carry the value without terminator). @since 1.1 */
    public String raw() {
        return new String(payload, StandardCharsets.UTF_8);
    }

    /**
     * Header and payload, ready to send.
     *
     * @throws IllegalArgumentException when the payload exceeds {@link #MAX_PAYLOAD}: nothing sends more
     */
    public ByteBuffer encode() {
        if (payload.length > MAX_PAYLOAD) {
            throw new IllegalArgumentException("payload of " + payload.length + " bytes exceeds " + MAX_PAYLOAD);
        }
        ByteBuffer b = ByteBuffer.allocate(HEADER_SIZE + payload.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(type).putInt(requestId).putInt(txId).putInt(payload.length).put(payload);
        return b.flip();
    }

    /**
     * Puts header and payload at {@code into}'s position (little-endian, whatever the buffer's order
     * was; the order is left as it was).
     *
     * @throws IllegalArgumentException when the payload exceeds {@link #MAX_PAYLOAD}
     * @throws BufferOverflowException when {@code into} has not room for the whole message
     * @since 1.2
     */
    public void encode(ByteBuffer into) {
        if (payload.length > MAX_PAYLOAD) {
            throw new IllegalArgumentException("payload of " + payload.length + " bytes exceeds " + MAX_PAYLOAD);
        }
        if (into.remaining() < HEADER_SIZE + payload.length) {
            throw new BufferOverflowException();
        }
        ByteOrder order = into.order();
        into.order(ByteOrder.LITTLE_ENDIAN).putInt(type).putInt(requestId).putInt(txId).putInt(payload.length).put(payload);
        into.order(order);
    }

    /**
     * Reads the header at the buffer's position (which must hold at least {@link #HEADER_SIZE} bytes)
     * without consuming it and returns the payload length it announces.
     *
     * @throws IllegalArgumentException when the length exceeds {@link #MAX_PAYLOAD}
     */
    public static int payloadLength(ByteBuffer header) {
        int len = header.duplicate().order(ByteOrder.LITTLE_ENDIAN).getInt(header.position() + 12);
        if (len < 0 || len > MAX_PAYLOAD) {
            throw new IllegalArgumentException("announced payload of " + Integer.toUnsignedString(len) + " bytes exceeds " + MAX_PAYLOAD);
        }
        return len;
    }

    /** Decodes one whole message (header and payload) from the buffer's position, consuming it. */
    public static Message decode(ByteBuffer buf) {
        ByteBuffer b = buf.order(ByteOrder.LITTLE_ENDIAN);
        int type = b.getInt();
        int req = b.getInt();
        int tx = b.getInt();
        int len = b.getInt();
        if (len < 0 || len > MAX_PAYLOAD) {
            throw new IllegalArgumentException("announced payload of " + Integer.toUnsignedString(len) + " bytes exceeds " + MAX_PAYLOAD);
        }
        byte[] payload = new byte[len];
        b.get(payload);
        return new Message(type, req, tx, payload);
    }

    /**
     * Reads one whole message from a stream: the header, then the payload it announces.
     *
     * @param maxPayload the largest payload accepted, at most {@link #MAX_INBOUND_PAYLOAD} (a daemon
     *                   reading requests uses {@link #MAX_PAYLOAD})
     * @throws EOFException       at end of stream, also in the middle of a message
     * @throws ProtocolException  when the announced length is negative or above {@code maxPayload}
     * @throws IOException        when reading fails
     * @since 1.1
     */
    public static Message read(ReadableByteChannel channel, int maxPayload) throws IOException {
        if (maxPayload < 0 || maxPayload > MAX_INBOUND_PAYLOAD) {
            throw new IllegalArgumentException("maxPayload " + maxPayload + " is not within 0.." + MAX_INBOUND_PAYLOAD);
        }
        ByteBuffer header = ByteBuffer.allocate(HEADER_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        fill(channel, header);
        header.flip();
        int type = header.getInt();
        int req = header.getInt();
        int tx = header.getInt();
        int len = header.getInt();
        if (len < 0 || len > maxPayload) {
            throw new ProtocolException("announced payload of " + Integer.toUnsignedString(len) + " bytes exceeds " + maxPayload);
        }
        ByteBuffer payload = ByteBuffer.allocate(len);
        fill(channel, payload);
        return new Message(type, req, tx, payload.array());
    }

    private static void fill(ReadableByteChannel channel, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            if (channel.read(buf) < 0) {
                throw new EOFException("end of stream after " + buf.position() + " of " + buf.capacity() + " bytes");
            }
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Message m && m.type == type && m.requestId == requestId && m.txId == txId
                && Arrays.equals(m.payload, payload);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * (31 * type + requestId) + txId) + Arrays.hashCode(payload);
    }

    @Override
    public String toString() {
        MessageType t = messageType();
        String body = payload.length > 200 ? new String(payload, 0, 200, StandardCharsets.UTF_8) + "..." : text();
        return (t == null ? "type" + type : t.name()) + "[req=" + requestId + ", tx=" + txId + ", "
                + body.replace('\0', '|') + "]";
    }
}
