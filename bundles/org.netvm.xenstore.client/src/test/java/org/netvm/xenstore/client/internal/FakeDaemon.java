package org.netvm.xenstore.client.internal;

import java.io.IOException;
import java.net.ConnectException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Pipe;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

import org.netvm.xenstore.wire.Message;
import org.netvm.xenstore.wire.MessageType;

/**
 * A scripted xenstored behind a {@link Transport}: every {@link #connect()} makes a pair of pipes, the
 * client gets a real connection over them (so its frame codec is exercised) and the test reads decoded
 * requests and writes replies as bytes. The connection is a {@link PolledConnection} (callers read
 * their own replies, as on a Unix socket) or, with {@code polled} false, a blocking
 * {@link ChannelConnection} (only the I/O thread reads, as on the xenbus device).
 */
final class FakeDaemon implements Transport {

    private final boolean polled;

    FakeDaemon() {
        this(true);
    }

    FakeDaemon(boolean polled) {
        this.polled = polled;
    }

    /** Connection attempts that should fail before the next one succeeds. */
    final AtomicInteger refuseNext = new AtomicInteger();
    final AtomicInteger attempts = new AtomicInteger();
    final BlockingQueue<End> ends = new LinkedBlockingQueue<>();
    /** Answers requests automatically when set (null from it: no answer). */
    volatile Function<Message, Message> responder;

    @Override
    public Connection connect() throws IOException {
        attempts.incrementAndGet();
        if (refuseNext.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
            throw new ConnectException("refused (fake)");
        }
        Pipe toDaemon = Pipe.open();
        Pipe toClient = Pipe.open();
        End end = new End(toDaemon.source(), toClient.sink());
        ends.add(end);
        end.start();
        if (polled) {
            return PolledConnection.of(toClient.source(), toDaemon.sink(), toClient.source(), toDaemon.sink());
        }
        return new ChannelConnection(toClient.source(), toDaemon.sink(), toClient.source(), toDaemon.sink());
    }

    @Override
    public String name() {
        return "fake";
    }

    @Override
    public String address() {
        return "fake";
    }

    End nextEnd() throws InterruptedException {
        End e = ends.poll(5, TimeUnit.SECONDS);
        if (e == null) {
            throw new AssertionError("client did not connect");
        }
        return e;
    }

    /** The daemon's side of one connection. */
    final class End {
        final BlockingQueue<Message> requests = new LinkedBlockingQueue<>();
        private final Pipe.SourceChannel in;
        private final Pipe.SinkChannel out;
        volatile boolean clientClosed;

        End(Pipe.SourceChannel in, Pipe.SinkChannel out) {
            this.in = in;
            this.out = out;
        }

        void start() {
            Thread t = new Thread(() -> {
                try {
                    while (true) {
                        Message m = Message.read(in, Message.MAX_PAYLOAD);
                        requests.add(m);
                        Function<Message, Message> r = responder;
                        if (r != null) {
                            Message reply = r.apply(m);
                            if (reply != null) {
                                send(reply);
                            }
                        }
                    }
                } catch (IOException e) {
                    clientClosed = true;
                }
            }, "fake-daemon");
            t.setDaemon(true);
            t.start();
        }

        Message nextRequest() throws InterruptedException {
            Message m = requests.poll(5, TimeUnit.SECONDS);
            if (m == null) {
                throw new AssertionError("no request arrived");
            }
            return m;
        }

        void send(Message m) throws IOException {
            sendRaw(m.encode());
        }

        synchronized void sendRaw(ByteBuffer b) throws IOException {
            while (b.hasRemaining()) {
                out.write(b);
            }
        }

        void reply(Message request, String payload) throws IOException {
            send(new Message(request.type(), request.requestId(), request.txId(), payload.getBytes(StandardCharsets.UTF_8)));
        }

        void error(Message request, String name) throws IOException {
            send(new Message(MessageType.ERROR, request.requestId(), request.txId(), Message.strings(name)));
        }

        void event(String path, String token) throws IOException {
            send(new Message(MessageType.WATCH_EVENT, 0, 0, Message.strings(path, token)));
        }

        /** A reply with a payload larger than {@link Message#encode()} sends, as oxenstored sends for big listings. */
        void oversizedReply(Message request, byte[] payload) throws IOException {
            ByteBuffer b = ByteBuffer.allocate(16 + payload.length).order(ByteOrder.LITTLE_ENDIAN);
            b.putInt(request.type()).putInt(request.requestId()).putInt(request.txId()).putInt(payload.length).put(payload);
            sendRaw(b.flip());
        }

        /** The daemon goes away. */
        void hangUp() throws IOException {
            out.close();
            in.close();
        }
    }

    static Message ok(Message request) {
        return new Message(request.type(), request.requestId(), request.txId(), Message.strings("OK"));
    }
}
