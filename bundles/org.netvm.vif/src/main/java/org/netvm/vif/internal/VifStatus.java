package org.netvm.vif.internal;

import java.lang.System.Logger.Level;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;

import org.netvm.util.DurationHistogram;
import org.netvm.util.LogLimiter;
import org.netvm.vif.VifHook;
import org.netvm.vif.VifRegistry;
import org.netvm.vif.VifState;
import org.netvm.vif.VifState.Actual;
import org.netvm.vif.VifState.Desired;

/**
 * Status publication: each vif's {@link VifState} (the {@link VifRegistry}), the hooks, the
 * counters and the programming-time histogram, and one log line per vif event (rate limited per vif).
 * Until the first full pass is done (the start-up) the vifs' lines are DEBUG (failures stay WARNING,
 * vifs a hotplug call asked about stay INFO) and one INFO line sums the start-up up.
 * Written by the reconciler thread after the executor; read by any thread.
 */
final class VifStatus implements VifRegistry {
    /** The vif bundle logs under one name (the reconciler's). */
    private static final System.Logger LOG = System.getLogger(VifReconciler.class.getName());

    private final HookRunner hooks;
    private final Clock clock;
    private final Predicate<String> inInputs;
    private final Predicate<String> applied;
    private final Predicate<String> hasIntent;

    private final Map<String, VifState> status = new ConcurrentHashMap<>();
    /** Log lines and hooks of recorded outcomes, told after the pass's answers (reconciler thread). */
    private final List<Runnable> toTell = new ArrayList<>();
    private final Map<String, Long> repairsByVif = new ConcurrentHashMap<>();
    private final AtomicLong passes = new AtomicLong();
    /** Kernel batches applied (counted by the executor). */
    private final AtomicLong batches;
    private final AtomicLong repairs = new AtomicLong();
    private volatile boolean synced;
    private volatile Instant lastResync;
    /** From 5 ms (one pass) to 30 s (a guest whose device comes late). */
    private final DurationHistogram programming = new DurationHistogram(List.of(0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
            0.5, 1.0, 2.5, 5.0, 10.0, 30.0));
    /** One line per vif and pass at most, and at most 5 per vif in 10 s (a flapping guest). */
    private final LogLimiter eventLog = new LogLimiter(5, 10_000_000_000L, System::nanoTime);
    private Set<String> passEvents = Set.of(); // reconciler thread: vifs the hotplug script asked about in this pass
    /** Reconciler thread, during the start-up: each vif's last outcome, for the summary line. */
    private final Map<String, Actual> startup = new java.util.HashMap<>();
    /** Reconciler thread: when the last pass before the inputs were complete started (System.nanoTime). */
    private long startupNanos;

    /**
     * @param batches   the executor's count of kernel batches
     * @param inInputs  whether xenstore or the kernel's links have the vif
     * @param applied   whether the vif is programmed
     * @param hasIntent whether the hotplug script said something about the vif
     */
    VifStatus(HookRunner hooks, Clock clock, AtomicLong batches, Predicate<String> inInputs,
            Predicate<String> applied, Predicate<String> hasIntent) {
        this.hooks = hooks;
        this.batches = batches;
        this.clock = clock;
        this.inInputs = inInputs;
        this.applied = applied;
        this.hasIntent = hasIntent;
    }

    /** A pass starts; {@code hotplugged}: the vifs hotplug calls wait for (each gets its log line). */
    void passStarted(Set<String> hotplugged) {
        passes.incrementAndGet();
        if (!synced) {
            startupNanos = System.nanoTime(); // the start-up is timed from the pass that gets the inputs
        }
        passEvents = hotplugged;
        eventLog.drain().forEach(line -> LOG.log(Level.WARNING, line));
    }

    void synced() {
        synced = true;
    }

    void resynced() {
        if (lastResync == null) {
            logStartup();
        }
        lastResync = clock.instant();
    }

