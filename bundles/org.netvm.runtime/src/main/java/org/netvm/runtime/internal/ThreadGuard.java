package org.netvm.runtime.internal;

import java.util.function.IntConsumer;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.log.Logger;
import org.osgi.service.log.LoggerFactory;

/**
 * Nothing dies silently. The agent's long-lived threads (platform threads named {@code netvm-*},
 * {@code xenstore*}) carry its work: a vif reconciler, the control acceptor, the resolv.conf watcher, a
 * link-event reader. If one ends with an uncaught throwable, the agent is half alive (new vifs never
 * come online, {@code status} would say in-sync), so the process exits with status {@value #EXIT_STATUS}
 * and the service manager starts it again — safe, because a restart keeps rules and flows. A
 * {@link VirtualMachineError} (OutOfMemoryError above all) in any thread ends the process at once
 * ({@code halt}: shutdown hooks could need the memory that is gone). Any other thread's uncaught
 * throwable (a control client's virtual thread) is logged; the agent goes on.
 */
@Component(immediate = true)
public final class ThreadGuard {

    static final int EXIT_STATUS = 70; // EX_SOFTWARE

    /** What ends the process: {@code exit(status)} or, for a VM error, {@code halt(status)}. */
    interface Exit {
        void exit(int status);

        void halt(int status);
    }

    private final Thread.UncaughtExceptionHandler previous;

    @Activate
    public ThreadGuard(@Reference(service = LoggerFactory.class) Logger log) {
        this(log, new Exit() {
            @Override
            public void exit(int status) {
                System.exit(status);
            }

            @Override
            public void halt(int status) {
                Runtime.getRuntime().halt(status);
            }
        });
    }

    ThreadGuard(Logger log, Exit exit) {
        previous = Thread.getDefaultUncaughtExceptionHandler();
        Thread.setDefaultUncaughtExceptionHandler(handler(log, exit));
    }

    @Deactivate
    void deactivate() {
        Thread.setDefaultUncaughtExceptionHandler(previous);
    }

    static Thread.UncaughtExceptionHandler handler(Logger log, Exit exit) {
        return (thread, failure) -> {
            if (failure instanceof VirtualMachineError) {
                System.err.println("netvm: " + failure + " in thread " + thread.getName() + "; exiting ("
                        + EXIT_STATUS + ") so that the service manager restarts the agent");
                exit.halt(EXIT_STATUS);
            } else if (essential(thread)) {
                log.error("thread {} died: {}; exiting ({}) so that the service manager restarts the agent "
                        + "(rules and flows are kept)", thread.getName(), failure.toString(), EXIT_STATUS, failure);
                exit.exit(EXIT_STATUS);
            } else {
                log.error("thread {} ended with {}", thread.getName(), failure.toString(), failure);
            }
        };
    }

    /** The agent's long-lived threads: platform threads whose names say they are netvm's. */
    static boolean essential(Thread t) {
        String n = t.getName();
        return !t.isVirtual() && (n.startsWith("netvm-") || n.startsWith("xenstore"));
    }
}
