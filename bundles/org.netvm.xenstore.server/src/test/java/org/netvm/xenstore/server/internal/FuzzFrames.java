package org.netvm.xenstore.server.internal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;

import org.netvm.xenstore.wire.Message;
import org.netvm.xenstore.wire.MessageType;

/**
 * Seeded generator of xenstore request frames for fuzzing: valid requests of every type, and
 * mutations of them. {@link #wellFramed} keeps the header's length equal to the payload (so every
 * frame gets exactly one reply); {@link #badlyFramed} also breaks the framing (wrong or huge
 * lengths, cut headers, raw garbage).
 */
final class FuzzFrames {

    /** One frame as bytes plus the header fields it carries. */
    record Frame(int type, int requestId, int txId, byte[] bytes) {
    }

    private static final String[] PATHS = {"/fuzz", "/fuzz/a", "/fuzz/a/b", "/fuzz/c", "/fuzz/d/e/f", "fuzzrel",
        "fuzzrel/x", "/", "/tool/xenstored", "/local/domain/0", "/local/domain/3", "@introduceDomain", "@releaseDomain", ""};
    private static final String[] TOKENS = {"t1", "t2", "t3"};
    private static final MessageType[] TYPES = MessageType.values();

    private final Random r;
    private int nextReq = 1;

    FuzzFrames(long seed) {
        this.r = new Random(seed);
    }

    Random random() {
        return r;
    }

    private String path() {
        return PATHS[r.nextInt(PATHS.length)];
    }

    private byte[] value() {
        int len = switch (r.nextInt(4)) {
            case 0 -> 0;
            case 1 -> r.nextInt(8);
            case 2 -> r.nextInt(200);
            default -> r.nextInt(4000);
        };
        byte[] v = new byte[len];
        r.nextBytes(v);
        return v;
    }

    private int smallTx() {
        return r.nextInt(4) == 0 ? 1 + r.nextInt(3) : 0;
    }

    private static byte[] s(String... fields) {
        return Message.strings(fields);
    }

    /** A request a well-behaved client could send (tx ids 0..3, so some hit open transactions). */
    Message valid() {
        MessageType t = TYPES[r.nextInt(TYPES.length)];
        int tx = smallTx();
        byte[] p = switch (t) {
            case READ, DIRECTORY, GET_PERMS, MKDIR, RM -> s(path());
            case WRITE -> Message.pathAndValue(path(), value());
            case SET_PERMS -> s(path(), "b0", "r" + r.nextInt(8));
            case WATCH, UNWATCH -> s(path(), TOKENS[r.nextInt(TOKENS.length)]);
            case TRANSACTION_START -> s("");
            case TRANSACTION_END -> s(r.nextBoolean() ? "T" : "F");
            case INTRODUCE -> s(Integer.toString(1 + r.nextInt(40)), "0", Integer.toString(r.nextInt(3)));
            case RELEASE, RESUME, GET_DOMAIN_PATH, IS_DOMAIN_INTRODUCED -> s(Integer.toString(r.nextInt(45)));
            case SET_TARGET -> s(Integer.toString(r.nextInt(45)), Integer.toString(r.nextInt(45)));
            case DIRECTORY_PART -> s(path(), Integer.toString(r.nextInt(20)));
            case CONTROL -> s(r.nextBoolean() ? "check" : "log");
            case RESET_WATCHES -> new byte[0];
            case WATCH_EVENT -> s(path(), "t1");
            case ERROR -> s("EINVAL");
        };
        return new Message(t, nextReq++, tx, p);
    }

