package org.netvm.xenstore.client.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.ProtocolException;
import java.nio.BufferOverflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.ReadableByteChannel;
import java.util.Arrays;

import org.junit.jupiter.api.Test;
import org.netvm.xenstore.wire.Message;
import org.netvm.xenstore.wire.MessageReader;
import org.netvm.xenstore.wire.MessageType;

/** The buffered {@link MessageReader} reads what {@link Message#read} reads, with the same limits. */
class MessageReaderTest {

    private static ReadableByteChannel bytes(byte[] b) {
        return Channels.newChannel(new java.io.ByteArrayInputStream(b));
    }

    /** A channel that hands out at most {@code step} bytes per read and counts its reads. */
    private static final class Trickle implements ReadableByteChannel {
        private final byte[] b;
        private final int step;
        private int pos;
        int reads;

        Trickle(byte[] b, int step) {
            this.b = b;
            this.step = step;
        }

        @Override
        public int read(ByteBuffer dst) {
            reads++;
            if (pos == b.length) {
                return -1;
            }
            int n = Math.min(step, Math.min(dst.remaining(), b.length - pos));
            dst.put(b, pos, n);
            pos += n;
            return n;
        }

        @Override
        public boolean isOpen() {
            return true;
        }

        @Override
        public void close() {
        }
    }

    private static byte[] concat(Message... ms) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Message m : ms) {
            out.writeBytes(m.encode().array());
        }
        return out.toByteArray();
    }

    @Test
    void aBurstOfMessagesIncludingOneLargerThanTheBufferComesOutWholeAndInOrder() throws IOException {
        Message a = new Message(MessageType.READ, 1, 0, "/a\0".getBytes());
        Message big = new Message(MessageType.WRITE, 2, 7, new byte[Message.MAX_PAYLOAD]);
        Message c = new Message(MessageType.WATCH_EVENT, 0, 0, Message.strings("/p", "tok"));
        Message empty = new Message(MessageType.GET_DOMAIN_PATH, 4, 0, new byte[0]);
        for (int step : new int[] {1, 5, 16, 100, 100000}) {
            Trickle ch = new Trickle(concat(a, big, c, empty), step);
            MessageReader r = new MessageReader(ch, Message.MAX_PAYLOAD);
            assertEquals(a, r.read());
            assertEquals(big, r.read());
            assertEquals(c, r.read());
            assertEquals(empty, r.read());
            assertThrows(EOFException.class, r::read);
        }
    }

    @Test
    void smallMessagesArriveWithOneReadEach() throws IOException {
        byte[] wire = concat(new Message(MessageType.READ, 1, 0, "x".getBytes()), new Message(MessageType.READ, 2, 0, "y".getBytes()));
        Trickle ch = new Trickle(wire, 100000);
        MessageReader r = new MessageReader(ch, Message.MAX_PAYLOAD);
        assertEquals(1, r.read().requestId());
        assertEquals(2, r.read().requestId()); // already buffered: no second read
        assertEquals(1, ch.reads);
    }

    @Test
    void limitsAndTruncationFailLikeMessageRead() {
        byte[] big = new byte[16 + Message.MAX_PAYLOAD + 1];
        ByteBuffer.wrap(big).order(ByteOrder.LITTLE_ENDIAN).putInt(2).putInt(5).putInt(0).putInt(Message.MAX_PAYLOAD + 1);
        assertThrows(ProtocolException.class, () -> new MessageReader(bytes(big), Message.MAX_PAYLOAD).read());
        ByteBuffer.wrap(big).order(ByteOrder.LITTLE_ENDIAN).putInt(12, -1);
        assertThrows(ProtocolException.class, () -> new MessageReader(bytes(big), Message.MAX_INBOUND_PAYLOAD).read());
        byte[] wire = new Message(MessageType.READ, 1, 0, "abcdef".getBytes()).encode().array();
        assertThrows(EOFException.class, () -> new MessageReader(bytes(Arrays.copyOf(wire, wire.length - 2)), 4096).read());
        assertThrows(EOFException.class, () -> new MessageReader(bytes(Arrays.copyOf(wire, 7)), 4096).read());
        assertThrows(IllegalArgumentException.class, () -> new MessageReader(bytes(wire), Message.MAX_INBOUND_PAYLOAD + 1));
    }

    @Test
    void oversizedDaemonRepliesAreReadUpToTheClientsLimit() throws IOException {
        byte[] wire = new byte[16 + 100000];
        ByteBuffer.wrap(wire).order(ByteOrder.LITTLE_ENDIAN).putInt(1).putInt(5).putInt(0).putInt(100000);
        wire[wire.length - 1] = 42;
        Message m = new MessageReader(new Trickle(wire, 3000), Message.MAX_INBOUND_PAYLOAD).read();
        assertEquals(100000, m.payload().length);
        assertEquals(42, m.payload()[99999]);
    }

    @Test
    void encodeIntoABufferMatchesEncodeAndKeepsTheBuffersOrder() {
        Message m = new Message(MessageType.WRITE, 0x01020304, 9, Message.pathAndValue("/a", "v".getBytes()));
        ByteBuffer into = ByteBuffer.allocateDirect(64);
        m.encode(into);
        assertEquals(ByteOrder.BIG_ENDIAN, into.order());
        byte[] got = new byte[into.flip().remaining()];
        into.get(got);
        assertArrayEquals(m.encode().array(), got);
        assertThrows(BufferOverflowException.class, () -> m.encode(ByteBuffer.allocate(19)));
        assertThrows(IllegalArgumentException.class, () -> new Message(2, 1, 0, new byte[Message.MAX_PAYLOAD + 1]).encode(ByteBuffer.allocate(9000)));
    }
}
