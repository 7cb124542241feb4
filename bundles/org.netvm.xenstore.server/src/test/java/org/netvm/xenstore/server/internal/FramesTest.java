package org.netvm.xenstore.server.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ProtocolException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import org.netvm.xenstore.wire.Message;
import org.netvm.xenstore.wire.MessageType;

/** The reader's framing over a real Unix socket pair, with either way of using the socket. */
class FramesTest {

    private Path dir;
    private SocketChannel client;
    private SocketChannel server;

    @BeforeEach
    void connect() throws IOException {
        dir = Files.createTempDirectory("netvm-frames");
        Path socket = dir.resolve("s");
        try (ServerSocketChannel listen = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            listen.bind(UnixDomainSocketAddress.of(socket));
            client = SocketChannel.open(UnixDomainSocketAddress.of(socket));
            server = listen.accept();
        }
    }

    @AfterEach
    void close() throws IOException {
        client.close();
        server.close();
        Files.deleteIfExists(dir.resolve("s"));
        Files.delete(dir);
    }

    private void send(byte[]... parts) throws IOException {
        for (byte[] p : parts) {
            ByteBuffer b = ByteBuffer.wrap(p);
            while (b.hasRemaining()) {
                client.write(b);
            }
        }
    }

    private static byte[] bytes(Message m) {
        ByteBuffer b = m.encode();
        byte[] out = new byte[b.remaining()];
        b.get(out);
        return out;
    }

    private static Message read(int req, String path) {
        return new Message(MessageType.READ, req, 0, Message.strings(path));
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void oneReadBringsEveryWholeRequestAndKeepsTheRestForLater(boolean polled) throws IOException {
        byte[] c = bytes(read(3, "/c"));
        try (SocketIo io = SocketIo.of(server, polled)) {
            Frames frames = new Frames(Message.MAX_PAYLOAD);
            send(bytes(read(1, "/a")), bytes(read(2, "/b")), Arrays.copyOf(c, 10));
            assertTrue(frames.fill(io));
            assertEquals(1, frames.next().requestId());
            assertEquals(2, frames.next().requestId());
            assertNull(frames.next());
            assertEquals(10, frames.pending());
            send(Arrays.copyOfRange(c, 10, c.length));
            assertTrue(frames.fill(io));
            Message m = frames.next();
            assertEquals(3, m.requestId());
            assertArrayEquals(Message.strings("/c"), m.payload());
            assertNull(frames.next());
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void aRequestOfTheLargestSizeArrivingInPiecesComesWhole(boolean polled) throws IOException {
        byte[] value = new byte[Message.MAX_PAYLOAD - 3];
        Arrays.fill(value, (byte) 'v');
        byte[] big = bytes(new Message(MessageType.WRITE, 7, 0, Message.pathAndValue("/a", value)));
        try (SocketIo io = SocketIo.of(server, polled)) {
            Frames frames = new Frames(Message.MAX_PAYLOAD);
            for (int at = 0; at < big.length; at += 1000) {
                assertNull(frames.next());
                send(Arrays.copyOfRange(big, at, Math.min(big.length, at + 1000)));
                do {
                    assertTrue(frames.fill(io));
                } while (frames.pending() < Math.min(big.length, at + 1000));
            }
            Message m = frames.next();
            assertEquals(7, m.requestId());
            assertEquals(Message.MAX_PAYLOAD, m.payload().length);
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void aHeaderAnnouncingTooMuchIsRefusedBeforeItsPayload(boolean polled) throws IOException {
        ByteBuffer header = ByteBuffer.allocate(Message.HEADER_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        header.putInt(MessageType.WRITE.code()).putInt(1).putInt(0).putInt(Message.MAX_PAYLOAD + 1);
        try (SocketIo io = SocketIo.of(server, polled)) {
            Frames frames = new Frames(Message.MAX_PAYLOAD);
            send(header.array());
            assertTrue(frames.fill(io));
            assertThrows(ProtocolException.class, frames::next);
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void theEndOfTheStreamEndsFilling(boolean polled) throws IOException {
        try (SocketIo io = SocketIo.of(server, polled)) {
            Frames frames = new Frames(Message.MAX_PAYLOAD);
            send(Arrays.copyOf(bytes(read(1, "/a")), 5));
            client.close();
            assertTrue(frames.fill(io));
            assertFalse(frames.fill(io));
            assertNull(frames.next());
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void closingWakesAReaderThatWaits(boolean polled) throws Exception {
        SocketIo io = SocketIo.of(server, polled);
        CompletableFuture<Boolean> filled = CompletableFuture.supplyAsync(() -> {
            try {
                return new Frames(Message.MAX_PAYLOAD).fill(io);
            } catch (IOException e) {
                return false;
            }
        });
        Thread.sleep(100);
        assertFalse(filled.isDone());
        server.close();
        io.close();
        assertFalse(filled.get(5, TimeUnit.SECONDS));
    }

    @org.junit.jupiter.api.Test
    void thePolledWayWritesWhatTheSocketTakesAndWaitsForTheRest() throws Exception {
        try (SocketIo io = SocketIo.of(server, true)) {
            byte[] lots = new byte[4 << 20];
            ByteBuffer[] out = {ByteBuffer.wrap(lots)};
            assertFalse(io.writeNow(out), "a socket nobody reads does not take 4 MB at once");
            CompletableFuture<Void> rest = CompletableFuture.runAsync(() -> {
                try {
                    io.writeAll(out);
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            ByteBuffer in = ByteBuffer.allocate(1 << 16);
            long got = 0;
            while (got < lots.length) {
                got += client.read(in.clear());
            }
            rest.get(5, TimeUnit.SECONDS);
            assertFalse(out[0].hasRemaining());
        }
    }
}
