package org.netvm.tests;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Dictionary;
import java.util.Hashtable;

/** Speaks the control socket's protocol the way {@code bin/netvm} does (written independently on purpose). */
final class Cli {

    record Result(int status, String out, String err) {
    }

    private Cli() {
    }

    static Dictionary<String, Object> props(String key, Object value) {
        Hashtable<String, Object> d = new Hashtable<>();
        d.put(key, value);
        return d;
    }

    static void waitFor(Path socket) throws InterruptedException {
        for (int i = 0; i < 200 && !Files.exists(socket); i++) {
            Thread.sleep(25);
        }
    }

    static Result run(Path socket, String... args) throws IOException {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            ByteArrayOutputStream req = new ByteArrayOutputStream();
            req.writeBytes(ByteBuffer.allocate(4).putInt(args.length).array());
            for (String a : args) {
                byte[] b = a.getBytes(StandardCharsets.UTF_8);
                req.writeBytes(ByteBuffer.allocate(4).putInt(b.length).array());
                req.writeBytes(b);
            }
            ch.write(ByteBuffer.wrap(req.toByteArray()));
            DataInputStream in = new DataInputStream(Channels.newInputStream(ch));
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            while (true) {
                int channel = in.readUnsignedByte();
                byte[] payload = in.readNBytes(in.readInt());
                switch (channel) {
                    case 'o' -> out.writeBytes(payload);
                    case 'e' -> err.writeBytes(payload);
                    case 'x' -> {
                        return new Result(ByteBuffer.wrap(payload).getInt(), out.toString(StandardCharsets.UTF_8),
                                err.toString(StandardCharsets.UTF_8));
                    }
                    default -> throw new IOException("bad channel " + channel);
                }
            }
        }
    }
}
