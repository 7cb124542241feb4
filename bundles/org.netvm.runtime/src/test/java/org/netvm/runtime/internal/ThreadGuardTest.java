package org.netvm.runtime.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.Test;
import org.netvm.testing.log.Loggers;
import org.osgi.service.log.Logger;

class ThreadGuardTest {

    private final List<String> ends = new CopyOnWriteArrayList<>();
    private final List<String> logged = new CopyOnWriteArrayList<>();
    private final Logger log = Loggers.recording(logged);
    private final ThreadGuard.Exit exit = new ThreadGuard.Exit() {
        @Override
        public void exit(int status) {
            ends.add("exit " + status);
        }

        @Override
        public void halt(int status) {
            ends.add("halt " + status);
        }
    };

    private void die(Thread.Builder builder, Throwable t) throws InterruptedException {
        Thread th = builder.uncaughtExceptionHandler(ThreadGuard.handler(log, exit)).start(() -> {
            if (t instanceof RuntimeException r) {
                throw r;
            }
            throw (Error) t;
        });
        th.join();
    }

    @Test
    void aDeadReconcilerThreadEndsTheProcess() throws Exception {
        die(Thread.ofPlatform().name("netvm-vif-reconciler"), new IllegalStateException("bug"));
        die(Thread.ofPlatform().name("xenstore-io"), new IllegalStateException("bug"));
        assertEquals(List.of("exit 70", "exit 70"), ends);
    }

    @Test
    void outOfMemoryAnywhereHaltsAtOnce() throws Exception {
        die(Thread.ofVirtual().name("netvm-control-client"), new OutOfMemoryError("Java heap space"));
        assertEquals(List.of("halt 70"), ends);
    }

    @Test
    void aControlClientsFailureIsOnlyLogged() throws Exception {
        die(Thread.ofVirtual().name("netvm-control-client"), new IllegalStateException("bad request"));
        die(Thread.ofPlatform().name("pool-1-thread-1"), new IllegalStateException("someone else's"));
        assertEquals(List.of(), ends);
        assertEquals(2, logged.size(), logged.toString());
    }
}