    /** A valid request or a mutation of one that keeps the header length right. */
    Frame wellFramed() {
        Message m = valid();
        int type = m.type();
        int req = m.requestId();
        int tx = m.txId();
        byte[] p = m.payload();
        int mutations = r.nextInt(3); // 0: as is
        for (int i = 0; i < mutations; i++) {
            switch (r.nextInt(9)) {
                case 0 -> p = flip(p);
                case 1 -> type = r.nextInt(5) == 0 ? r.nextInt() : r.nextInt(32);
                case 2 -> tx = switch (r.nextInt(3)) {
                    case 0 -> r.nextInt();
                    case 1 -> -1;
                    default -> r.nextInt(8);
                };
                case 3 -> p = moveNuls(p);
                case 4 -> p = Arrays.copyOf(p, p.length == 0 ? 0 : r.nextInt(p.length));
                case 5 -> p = append(p);
                case 6 -> {
                    p = new byte[r.nextInt(Message.MAX_PAYLOAD + 1)];
                    r.nextBytes(p);
                }
                case 7 -> req = switch (r.nextInt(3)) {
                    case 0 -> 0;
                    case 1 -> -1;
                    default -> r.nextInt();
                };
                default -> p = s(new String(p, StandardCharsets.ISO_8859_1).replace("/fuzz", pathNoise()));
            }
        }
        if (p.length > Message.MAX_PAYLOAD) {
            p = Arrays.copyOf(p, Message.MAX_PAYLOAD);
        }
        return new Frame(type, req, tx, encode(type, req, tx, p.length, p));
    }

    /** Bytes that break the framing in one of several ways (possibly after some good frames). */
    byte[] badlyFramed() {
        Message m = valid();
        byte[] p = m.payload();
        return switch (r.nextInt(6)) {
            case 0 -> encode(m.type(), m.requestId(), m.txId(), p.length + 1 + r.nextInt(100), p);           // announces more
            case 1 -> encode(m.type(), m.requestId(), m.txId(), Math.max(0, p.length - 1 - r.nextInt(8)), p); // announces less
            case 2 -> encode(m.type(), m.requestId(), m.txId(), Message.MAX_PAYLOAD + 1 + r.nextInt(1 << 20), p);
            case 3 -> encode(m.type(), m.requestId(), m.txId(), r.nextInt(), p);                               // random length
            case 4 -> Arrays.copyOf(encode(m.type(), m.requestId(), m.txId(), p.length, p), r.nextInt(Message.HEADER_SIZE));
            default -> {
                byte[] junk = new byte[1 + r.nextInt(3000)];
                r.nextBytes(junk);
                yield junk;
            }
        };
    }

    private String pathNoise() {
        String[] noise = {"//", "/fuzz/", "/fu zz", "/fuzz/" + "x".repeat(2100), "/f\u00e9", "/..", "", "@x", "/fuzz\u0000y"};
        return noise[r.nextInt(noise.length)];
    }

    private byte[] flip(byte[] p) {
        if (p.length == 0) {
            return p;
        }
        byte[] q = p.clone();
        int n = 1 + r.nextInt(4);
        for (int i = 0; i < n; i++) {
            q[r.nextInt(q.length)] ^= (byte) (1 << r.nextInt(8));
        }
        return q;
    }

    private byte[] moveNuls(byte[] p) {
        byte[] q = p.clone();
        switch (r.nextInt(3)) {
            case 0 -> { // no NUL at all
                for (int i = 0; i < q.length; i++) {
                    if (q[i] == 0) {
                        q[i] = 'n';
                    }
                }
            }
            case 1 -> { // one more NUL somewhere
                if (q.length > 0) {
                    q[r.nextInt(q.length)] = 0;
                }
            }
            default -> { // insert NULs
                int n = 1 + r.nextInt(3);
                for (int i = 0; i < n && q.length < Message.MAX_PAYLOAD; i++) {
                    int at = r.nextInt(q.length + 1);
                    byte[] w = new byte[q.length + 1];
                    System.arraycopy(q, 0, w, 0, at);
                    System.arraycopy(q, at, w, at + 1, q.length - at);
                    q = w;
                }
            }
        }
        return q;
    }

    private byte[] append(byte[] p) {
        int extra = Math.min(Message.MAX_PAYLOAD - p.length, r.nextInt(64));
        byte[] q = Arrays.copyOf(p, p.length + extra);
        for (int i = p.length; i < q.length; i++) {
            q[i] = (byte) (r.nextInt(4) == 0 ? 0 : r.nextInt(256));
        }
        return q;
    }

    static byte[] encode(int type, int req, int tx, int announcedLength, byte[] payload) {
        return ByteBuffer.allocate(Message.HEADER_SIZE + payload.length).order(ByteOrder.LITTLE_ENDIAN)
                .putInt(type).putInt(req).putInt(tx).putInt(announcedLength).put(payload).array();
    }
}
