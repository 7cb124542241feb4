package org.netvm.firewall.internal;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;

import org.netvm.util.Tasks;

/** Tasks run only when the test says so. */
final class ManualTasks implements Tasks {
    final Queue<Runnable> now = new ArrayDeque<>();
    final Queue<Runnable> later = new ArrayDeque<>();
    boolean closed;

    @Override
    public synchronized void execute(Runnable task) {
        if (!closed) {
            now.add(task);
        }
    }

    @Override
    public synchronized void schedule(Runnable task, long delayMillis) {
        if (!closed) {
            later.add(task);
        }
    }

    void runNow() {
        for (Runnable r; (r = poll()) != null;) {
            r.run();
        }
    }

    private synchronized Runnable poll() {
        return now.poll();
    }

    void runLater() {
        List<Runnable> due;
        synchronized (this) {
            due = new ArrayList<>(later);
            later.clear();
        }
        due.forEach(Runnable::run);
        runNow();
    }

    @Override
    public void close() {
        runNow();
        closed = true;
    }
}
