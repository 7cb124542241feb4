package org.netvm.status.internal;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import org.netvm.dataplane.Dataplane;
import org.netvm.util.ServiceNotifier;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.log.Logger;
import org.osgi.service.log.LoggerFactory;

/**
 * Tells systemd ({@code Type=notify}) when the agent is ready: {@code READY=1} once the base policy
 * is in the kernel and in sync — the dataplane's first apply waits for its required owners (policy,
 * vif), so an active backend holding the current plan after an apply means exactly that. Until then
 * and afterwards a {@code STATUS=} line follows the verdict of {@code netvm status} (shown by
 * {@code systemctl status}); {@code STOPPING=1} when the runtime stops. Nothing is sent without
 * {@code $NOTIFY_SOCKET}. Readiness is not health: a degraded agent whose policy is applied is ready.
 */
@Component(immediate = true)
public final class Readiness {

    private static final int MAX_STATUS = 200;

    private final ServiceNotifier notifier;
    private final Logger log;
    private final ScheduledExecutorService timer;
    private final Thread stopping = new Thread(this::stopping, "netvm-readiness-stop");
    private boolean ready;
    private boolean stopped;
    private String lastStatus;

    @Activate
    public Readiness(@Reference StatusCollector status, @Reference(service = LoggerFactory.class) Logger log) {
        this(ServiceNotifier.fromEnvironment(), log);
        if (notifier.enabled()) {
            timer.scheduleWithFixedDelay(() -> check(status::report), 0, 200, TimeUnit.MILLISECONDS);
            // SIGTERM ends the JVM without stopping the framework (rules and forwarding stay as they are)
            Runtime.getRuntime().addShutdownHook(stopping);
        }
    }

    Readiness(ServiceNotifier notifier, Logger log) {
        this.notifier = notifier;
        this.log = log;
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "netvm-readiness");
            t.setDaemon(true);
            return t;
        });
    }

    @Deactivate
    void deactivate() {
        try {
            Runtime.getRuntime().removeShutdownHook(stopping);
        } catch (IllegalStateException | IllegalArgumentException e) {
            // shutting down already, or never added
        }
        stopping();
    }

    /** {@code STOPPING=1}, once: at deactivation or when the JVM ends (SIGTERM), whichever is first. */
    void stopping() {
        synchronized (this) {
            if (stopped) {
                return;
            }
            stopped = true;
        }
        timer.shutdownNow();
        send("STOPPING=1\nSTATUS=stopping");
    }

    /** One look at the status; sends what changed. */
    synchronized void check(Supplier<StatusReport> status) {
        StatusReport r;
        try {
            r = status.get();
        } catch (RuntimeException e) {
            return; // a source going away meanwhile: the next look
        }
        for (String message : messages(r)) {
            send(message);
        }
    }

    /** What to tell systemd after this report (pure apart from remembering what was said). */
    synchronized List<String> messages(StatusReport r) {
        List<String> out = new ArrayList<>(1);
        String status = statusLine(r);
        if (!ready && policyApplied(r.dataplane())) {
            ready = true;
            lastStatus = status;
            out.add("READY=1\nSTATUS=" + status);
        } else if (!status.equals(lastStatus)) {
            lastStatus = status;
            out.add("STATUS=" + status);
        }
        return out;
    }

    static boolean policyApplied(Dataplane.Status d) {
        return d != null && d.activeBackend() != null && d.inSync() && d.lastApply() != null;
    }

    /** {@code in-sync (nftables)}, {@code starting: ...} or {@code degraded: codes}, on one line. */
    String statusLine(StatusReport r) {
        String line;
        if (!ready && !policyApplied(r.dataplane())) {
            List<String> codes = r.reasons().stream().map(StatusReport.Reason::code).toList();
            line = "starting: waiting for " + (codes.isEmpty() ? "the first apply" : String.join(", ", codes));
        } else if (r.inSync()) {
            line = "in-sync (" + r.dataplane().activeBackend() + ", " + r.count(org.netvm.vif.VifState.Actual.PROGRAMMED)
                    + " guest(s) attached)";
        } else {
            line = "degraded: " + String.join(", ", r.reasons().stream().map(StatusReport.Reason::code).toList());
        }
        line = line.replace('\n', ' ');
        return line.length() <= MAX_STATUS ? line : line.substring(0, MAX_STATUS);
    }

    private void send(String message) {
        try {
            notifier.notify(message);
        } catch (IOException | RuntimeException e) {
            log.warn("cannot notify the service manager ({}): {}", message.lines().findFirst().orElse(""),
                    e.getMessage());
        }
    }
}
