package org.netvm.kernel.internal;

import static org.netvm.kernel.internal.Nl.*;

import java.lang.System.Logger.Level;
import java.lang.foreign.MemorySegment;
import java.util.function.Consumer;

import org.netvm.kernel.KernelException;
import org.netvm.kernel.LinkEvent;
import org.netvm.kernel.LinkListener;
import org.netvm.kernel.Subscription;

/**
 * Reads RTMGRP_LINK notifications on its own platform thread and hands them to a listener. The
 * socket has a short receive timeout so that {@link #close()} (which a blocked recv would not
 * notice) takes effect within ~200 ms.
 */
final class LinkEventReader implements Subscription {
    private static final System.Logger LOG = System.getLogger(LinkEventReader.class.getName());

    private final NetlinkSocket socket;
    private final LinkListener listener;
    private final Consumer<LinkEventReader> onClose;
    private final Thread thread;
    private volatile boolean closed;

    LinkEventReader(NetlinkSocket socket, LinkListener listener, String netns, Consumer<LinkEventReader> onClose) {
        this.socket = socket;
        this.listener = listener;
        this.onClose = onClose;
        this.thread = Thread.ofPlatform().daemon().name("netvm-kernel-links" + (netns.isEmpty() ? "" : "-" + netns))
                .unstarted(this::run);
    }

    void start() {
        thread.start();
    }

    private void run() {
        MemorySegment b = socket.rbuf;
        try {
            while (!closed) {
                int n;
                try {
                    n = socket.recv();
                } catch (KernelException e) {
                    if (e.errno() == Errno.ENOBUFS) {
                        deliverLost();
                        continue;
                    }
                    throw e;
                }
                for (long off = 0; off + HDRLEN <= n && !closed; ) {
                    int len = i32(b, off);
                    if (len < HDRLEN || off + len > n) {
                        break;
                    }
                    int type = u16(b, off + 4);
                    if (type == RTM_NEWLINK || type == RTM_DELLINK) {
                        deliver(new LinkEvent(type == RTM_NEWLINK ? LinkEvent.Kind.NEW : LinkEvent.Kind.DELETED,
                                Messages.link(b, off, len)));
                    } else if (type == NLMSG_OVERRUN) {
                        deliverLost();
                    }
                    off += align(len);
                }
            }
        } catch (KernelException | RuntimeException e) {
            if (!closed) {
                LOG.log(Level.ERROR, "link event subscription stopped", e);
            }
        } finally {
            socket.close();
        }
    }

    private void deliver(LinkEvent event) {
        try {
            listener.linkChanged(event);
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "link listener failed on " + event, e);
        }
    }

    private void deliverLost() {
        try {
            listener.eventsLost();
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "link listener failed on eventsLost", e);
        }
    }

    @Override
    public void close() {
        closed = true;
        onClose.accept(this);
        if (Thread.currentThread() != thread) {
            try {
                thread.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
