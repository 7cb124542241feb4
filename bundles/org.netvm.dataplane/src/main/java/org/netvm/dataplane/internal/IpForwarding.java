package org.netvm.dataplane.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import org.netvm.dataplane.BackendException;
import org.netvm.dataplane.Dataplane;
import org.osgi.service.log.Logger;

/**
 * The one owner of IP forwarding in the agent's network namespace. Forwarding routes the guests, and
 * must never be on while netvm's rules are not in force; only the dataplane knows when they are, so it
 * owns every write of the forwarding sysctls:
 *
 * <ul>
 * <li>Start ({@link #startUp}, the first pass with a kernel): forwarding found on (e.g. by sysctl.d) is
 * switched off until the policy is in force, unless a backend still holds netvm's rules from a previous
 * run or the {@link ForwardingMarker} says this agent switched it on earlier in this boot and namespace
 * (a restart: switching off would cut every guest until the first apply). {@code netvm forwarding
 * prestart} (the unit's {@code ExecStartPre}) runs the same decision before the agent starts.</li>
 * <li>On ({@link Dataplane#forwarding}, asked by the base policy once its put completed): written only
 * while a backend in charge holds a plan with every required owner; the marker is set.</li>
 * <li>Off when asked (the policy bundle stops), marker cleared; and before {@code netvm backend cleanup}
 * sweeps ({@link #offForCleanup}), switched on again after the next apply ({@link #afterApply}).</li>
 * </ul>
 * A stopping runtime writes nothing. Reconciler thread only, but {@link #sysctls(ForwardingSysctls)}.
 */
final class IpForwarding {

    /** A caller's request, answered by a pass. */
    record Request(Dataplane.Forwarding wanted, CompletableFuture<Void> future) {
    }

    private final Logger log;
    private final StatusBoard board;
    private final ForwardingMarker marker;
    private volatile ForwardingSysctls sysctls = ForwardingSysctls.NONE;

    private boolean checked;         // the start-up decision was made
    private Request pending;         // on, waiting until the rules are in force
    private boolean on;
    private boolean ipv6Set;         // IPv6 forwarding was switched on through a request
    private boolean markerSet;
    private ForwardingSysctls.State savedByCleanup;

    IpForwarding(Logger log, StatusBoard board, ForwardingMarker marker) {
        this.log = log;
        this.board = board;
        this.marker = marker;
    }

    /** The kernel came or went (any thread). */
    void sysctls(ForwardingSysctls s) {
        sysctls = s;
    }

    /** Asks whether netvm's own objects are in the kernel: one backend's read-back, or its tool at prestart. */
    interface RulesProbe {
        String name();

        boolean holdsRules() throws Exception;
    }

    /** Once, before anything is applied: off unless netvm's rules are in force from a previous run. */
    void startUp(List<BackendEntry> backends) {
        ForwardingSysctls s = sysctls;
        if (checked || s == ForwardingSysctls.NONE) {
            return;
        }
        checked = true;
        List<RulesProbe> probes = new ArrayList<>();
        for (BackendEntry b : backends) {
            probes.add(new RulesProbe() {
                @Override
                public String name() {
                    return "backend " + b.name();
                }

                @Override
                public boolean holdsRules() throws BackendException {
                    return !b.backend().readBack().isEmpty();
                }
            });
        }
        for (Note n : switchOffUnlessInForce(s, false, probes, marker)) {
            switch (n.level()) {
                case INFO -> log.info("{}", n.text());
                case WARN -> log.warn("{}", n.text());
                case ERROR -> log.error("{}", n.text());
            }
        }
    }

    /** One line of the start-up decision's account, logged by the agent, printed by the prestart. */
    record Note(Level level, String text) {
        enum Level { INFO, WARN, ERROR }
    }