    /** The start-up's one INFO line: how many vifs ended in which state, and how long it took. */
    private void logStartup() {
        Map<Actual, Long> counts = new java.util.EnumMap<>(Actual.class);
        startup.values().forEach(a -> counts.merge(a, 1L, Long::sum));
        StringBuilder b = new StringBuilder("vif start-up done: ").append(startup.size()).append(" vif(s)");
        for (Actual a : Actual.values()) {
            b.append(a == Actual.PENDING ? ": " : ", ").append(counts.getOrDefault(a, 0L)).append(' ')
                    .append(a.name().toLowerCase(Locale.ROOT));
        }
        b.append(" in ").append((System.nanoTime() - startupNanos) / 1_000_000).append(" ms from the start of the pass that read the inputs");
        LOG.log(Level.INFO, b.toString());
        startup.clear();
    }

    private boolean startingUp() {
        return lastResync == null;
    }

    /**
     * Publishes one vif's outcome of a pass: counts repairs, measures the programming time from
     * {@code firstEventNanos} (System.nanoTime, null if none) and updates the state (what the hotplug
     * answer reads); its log lines and hooks wait for {@link #tell}, after the answers.
     */
    void record(VifPlan p, VifExecutor.Settled settled, Long firstEventNanos, boolean full) {
        String name = p.name();
        Actual actual = settled.actual();
        if (actual == Actual.PROGRAMMED) {
            if (!settled.attached() && p.opCount() > 0) {
                repairs.addAndGet(p.opCount());
                repairsByVif.merge(name, (long) p.opCount(), Long::sum);
                toTell.add(() -> logEvent(Level.INFO, name, "repaired " + p.opCount() + " drifted object(s) of " + name));
            }
            if (settled.attached() && firstEventNanos != null) {
                programming.observe(Duration.ofNanos(System.nanoTime() - firstEventNanos));
            }
            if (settled.attached()) {
                toTell.add(() -> hook(VifHook.Action.ONLINE, p.vif, p.spec));
            }
        } else if (settled.detached()) {
            toTell.add(() -> hook(VifHook.Action.OFFLINE, p.vif, p.before.spec()));
        }
        if (!p.failed && full && p.teardown && p.opCount() > 0 && p.before == null) {
            repairs.addAndGet(p.opCount());
            toTell.add(() -> logEvent(Level.INFO, name, "swept " + p.opCount() + " stale object(s) of " + name));
        }
        logOutcome(p, actual);
        publish(p, actual);
    }

    /**
     * Logs the lines and fires the hooks of the outcomes recorded since the last call (the reconciler
     * calls it once the pass answered its hotplug calls: they do not wait for the log or the hooks).
     */
    void tell() {
        List<Runnable> now = List.copyOf(toTell);
        toTell.clear();
        now.forEach(Runnable::run);
    }

    private void hook(VifHook.Action action, VifName vif, VifSpec s) {
        hooks.fire(new VifHook.Event(action, vif.name(), vif.domid(), "vif", VifSpec.text(s.ipv4()),
                VifSpec.text(s.ipv6()), VifSpec.text(s.gateway())));
    }

    private void logOutcome(VifPlan p, Actual actual) {
        String name = p.name();
        VifState old = status.get(name);
        String error = p.failed ? p.error : p.pending;
        boolean changed = old == null ? actual != Actual.ABSENT
                : old.actual() != actual || old.desired() != p.desired || !Objects.equals(old.error(), error);
        if (!changed && p.opCount() == 0 && !passEvents.contains(name)) {
            return;
        }
        Level level = p.failed ? Level.WARNING : Level.INFO;
        if (startingUp()) {
            startup.put(name, actual);
            if (level == Level.INFO && !passEvents.contains(name)) {
                level = Level.DEBUG; // the summary line tells; a debug log still has every vif
                if (!LOG.isLoggable(level)) {
                    return;
                }
            }
        }
        Level l = level;
        String line = eventLine(p, actual, error);
        toTell.add(() -> logEvent(l, name, line));
    }

