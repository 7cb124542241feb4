package org.netvm.cli.protocol;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The control socket's protocol, one request per connection.
 *
 * <pre>
 * request:  u32 argc, then per argument u32 length + UTF-8 bytes   (big-endian)
 * response: frames of u8 channel + u32 length + bytes; channel 'o' stdout, 'e' stderr,
 *           'x' end with a 4-byte exit status as payload
 * </pre>
 */
public final class ControlProtocol {

    static final int MAX_ARGS = 256;
    static final int MAX_ARG_BYTES = 64 * 1024;

    private ControlProtocol() {
    }

    public static byte[] encodeRequest(List<String> args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        writeInt(out, args.size());
        for (String a : args) {
            byte[] b = a.getBytes(StandardCharsets.UTF_8);
            writeInt(out, b.length);
            out.writeBytes(b);
        }
        return out.toByteArray();
    }

    /** Reads a request; rejects oversized or truncated input with an IOException. */
    public static List<String> decodeRequest(InputStream in) throws IOException {
        DataInputStream d = new DataInputStream(in);
        int argc = d.readInt();
        if (argc < 0 || argc > MAX_ARGS) {
            throw new IOException("bad argument count " + argc);
        }
        List<String> args = new ArrayList<>(argc);
        for (int i = 0; i < argc; i++) {
            int len = d.readInt();
            if (len < 0 || len > MAX_ARG_BYTES) {
                throw new IOException("argument " + i + " too long");
            }
            byte[] b = d.readNBytes(len);
            if (b.length != len) {
                throw new EOFException("truncated argument " + i);
            }
            args.add(new String(b, StandardCharsets.UTF_8));
        }
        return args;
    }

    public static void writeFrame(OutputStream out, char channel, byte[] payload) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(5 + payload.length);
        b.put((byte) channel).putInt(payload.length).put(payload);
        out.write(b.array());
        out.flush();
    }

    public static void writeExit(OutputStream out, int status) throws IOException {
        writeFrame(out, 'x', ByteBuffer.allocate(4).putInt(status).array());
    }

    /**
     * Copies frames to the given streams until the exit frame, each as it arrives (flushed: a watch
     * streams its events); returns the exit status.
     */
    public static int relayResponse(InputStream in, PrintStream out, PrintStream err) throws IOException {
        DataInputStream d = new DataInputStream(in);
        while (true) {
            int channel;
            try {
                channel = d.readUnsignedByte();
            } catch (EOFException e) {
                throw new IOException("agent closed the connection without an exit status");
            }
            int len = d.readInt();
            if (len < 0 || len > 16 * 1024 * 1024) {
                throw new IOException("bad frame length " + len);
            }
            byte[] payload = d.readNBytes(len);
            switch (channel) {
                case 'o' -> {
                    out.write(payload);
                    out.flush();
                }
                case 'e' -> {
                    err.write(payload);
                    err.flush();
                }
                case 'x' -> {
                    out.flush();
                    err.flush();
                    return ByteBuffer.wrap(payload).getInt();
                }
                default -> throw new IOException("bad frame channel " + channel);
            }
        }
    }

    private static void writeInt(ByteArrayOutputStream out, int v) {
        out.write(v >>> 24);
        out.write(v >>> 16);
        out.write(v >>> 8);
        out.write(v);
    }
}