    /**
     * The start-up decision, shared with {@code netvm forwarding prestart}: forwarding found on stays on
     * only if a probe finds netvm's rules or the marker is present; otherwise IPv4 forwarding (and IPv6 if
     * {@code ipv6Too}) is switched off. Returns what it found and did, in order.
     */
    static List<Note> switchOffUnlessInForce(ForwardingSysctls s, boolean ipv6Too, List<RulesProbe> probes,
            ForwardingMarker marker) {
        List<Note> notes = new ArrayList<>();
        try {
            ForwardingSysctls.State now = s.read();
            if (!now.ipv4() && !(ipv6Too && now.ipv6())) {
                return notes;
            }
            for (RulesProbe p : probes) {
                try {
                    if (p.holdsRules()) {
                        notes.add(new Note(Note.Level.INFO, "IP forwarding is on and " + p.name()
                                + " still holds netvm's rules from a previous run: kept on"));
                        return notes;
                    }
                } catch (Exception e) {
                    notes.add(new Note(Note.Level.WARN, "cannot read back " + p.name() + ": "
                            + (e instanceof BackendException be ? be.getMessage() : e.toString())));
                }
            }
            if (marker.present()) {
                // backends may register after the first pass: the marker is what does not race
                notes.add(new Note(Note.Level.INFO, "IP forwarding is on and was switched on by this agent's"
                        + " previous run in this boot and namespace: kept on (its rules stay in force until the"
                        + " first apply)"));
                return notes;
            }
            s.write(false, ipv6Too ? false : null);
            notes.add(new Note(Note.Level.WARN, "IP forwarding was on before the base policy was applied; off"
                    + " until it is"));
        } catch (Exception e) {
            notes.add(new Note(Note.Level.ERROR, "could not check or switch off IP forwarding before applying the"
                    + " policy: " + e));
        }
        return notes;
    }

    /**
     * Answers the requests of a pass in order (a later one supersedes an earlier one still waiting);
     * {@code inForce}: a backend in charge holds a plan with every required owner.
     */
    void handle(List<Request> requests, boolean inForce, List<Runnable> notifications) {
        for (Request r : requests) {
            if (pending != null) {
                Request old = pending;
                notifications.add(() -> old.future.completeExceptionally(
                        new IllegalStateException("superseded by a later forwarding request")));
            }
            pending = r;
        }
        if (pending == null || pending.wanted != Dataplane.Forwarding.OFF && !inForce) {
            return; // on: wait until the rules are in force
        }
        Request r = pending;
        pending = null;
        try {
            if (sysctls == ForwardingSysctls.NONE) {
                throw new IllegalStateException("no kernel service: IP forwarding cannot be switched");
            }
            if (r.wanted == Dataplane.Forwarding.OFF) {
                off();
            } else {
                on(r.wanted == Dataplane.Forwarding.IPV4_AND_IPV6);
            }
            notifications.add(() -> r.future.complete(null));
        } catch (Exception e) {
            notifications.add(() -> r.future.completeExceptionally(e));
        }
    }

    private void on(boolean ipv6) throws Exception {
        sysctls.write(true, ipv6 || ipv6Set ? ipv6 : null);
        if (!on) {
            log.info("netvm's rules are in force; IP forwarding on");
        }
        on = true;
        ipv6Set = ipv6;
        if (!markerSet) {
            try {
                marker.set();
                markerSet = true;
            } catch (RuntimeException e) {
                log.warn("{}", e.getMessage() + "; a restart will switch forwarding off until its first apply");
            }
        }
    }

    private void off() throws Exception {
        sysctls.write(false, ipv6Set ? false : null);
        on = false;
        marker.clear();
        markerSet = false;
        log.info("IP forwarding off");
    }

    /** Before a cleanup: switches forwarding off, remembering what was on; whether anything was. */
    boolean offForCleanup() throws Exception {
        ForwardingSysctls.State was = sysctls.read();
        if (was.any()) {
            sysctls.write(was.ipv4() ? false : null, was.ipv6() ? false : null);
            if (savedByCleanup == null) {
                savedByCleanup = was;
            }
        }
        return was.any();
    }

    /** After a successful apply of {@code backend}: forwarding as it was before a cleanup. */
    void afterApply(String backend) {
        if (savedByCleanup == null) {
            return;
        }
        ForwardingSysctls.State s = savedByCleanup;
        try {
            sysctls.write(s.ipv4() ? true : null, s.ipv6() ? true : null);
            savedByCleanup = null;
            log.info("{}", "IP forwarding restored after the cleanup: " + backend + " is in charge");
        } catch (Exception e) {
            String msg = "could not restore IP forwarding after the cleanup: " + e.getMessage();
            log.error("{}", msg + "; retried at the next apply");
            board.recordFailure(msg);
        }
    }
}
