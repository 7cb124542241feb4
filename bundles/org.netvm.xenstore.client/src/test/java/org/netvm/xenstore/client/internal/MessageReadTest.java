package org.netvm.xenstore.client.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.EOFException;
import java.io.IOException;
import java.net.ProtocolException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.ReadableByteChannel;
import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.netvm.xenstore.wire.Message;
import org.netvm.xenstore.wire.MessageType;

/** The one wire codec ({@link Message}) as the client reads daemon replies with it. */
class MessageReadTest {

    private static Message read(ReadableByteChannel ch) throws IOException {
        return Message.read(ch, Message.MAX_INBOUND_PAYLOAD);
    }

    private static ReadableByteChannel bytes(byte[] b) {
        return Channels.newChannel(new java.io.ByteArrayInputStream(b));
    }

    /** A channel that hands out one byte per read, as a stream may. */
    private static ReadableByteChannel trickle(byte[] b) {
        return new ReadableByteChannel() {
            int pos;

            @Override
            public int read(ByteBuffer dst) {
                if (pos == b.length) {
                    return -1;
                }
                dst.put(b[pos++]);
                return 1;
            }

            @Override
            public boolean isOpen() {
                return true;
            }

            @Override
            public void close() {
            }
        };
    }

    @Test
    void readsWhatMessageEncodesLittleEndian() throws IOException {
        Message m = new Message(MessageType.WATCH_EVENT, 0x01020304, 9, Message.strings("/a", "tok"));
        byte[] wire = m.encode().array();
        assertEquals(15, wire[0]);
        assertEquals(0x04, wire[4]);
        Message f = read(trickle(wire));
        assertEquals(MessageType.WATCH_EVENT, f.messageType());
        assertEquals(0x01020304, f.requestId());
        assertEquals(9, f.txId());
        assertEquals(List.of("/a", "tok"), f.fields());
        assertEquals(m, f);
    }

    @Test
    void textDropsOneTrailingNulRawKeepsAll() {
        Message f = new Message(2, 1, 0, "v\0".getBytes());
        assertEquals("v", f.text());
        assertEquals("v\0", f.raw());
        assertEquals(List.of(), new Message(1, 1, 0, new byte[0]).fields());
    }

    @Test
    void twoFramesBackToBack() throws IOException {
        byte[] a = new Message(MessageType.READ, 1, 0, "x".getBytes()).encode().array();
        byte[] b = new Message(MessageType.READ, 2, 0, new byte[0]).encode().array();
        byte[] both = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, both, a.length, b.length);
        ReadableByteChannel ch = bytes(both);
        assertEquals(1, read(ch).requestId());
        assertEquals(2, read(ch).requestId());
        assertThrows(EOFException.class, () -> read(ch));
    }

    @Test
    void acceptsOversizedDaemonRepliesUpToTheLimitOnly() throws IOException {
        byte[] big = new byte[16 + 10000];
        ByteBuffer.wrap(big).order(ByteOrder.LITTLE_ENDIAN).putInt(1).putInt(5).putInt(0).putInt(10000);
        assertEquals(10000, read(bytes(big)).payload().length);

        byte[] huge = new byte[16];
        ByteBuffer.wrap(huge).order(ByteOrder.LITTLE_ENDIAN).putInt(1).putInt(5).putInt(0).putInt(Message.MAX_INBOUND_PAYLOAD + 1);
        assertThrows(IOException.class, () -> read(bytes(huge)));
        ByteBuffer.wrap(huge).order(ByteOrder.LITTLE_ENDIAN).putInt(12, -1);
        assertThrows(IOException.class, () -> read(bytes(huge)));
    }

    @Test
    void aDaemonReadsRequestsUpToMaxPayloadAndNothingLargerIsSent() throws IOException {
        byte[] big = new byte[16 + Message.MAX_PAYLOAD + 1];
        ByteBuffer.wrap(big).order(ByteOrder.LITTLE_ENDIAN).putInt(2).putInt(5).putInt(0).putInt(Message.MAX_PAYLOAD + 1);
        assertThrows(ProtocolException.class, () -> Message.read(bytes(big), Message.MAX_PAYLOAD));
        Message oversized = Message.read(bytes(big), Message.MAX_INBOUND_PAYLOAD);
        assertThrows(IllegalArgumentException.class, oversized::encode);
        assertThrows(IllegalArgumentException.class, () -> new Message(2, 1, 0, new byte[Message.MAX_INBOUND_PAYLOAD + 1]));
    }

    @Test
    void truncatedFrameIsEof() {
        byte[] wire = new Message(MessageType.READ, 1, 0, "abcdef".getBytes()).encode().array();
        assertThrows(EOFException.class, () -> read(bytes(Arrays.copyOf(wire, wire.length - 2))));
        assertThrows(EOFException.class, () -> read(bytes(Arrays.copyOf(wire, 7))));
    }
}
