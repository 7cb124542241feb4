package org.netvm.dataplane.internal;

import java.time.Instant;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/** The real {@link Scheduler}: one platform thread named {@code netvm-dataplane}. */
final class ExecutorScheduler implements Scheduler {

    private final ScheduledThreadPoolExecutor executor;

    ExecutorScheduler() {
        executor = new ScheduledThreadPoolExecutor(1,
                r -> Thread.ofPlatform().name("netvm-dataplane").daemon().unstarted(r));
        executor.setRemoveOnCancelPolicy(true);
        executor.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
    }

    @Override
    public void schedule(Runnable task, long delayMillis) {
        if (!executor.isShutdown()) {
            executor.schedule(task, Math.max(0, delayMillis), TimeUnit.MILLISECONDS);
        }
    }

    @Override
    public long nanoTime() {
        return System.nanoTime();
    }

    @Override
    public Instant now() {
        return Instant.now();
    }

    @Override
    public void shutdown() {
        executor.shutdown(); // a pass under way finishes its backend call; delayed tasks are dropped
        try {
            if (!executor.awaitTermination(10, TimeUnit.SECONDS)) {
                executor.shutdownNow();
            }
        } catch (InterruptedException e) {
            executor.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }
}
