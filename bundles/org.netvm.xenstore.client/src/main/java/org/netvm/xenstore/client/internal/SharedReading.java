package org.netvm.xenstore.client.internal;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;

import org.netvm.xenstore.XenStoreException;
import org.netvm.xenstore.wire.Message;
import org.netvm.xenstore.wire.MessageType;

/**
 * Reading a {@link Connection#pollable() pollable} connection by turns (leader/follower). One thread
 * at a time has the read turn and reads every message that arrives: replies complete their waiting
 * caller ({@link PendingReplies}), WATCH_EVENTs go to the {@link DaemonLink.Listener}.
 * <ul>
 * <li>A caller takes the turn when it is free and reads until its own reply is there (handing other
 * callers theirs meanwhile): a sequential caller reads its reply itself, without waking another
 * thread. A caller that finds the turn taken waits to be handed its reply.</li>
 * <li>A caller that returns the turn while requests are still in flight wakes the I/O thread, which
 * reads for them.</li>
 * <li>When no caller has read for {@link #LINGER_NANOS} (an idle client), the I/O thread takes the
 * turn to read watch events; it gives it back after the next reply it hands over, so a caller that
 * goes on reads its own replies again.</li>
 * </ul>
 * A caller's timeout or interrupt only ends its own wait: the stream stays whole for the next reader.
 */
final class SharedReading {

    private static final System.Logger LOG = System.getLogger(SharedReading.class.getName());
    /**
     * How long the I/O thread leaves the connection unread after a caller read it last: watch events
     * that arrive while callers are idle wait at most about this long.
     */
    static final long LINGER_NANOS = 2_000_000;

    private final PendingReplies pending;
    private final ClientOptions options;
    private final DaemonLink.Listener listener;
    private final Thread io;
    private final Consumer<Exception> lossLog;
    /** The read turn: held by the one thread reading the connection. */
    private final AtomicBoolean readTurn = new AtomicBoolean();
    /** When the read turn was last returned (System.nanoTime()). */
    private volatile long turnReturned;

    SharedReading(PendingReplies pending, ClientOptions options, DaemonLink.Listener listener, Thread io, Consumer<Exception> lossLog) {
        this.pending = pending;
        this.options = options;
        this.listener = listener;
        this.io = io;
        this.lossLog = lossLog;
    }

    /**
     * Reads until {@code reply} is there when the read turn is free (handing other callers their
     * replies meanwhile), else waits to be handed it.
     */
    Message readOwnReply(Connection c, PendingReplies.Reply reply, int id, String path) throws XenStoreException {
        long timeout = options.requestTimeout().toNanos();
        long deadline = System.nanoTime() + timeout;
        while (!reply.isDone()) {
            if (!c.isOpen() || !readTurn.compareAndSet(false, true)) {
                return pending.await(reply, id, path, timeout == 0 ? 0 : Math.max(1, deadline - System.nanoTime()));
            }
            try {
                readUntil(c, reply, id, path, timeout == 0 ? 0 : deadline);
            } finally {
                turnReturned = System.nanoTime();
                readTurn.set(false);
                if (!pending.isEmpty() || !c.isOpen()) {
                    LockSupport.unpark(io); // it reads for those still waiting, or notices the loss
                }
            }
        }
        return reply.outcome(path);
    }

    /** With the read turn: reads until {@code reply} is there; {@code deadline} 0: no timeout. */
    private void readUntil(Connection c, PendingReplies.Reply reply, int id, String path, long deadline) throws XenStoreException {
        while (!reply.isDone()) {
            long waitMillis = 0;
            if (deadline != 0) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    pending.forget(id);
                    throw new XenStoreException("ETIMEDOUT", path);
                }
                waitMillis = Math.max(1, TimeUnit.NANOSECONDS.toMillis(left));
            }
            if (readOne(c, waitMillis)) {
                continue;
            }
            if (Thread.currentThread().isInterrupted()) {
                pending.forget(id);
                throw new XenStoreException("EINTR", path);
            } else if (!c.isOpen()) {
                return;
            }
        }
    }

    /** Reads and hands on one message if one comes within {@code waitMillis}; a failure closes the connection. */
    private boolean readOne(Connection c, long waitMillis) {
        try {
            Message m = c.poll(waitMillis);
            if (m == null) {
                return false;
            }
            dispatch(m);
            return true;
        } catch (IOException | RuntimeException e) {
            lossLog.accept(e);
            c.close(); // the I/O thread notices, fails the requests in flight and reconnects
            return false;
        }
    }

    /** Hands one message on: a reply to its caller, an event to the listener; true for a reply. */
    boolean dispatch(Message m) {
        if (m.type() == MessageType.WATCH_EVENT.code()) {
            List<String> fields = m.fields();
            if (fields.size() >= 2) {
                listener.event(fields.get(0), fields.get(1));
            }
            return false;
        }
        if (!pending.complete(m)) {
            LOG.log(Level.DEBUG, "reply without request: {0}", m);
        }
        return true;
    }

    /**
     * The I/O thread's part on a pollable connection: it reads when requests are in flight and no
     * caller reads, or when callers have been idle for {@link #LINGER_NANOS} (watch events), and
     * returns the turn after the next reply it hands over. Returns when the connection is closed.
     */
    void ioThreadReads(Connection c) throws IOException {
        while (c.isOpen()) {
            long quiet = System.nanoTime() - turnReturned;
            if (pending.isEmpty() && quiet < LINGER_NANOS) {
                LockSupport.parkNanos(this, LINGER_NANOS - quiet);
                continue;
            }
            if (!readTurn.compareAndSet(false, true)) {
                LockSupport.parkNanos(this, LINGER_NANOS); // a caller reads; it wakes us if it leaves requests behind
                continue;
            }
            try {
                Message m;
                do {
                    m = c.poll(0);
                } while (c.isOpen() && (m == null || !dispatch(m) || !pending.isEmpty()));
            } finally {
                turnReturned = System.nanoTime();
                readTurn.set(false);
            }
        }
    }

}
