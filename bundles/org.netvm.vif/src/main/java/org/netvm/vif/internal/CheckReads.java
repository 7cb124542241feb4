package org.netvm.vif.internal;

import java.lang.System.Logger.Level;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import org.netvm.kernel.CloseableKernel;
import org.netvm.kernel.Kernel;
import org.netvm.kernel.KernelException;
import org.netvm.kernel.Kernels;
import org.netvm.kernel.Link;
import org.netvm.xenstore.XenStoreException;

/**
 * The whole-namespace reads of a periodic check (every vif device, the kernel objects on all of them,
 * and every {@link VifReconciler#XS_RESCAN_PASSES}th check all of xenstore), off the reconciler thread
 * and through a kernel seam of their own (its own netlink socket: a dump on the reconciler's seam would
 * hold its lock). With 1 000 guests they take ~0.1 s on a calm machine and seconds under load; the
 * reconciler thread serves hotplug calls meanwhile (issue 12) and adopts the snapshot afterwards.
 * Reads only: nothing of the reconciler's state is touched here.
 */
final class CheckReads implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(VifReconciler.class.getName());

    /** What a check read; {@code xenstore} is null when it did not re-read xenstore. */
    record Snapshot(Map<String, XsEntry> xenstore, Map<String, Link> links, KernelObjects observed) {
    }

    private final Kernel kernel;
    private final Executor executor;
    private final AutoCloseable resources;
    /** For {@link #background}: the reconciler's seam, whose namespace the seam of its own is opened in at first use. */
    private final Kernel opening;
    private CheckReads opened;

    private CheckReads(Kernel kernel, Executor executor, AutoCloseable resources) {
        this(kernel, executor, resources, null);
    }

    private CheckReads(Kernel kernel, Executor executor, AutoCloseable resources, Kernel opening) {
        this.kernel = kernel;
        this.executor = executor;
        this.resources = resources;
        this.opening = opening;
    }

    /** Reads on the calling thread through the reconciler's own seam (unit tests, and the fallback). */
    static CheckReads inline(Kernel kernel) {
        return new CheckReads(kernel, Runnable::run, () -> { });
    }

    /** Reads through {@code kernel} on {@code executor} (tests: reads held until the test lets them run). */
    static CheckReads on(Kernel kernel, Executor executor) {
        return new CheckReads(kernel, executor, () -> { });
    }

    /**
     * Reads on a thread of their own through a second seam bound to the same namespace as {@code kernel},
     * opened at the first check (by the reconciler thread, not while the component activates); if that
     * cannot be opened, {@link #inline} (logged).
     */
    static CheckReads background(Kernel kernel) {
        return new CheckReads(kernel, Runnable::run, () -> { }, kernel);
    }

    private static CheckReads open(Kernel kernel) {
        CloseableKernel own;
        try {
            own = Kernels.open(kernel.namespace());
        } catch (KernelException e) {
            LOG.log(Level.WARNING, "no kernel seam of its own for the periodic check (it reads on the reconciler"
                    + " thread, hotplug calls wait for it): " + e.getMessage());
            return inline(kernel);
        }
        ExecutorService thread = Executors.newSingleThreadExecutor(
                Thread.ofPlatform().daemon().name("netvm-vif-check").factory());
        return new CheckReads(own, thread, () -> {
            thread.shutdownNow();
            own.close();
        });
    }

    /**
     * Starts the reads; the future fails with a {@link CompletionException} whose cause is the
     * {@link XenStoreException} or {@link KernelException}.
     */
    CompletableFuture<Snapshot> start(XenstoreInput xenstore, boolean scanXenstore) {
        if (opening != null) {
            synchronized (this) {
                if (opened == null) {
                    opened = open(opening);
                }
            }
            return opened.start(xenstore, scanXenstore);
        }
        return CompletableFuture.supplyAsync(() -> {
            try {
                Map<String, XsEntry> xs = scanXenstore ? xenstore.scanned() : null;
                Map<String, Link> links = LinkInput.vifLinks(kernel);
                return new Snapshot(xs, links, KernelObjects.read(kernel, Set.of(), true));
            } catch (XenStoreException | KernelException e) {
                throw new CompletionException(e);
            }
        }, executor);
    }

    @Override
    public void close() {
        synchronized (this) {
            if (opened != null) {
                opened.close();
            }
        }
        try {
            resources.close();
        } catch (Exception e) {
            LOG.log(Level.DEBUG, "closing the check's kernel seam failed", e);
        }
    }
}
