package org.netvm.xenstore.client.internal;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

import org.netvm.xenstore.XenStoreError;
import org.netvm.xenstore.XenStoreException;
import org.netvm.xenstore.wire.Message;

/**
 * Pipelining: the requests in flight by request id, each with the connection it was sent on and the
 * {@link Reply} its caller waits on. Any number may be in flight; a lost connection fails its own.
 */
final class PendingReplies {

    /**
     * One caller's wait for its reply: the thread reading sets the outcome (the reply, or the failure)
     * once and unparks the caller; no other thread is involved and nothing else is allocated.
     */
    static final class Reply extends AtomicReference<Object> {
        private static final long serialVersionUID = 1L;
        private final transient Thread waiter = Thread.currentThread();

        void complete(Object outcome) {
            if (compareAndSet(null, outcome)) {
                LockSupport.unpark(waiter);
            }
        }

        boolean isDone() {
            return get() != null;
        }

        /**
         * The outcome once {@link #isDone()}: the reply, or DISCONNECTED.
         */
        Message outcome(String path) throws XenStoreException {
            Object outcome = get();
            if (outcome instanceof Message m) {
                return m;
            }
            throw new XenStoreException(XenStoreError.DISCONNECTED.name(), path, (Throwable) outcome);
        }

        /**
         * Waits (on the thread that created it) for the outcome; {@code timeoutNanos} 0 waits forever.
         *
         * @throws XenStoreException DISCONNECTED when the request failed with the connection
         */
        Message await(long timeoutNanos, String path) throws TimeoutException, InterruptedException, XenStoreException {
            long deadline = System.nanoTime() + timeoutNanos;
            Object outcome;
            while ((outcome = get()) == null) {
                if (Thread.interrupted()) {
                    throw new InterruptedException();
                }
                if (timeoutNanos == 0) {
                    LockSupport.park(this);
                } else {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        throw new TimeoutException();
                    }
                    LockSupport.parkNanos(this, left);
                }
            }
            return outcome(path);
        }
    }

    private record Pending(Connection connection, Reply reply) {
    }

    private final AtomicInteger nextRequestId = new AtomicInteger();
    private final Map<Integer, Pending> pending = new ConcurrentHashMap<>();

    /** Records a request about to be sent on {@code c}; returns its request id (never 0, never one in flight). */
    int add(Connection c, Reply reply) {
        int id;
        do {
            id = nextRequestId.incrementAndGet();
        } while (id == 0 || pending.putIfAbsent(id, new Pending(c, reply)) != null);
        return id;
    }

    boolean isEmpty() {
        return pending.isEmpty();
    }

    /** The caller stopped waiting (send failed, timeout, interrupt). */
    void forget(int id) {
        pending.remove(id);
    }

    /**
     * Waits to be handed {@code reply}, the reply of request {@code id}; {@code timeoutNanos} 0: forever. A
     * timeout or an interrupt forgets the request and becomes ETIMEDOUT or EINTR.
     */
    Message await(Reply reply, int id, String path, long timeoutNanos) throws XenStoreException {
        try {
            return reply.await(timeoutNanos, path);
        } catch (TimeoutException e) {
            forget(id);
            throw new XenStoreException("ETIMEDOUT", path, e);
        } catch (InterruptedException e) {
            forget(id);
            Thread.currentThread().interrupt();
            throw new XenStoreException("EINTR", path, e);
        }
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
                e.getValue().reply().complete(new XenStoreException(XenStoreError.DISCONNECTED, null));
            }
        }
    }

    /** Fails every request in flight with DISCONNECTED (the client closes). */
    void failEverything() {
        for (Pending p : pending.values()) {
            p.reply().complete(new XenStoreException(XenStoreError.DISCONNECTED, null));
        }
        pending.clear();
    }
}
