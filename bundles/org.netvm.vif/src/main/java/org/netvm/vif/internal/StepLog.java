package org.netvm.vif.internal;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

import org.netvm.vif.internal.Steps.Step;

/**
 * The per-step breakdown of the last {@link #KEEP} hotplug requests ({@code netvm vif steps}): each
 * step's p50, p90, p99 and maximum in milliseconds over the requests that reached it, and with
 * {@code --each} one line per request; with {@code --how KIND} only the requests answered that way
 * ({@link Steps.How}: {@code planned} for the requests whose vif the answering pass planned, e.g. a new
 * vif). Any thread.
 */
final class StepLog {
    static final int KEEP = 1000;
    private static final Step[] STEPS = Step.values();

    private record Entry(String vif, String intent, boolean ok, long[] nanos, Steps.How how) {
    }

    private final ArrayDeque<Entry> entries = new ArrayDeque<>();

    /** Keeps one request's breakdown (the oldest goes beyond {@link #KEEP}). */
    synchronized void add(String vif, String intent, boolean ok, Steps steps) {
        if (entries.size() == KEEP) {
            entries.removeFirst();
        }
        entries.addLast(new Entry(vif, intent, ok, steps.durations(), steps.how()));
    }

    /** The kept requests answered as {@code how} says (all if null). */
    private synchronized List<Entry> snapshot(Steps.How how) {
        return entries.stream().filter(e -> how == null || e.how() == how).toList();
    }

    /** Percentiles per step (rows) over the kept requests. */
    String summary() {
        return summary(null);
    }

    /** Percentiles per step (rows) over the kept requests answered as {@code how} says (all if null). */
    String summary(Steps.How how) {
        List<Entry> all = snapshot(how);
        StringBuilder b = new StringBuilder("hotplug requests: " + all.size() + " (" + (how == null ? "" : "how="
                + how.label + "; ") + "the last " + KEEP + " at most); ms per step, each from the end of the previous one\n");
        b.append(String.format(Locale.ROOT, "%-15s %9s %9s %9s %9s%n", "step", "p50", "p90", "p99", "max"));
        for (int i = 1; i <= STEPS.length; i++) {
            int col = i;
            long[] v = all.stream().mapToLong(e -> e.nanos()[col]).filter(n -> n >= 0).sorted().toArray();
            String label = i == STEPS.length ? "total" : STEPS[i].label;
            if (v.length == 0) {
                b.append(String.format(Locale.ROOT, "%-15s %9s %9s %9s %9s%n", label, "-", "-", "-", "-"));
            } else {
                b.append(String.format(Locale.ROOT, "%-15s %9s %9s %9s %9s%n", label, ms(pct(v, 50)), ms(pct(v, 90)),
                        ms(pct(v, 99)), ms(v[v.length - 1])));
            }
        }
        return b.toString();
    }

    /**
     * One line per kept request (those answered as {@code how} says, all if null), oldest first: vif,
     * intent, result, then each step and the total (ms, "-" not reached), then how it was answered.
     */
    String each(Steps.How how) {
        StringBuilder b = new StringBuilder("vif intent result");
        for (int i = 1; i < STEPS.length; i++) {
            b.append(' ').append(STEPS[i].label);
        }
        b.append(" total how\n");
        for (Entry e : snapshot(how)) {
            b.append(e.vif()).append(' ').append(e.intent()).append(' ').append(e.ok() ? "ok" : "failed");
            for (int i = 1; i <= STEPS.length; i++) {
                b.append(' ').append(e.nanos()[i] < 0 ? "-" : ms(e.nanos()[i]));
            }
            b.append(' ').append(e.how().label).append('\n');
        }
        return b.toString();
    }

    String each() {
        return each(null);
    }

    /** The debug line of one hotplug request: {@link #line}, then {@code how=} (how it was answered). */
    static String requestLine(String what, Steps steps) {
        return line(what, steps) + " how=" + steps.how().label;
    }

    /** One line for the debug log: {@code what}, then each reached step and the total. */
    static String line(String what, Steps steps) {
        long[] d = steps.durations();
        StringBuilder b = new StringBuilder(what + " steps (ms):");
        for (int i = 1; i < STEPS.length; i++) {
            if (d[i] >= 0) {
                b.append(' ').append(STEPS[i].label).append('=').append(ms(d[i]));
            }
        }
        return b.append(" total=").append(ms(d[STEPS.length])).toString();
    }

    /** Nearest-rank percentile of sorted values. */
    static long pct(long[] sorted, int p) {
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }

    static String ms(long nanos) {
        return String.format(Locale.ROOT, "%.3f", nanos / 1e6);
    }

    /** For tests: the durations of the kept requests. */
    synchronized List<long[]> durations() {
        return entries.stream().map(e -> Arrays.copyOf(e.nanos(), e.nanos().length)).toList();
    }
}
