package org.netvm.xenstore.client.internal;

import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import org.netvm.xenstore.XenStoreError;
import org.netvm.xenstore.XenStoreException;
import org.netvm.xenstore.wire.Message;

/**
 * Pipelining: the requests in flight by request id, each with the connection it was sent on and the
 * future its reply completes. Any number may be in flight; a lost connection fails its own.
 */
final class PendingReplies {

    private record Pending(Connection connection, CompletableFuture<Message> reply) {
    }

    private final AtomicInteger nextRequestId = new AtomicInteger();
    private final Map<Integer, Pending> pending = new ConcurrentHashMap<>();

    /** Records a request about to be sent on {@code c}; returns its request id (never 0, never one in flight). */
    int add(Connection c, CompletableFuture<Message> reply) {
        int id;
        do {
            id = nextRequestId.incrementAndGet();
        } while (id == 0 || pending.putIfAbsent(id, new Pending(c, reply)) != null);
        return id;
    }

    /** The caller stopped waiting (send failed, timeout, interrupt). */
    void forget(int id) {
        pending.remove(id);
    }

    /** Hands a reply to its waiting request; false when no request has its id. */
    boolean complete(Message reply) {
        Pending p = pending.remove(reply.requestId());
        if (p == null) {
            return false;
        }
        p.reply().complete(reply);
        return true;
    }

    /** Fails the requests sent on {@code c} with DISCONNECTED. */
    void failAll(Connection c) {
        for (Map.Entry<Integer, Pending> e : pending.entrySet()) {
            if (e.getValue().connection() == c && pending.remove(e.getKey(), e.getValue())) {
                e.getValue().reply().completeExceptionally(new XenStoreException(XenStoreError.DISCONNECTED, null));
            }
        }
    }

    /** Fails every request in flight with DISCONNECTED (the client closes). */
    void failEverything() {
        for (Pending p : pending.values()) {
            p.reply().completeExceptionally(new XenStoreException(XenStoreError.DISCONNECTED, null));
        }
        pending.clear();
    }
}
