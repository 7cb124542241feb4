package org.netvm.xenstore.server.internal;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import org.netvm.xenstore.wire.Message;
import org.netvm.xenstore.wire.MessageType;

/** A bare xenstore wire client for tests: sends raw messages, collects everything that comes back. */
final class RawClient implements AutoCloseable {

    private static final Message EOF = new Message(-1, 0, 0, new byte[0]);

    private final SocketChannel ch;
    private final LinkedBlockingQueue<Message> in = new LinkedBlockingQueue<>();
    private final List<Message> pendingEvents = new ArrayList<>();
    private int nextReq = 1;

    RawClient(Path socket) throws IOException {
        ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        ch.connect(UnixDomainSocketAddress.of(socket));
        Thread.ofVirtual().start(this::readLoop);
    }

    private void readLoop() {
        try {
            while (true) {
                in.add(Message.read(ch, Message.MAX_PAYLOAD));
            }
        } catch (IOException | RuntimeException e) {
            // closed, or a reply announcing more than 4096 bytes
        }
        in.add(EOF);
    }

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    /** Sends a request and returns its request id. */
    int send(int type, int tx, byte[] payload) throws IOException {
        int req = nextReq++;
        ByteBuffer b = new Message(type, req, tx, payload).encode();
        while (b.hasRemaining()) {
            ch.write(b);
        }
        return req;
    }

    void sendRaw(ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    /** Sends and returns every message up to and including the reply to this request (events first, as received). */
    List<Message> call(int type, int tx, byte[] payload) throws IOException, InterruptedException {
        int req = send(type, tx, payload);
        List<Message> out = new ArrayList<>();
        while (true) {
            Message m = in.poll(5, TimeUnit.SECONDS);
            if (m == null) {
                throw new IOException("no reply to request " + req);
            }
            if (m == EOF) {
                out.add(m);
                return out;
            }
            out.add(m);
            if (m.type() != MessageType.WATCH_EVENT.code() && m.requestId() == req) {
                return out;
            }
        }
    }

    /** The reply's text or error name, e.g. "OK", "ENOENT", "1|2|" for NUL-separated fields. */
    String req(MessageType type, String payload) throws IOException, InterruptedException {
        return req(type, 0, payload);
    }

    String req(MessageType type, int tx, String payload) throws IOException, InterruptedException {
        List<Message> all = call(type.code(), tx, bytes(payload));
        Message last = all.get(all.size() - 1);
        if (last == EOF) {
            return "EOF";
        }
        for (Message m : all) {
            if (m.type() == MessageType.WATCH_EVENT.code()) {
                pendingEvents.add(m); // kept for events()
            }
        }
        return render(last);
    }

    static String render(Message m) {
        String t = new String(m.payload(), StandardCharsets.ISO_8859_1).replace('\0', '|');
        if (m.type() == MessageType.ERROR.code()) {
            return t.endsWith("|") ? t.substring(0, t.length() - 1) : t;
        }
        return t.equals("OK|") ? "OK" : t;
    }

    /** Watch events received so far ("path token"), waiting up to {@code millis} for at least {@code min} of them. */
    List<String> events(int min, long millis) throws InterruptedException {
        List<String> out = new ArrayList<>();
        for (Message m : pendingEvents) {
            List<String> f = m.fields();
            out.add(f.get(0) + " " + f.get(1));
        }
        pendingEvents.clear();
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (true) {
            long left = deadline - System.nanoTime();
            Message m = out.size() < min ? in.poll(Math.max(0, left), TimeUnit.NANOSECONDS) : in.poll();
            if (m == null) {
                return out;
            }
            if (m.type() == MessageType.WATCH_EVENT.code()) {
                List<String> f = m.fields();
                out.add(f.get(0) + " " + f.get(1));
            }
        }
    }

    /** True when the server closed this connection within the time. */
    boolean closedWithin(long millis) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (true) {
            Message m = in.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            if (m == null) {
                return false;
            }
            if (m == EOF) {
                return true;
            }
        }
    }

    @Override
    public void close() throws IOException {
        ch.close();
    }
}