    private static String eventLine(VifPlan p, Actual actual, String error) {
        String name = p.name();
        VifSpec s = p.spec;
        return "vif event vif=" + name + " domid=" + p.vif.domid()
                + " desired=" + p.desired.name().toLowerCase(Locale.ROOT)
                + " actual=" + actual.name().toLowerCase(Locale.ROOT)
                + (s == null ? "" : " ipv4=" + VifSpec.text(s.ipv4()) + (s.ipv6() == null ? "" : " ipv6="
                        + VifSpec.text(s.ipv6())) + " metric=" + s.metric())
                + " ops=" + p.opCount() + (error == null ? "" : " error=" + logText(error));
    }

    private void logEvent(Level level, String vif, String line) {
        for (String l : eventLog.admit(vif, line)) {
            LOG.log(l.equals(line) ? level : Level.WARNING, l);
        }
    }

    /**
     * Keeps a message on one log line: printable ASCII kept (values from xenstore inside it are quoted
     * already), everything else escaped, at most 300 chars.
     */
    static String logText(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (int i = 0; i < s.length() && i < 300; i++) {
            char c = s.charAt(i);
            b.append(c >= 0x20 && c < 0x7f ? String.valueOf(c)
                    : String.format("\\x%02x", (int) c & 0xff));
        }
        return b.append(s.length() > 300 ? "...\"" : "\"").toString();
    }

    private void publish(VifPlan p, Actual actual) {
        String name = p.name();
        boolean known = inInputs.test(name) || applied.test(name) || p.failed || p.desired == Desired.ONLINE;
        if (!known && !hasIntent.test(name)) {
            status.remove(name);
            repairsByVif.remove(name);
            return;
        }
        VifState old = status.get(name);
        Instant since = old != null && old.actual() == actual ? old.since() : clock.instant();
        VifSpec s = p.spec;
        String error = p.failed ? p.error : p.pending;
        status.put(name, new VifState(name, p.vif.domid(), p.vif.devid(), p.desired, actual,
                s == null ? null : VifSpec.text(s.ipv4()), s == null ? null : VifSpec.text(s.ipv6()),
                s == null ? null : s.mac().text(), s == null ? null : VifSpec.text(s.gateway()), error, since,
                repairsByVif.getOrDefault(name, 0L)));
    }

    /** The answer for a hotplug call after a pass, null while the vif is not there yet. */
    Outcome outcome(VifEvents.Waiter w) {
        VifState s = status.get(w.vif());
        if (s != null && s.actual() == Actual.FAILED) {
            return Outcome.failed(s.error());
        } else if (w.intent() == VifReconciler.Intent.ONLINE && s != null && s.actual() == Actual.PROGRAMMED) {
            return Outcome.OK;
        } else if (w.intent() == VifReconciler.Intent.OFFLINE && (s == null || s.actual() == Actual.ABSENT)) {
            return Outcome.OK;
        }
        return null;
    }

    /** Drops the states of absent vifs that are gone from the inputs and have no hotplug intent. */
    void forgetAbsent(Set<String> scope) {
        for (String n : scope == null ? new ArrayList<>(status.keySet()) : scope) {
            VifState s = status.get(n);
            if (s != null && s.actual() == Actual.ABSENT && !inInputs.test(n) && !hasIntent.test(n)) {
                status.remove(n);
                repairsByVif.remove(n);
            }
        }
    }

    // ---- VifRegistry

    @Override
    public List<VifState> vifs() {
        List<VifState> out = new ArrayList<>(status.values());
        out.sort(Comparator.comparingInt(VifState::domid).thenComparingInt(VifState::devid));
        return out;
    }

    @Override
    public Optional<VifState> vif(String name) {
        return Optional.ofNullable(name == null ? null : status.get(name));
    }

    @Override
    public Counters counters() {
        return new Counters(synced, passes.get(), batches.get(), repairs.get(), lastResync);
    }

    @Override
    public Histogram programmingSeconds() {
        DurationHistogram.Snapshot h = programming.snapshot();
        return new Histogram(h.bounds(), h.cumulativeCounts(), h.count(), h.sum());
    }
}
