package org.netvm.kernel.internal;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.locks.ReentrantLock;

import org.netvm.kernel.KernelException;
import org.netvm.util.NetnsEntry;

/**
 * Where a kernel seam's calls run. A netlink socket belongs to the network namespace its creator was
 * in, and {@code /proc/sys/net} shows the namespace of the thread that opens a file there (checked on
 * kernel 6.18: a thread that did {@code setns(CLONE_NEWNET)} reads and writes the other namespace's
 * sysctls, the JVM's other threads keep seeing their own). So a seam bound to a named namespace owns
 * one platform thread that enters it once and never leaves; every socket creation, netlink exchange,
 * {@code if_nametoindex} and {@code /proc/sys} access runs there. The seam of the process's own
 * namespace runs calls on the caller's thread under a lock.
 */
final class NamespaceThread {

    @FunctionalInterface
    interface IoCall<T> {
        T call() throws KernelException;
    }

    private final String netns;
    private final ExecutorService thread; // null: the process's own namespace
    private final ReentrantLock lock = new ReentrantLock();
    private volatile boolean closed;

    private NamespaceThread(String netns, ExecutorService thread) {
        this.netns = netns;
        this.thread = thread;
    }

    /** Calls on the caller's thread, in the process's own namespace. */
    static NamespaceThread own() {
        return new NamespaceThread("", null);
    }

    /** A thread that enters {@code nsFile} before its first call and stays there. */
    static NamespaceThread entering(String netns, Path nsFile) throws KernelException {
        ExecutorService t = Executors.newSingleThreadExecutor(
                Thread.ofPlatform().daemon().name("netvm-kernel-netns-" + netns).factory());
        NamespaceThread n = new NamespaceThread(netns, t);
        try {
            n.call(() -> {
                enterNamespace(nsFile);
                return null;
            });
        } catch (KernelException | RuntimeException e) {
            n.close(() -> { });
            throw e;
        }
        return n;
    }

    /** setns(CLONE_NEWNET) of the calling thread, for good. */
    static void enterNamespace(Path nsFile) throws KernelException {
        try {
            NetnsEntry.enter(nsFile);
        } catch (NetnsEntry.Failure e) {
            throw Libc.failure(e.what(), e.errno());
        } catch (IOException e) {
            throw new KernelException(e.getMessage(), e);
        }
    }

    /** Runs on the namespace thread (or under the lock for the own namespace). */
    <T> T call(IoCall<T> c) throws KernelException {
        if (closed) {
            throw new KernelException("kernel seam closed" + (netns.isEmpty() ? "" : " (netns " + netns + ")"), 0, "", null);
        }
        if (thread == null) {
            lock.lock();
            try {
                return c.call();
            } finally {
                lock.unlock();
            }
        }
        Future<T> f;
        try {
            f = thread.submit(c::call);
        } catch (RejectedExecutionException e) {
            throw new KernelException("kernel seam closed (netns " + netns + ")", 0, "", null);
        }
        try {
            return f.get();
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof KernelException k) {
                throw k;
            }
            if (cause instanceof RuntimeException r) {
                throw r;
            }
            if (cause instanceof Error err) {
                throw err;
            }
            throw new KernelException("kernel call failed", cause);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KernelException("interrupted while waiting for the kernel", e);
        }
    }

    /** Runs {@code last} (closing the socket) where the calls ran, then refuses further calls. */
    void close(Runnable last) {
        closed = true;
        if (thread != null) {
            thread.submit(last);
            thread.shutdown();
        } else {
            lock.lock();
            try {
                last.run();
            } finally {
                lock.unlock();
            }
        }
    }
}
