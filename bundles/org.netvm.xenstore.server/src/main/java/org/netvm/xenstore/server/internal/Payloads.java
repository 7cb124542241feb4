package org.netvm.xenstore.server.internal;

import static org.netvm.xenstore.XenStoreError.E2BIG;
import static org.netvm.xenstore.XenStoreError.EINVAL;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.netvm.xenstore.Permission;
import org.netvm.xenstore.XenStoreError;
import org.netvm.xenstore.wire.Message;
import org.netvm.xenstore.wire.MessageType;

/**
 * Reading request payloads and sending replies as C xenstored does (onearg, get_strings,
 * send_reply, send_ack, send_error).
 *
 * <p>Payload strings are decoded as ISO-8859-1 so that every byte maps to one char: tokens and
 * values round-trip unchanged, and non-ASCII bytes in paths are rejected as C rejects them.
 */
final class Payloads {

    private static final byte[] OK = {'O', 'K', 0};

    private Payloads() {
    }

    static String latin1(byte[] b, int from, int to) {
        return new String(b, from, to - from, StandardCharsets.ISO_8859_1);
    }

    /** {@code s} NUL-terminated. */
    static byte[] text(String s) {
        return (s + '\0').getBytes(StandardCharsets.ISO_8859_1);
    }

    /** Exactly one NUL-terminated string, or null (C answers with a stale errno then; we say EINVAL). */
    static String oneArgOrNull(Message m) {
        byte[] p = m.payload();
        if (p.length == 0 || indexOfNul(p, 0) != p.length - 1) {
            return null;
        }
        return latin1(p, 0, p.length - 1);
    }

    static String oneArg(Message m) throws XsFailure {
        String a = oneArgOrNull(m);
        if (a == null) {
            throw new XsFailure(EINVAL);
        }
        return a;
    }

    /** The one argument as a path, relative ones resolved under the connection's home. */
    static String path(Session s, Message m) throws XsFailure {
        return XsPaths.canonicalize(s.home(), oneArg(m));
    }

    static int indexOfNul(byte[] p, int from) {
        for (int i = from; i < p.length; i++) {
            if (p[i] == 0) {
                return i;
            }
        }
        return -1;
    }

    /** The NUL-terminated strings of the payload; bytes after the last NUL are ignored. */
    static List<String> strings(Message m) {
        byte[] p = m.payload();
        List<String> out = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < p.length; i++) {
            if (p[i] == 0) {
                out.add(latin1(p, start, i));
                start = i + 1;
            }
        }
        return out;
    }

    static int countNuls(byte[] p) {
        int n = 0;
        for (byte b : p) {
            if (b == 0) {
                n++;
            }
        }
        return n;
    }

    /** Child names, each NUL-terminated (DIRECTORY's reply). */
    static byte[] childList(Node n) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (String c : n.children()) {
            out.writeBytes(c.getBytes(StandardCharsets.ISO_8859_1));
            out.write(0);
        }
        return out.toByteArray();
    }

    /** Permissions as text, each NUL-terminated (GET_PERMS' reply). */
    static byte[] permStrings(List<Permission> perms) {
        StringBuilder sb = new StringBuilder();
        for (Permission p : perms) {
            sb.append(p).append('\0');
        }
        return sb.toString().getBytes(StandardCharsets.ISO_8859_1);
    }

    // ------------------------------------------------------------------ replies

    /** The reply to {@code m}; E2BIG instead when it would not fit in one message. */
    static void reply(Session s, Message m, byte[] payload) {
        if (payload.length > Message.MAX_PAYLOAD) {
            error(s, m, E2BIG);
            return;
        }
        s.sink.send(new Message(m.type(), m.requestId(), m.txId(), payload));
    }

    static void ack(Session s, Message m) {
        reply(s, m, OK.clone());
    }

    static void error(Session s, Message m, XenStoreError e) {
        s.sink.send(new Message(MessageType.ERROR.code(), m.requestId(), m.txId(), text(e.name())));
    }
}
