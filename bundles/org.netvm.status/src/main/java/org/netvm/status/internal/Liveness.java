package org.netvm.status.internal;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * Whether the reconcilers (vif, dataplane, policy, guest: org.netvm.util's {@code Reconciler}, each
 * bundle's own copy) make progress, from what each publishes (a {@code Supplier} service of a map with
 * {@code what}, {@code alive}, {@code passMillis}, {@code activity}, {@code activityMillis},
 * {@code waitingMillis}). Pure: the deadlines are parameters, the reasons come out in a fixed order.
 * <ul>
 * <li>{@code apply-stalled}: a backend apply has run longer than {@code applyMillis} (an {@code nft} or
 * {@code iptables-restore} that hangs); cleared when it ends or is killed;</li>
 * <li>{@code reconciler-stalled}: a pass has run longer than {@code passMillis} (and is not an apply
 * already reported), or recorded work has waited that long for a pass;</li>
 * <li>{@code reconciler-dead}: a reconciler's thread is gone while its component is active.</li>
 * </ul>
 */
final class Liveness {

    /** An apply running longer than this is stalled ("longer than a few seconds"). */
    static final long APPLY_MILLIS = 5_000;
    /** A pass running, or a request waiting, longer than this is stuck (a cold start of 10 000 vifs is below it). */
    static final long PASS_MILLIS = 30_000;

    private Liveness() {
    }

    static List<StatusReport.Reason> reasons(List<? extends Map<String, ?>> reconcilers, long applyMillis, long passMillis) {
        List<StatusReport.Reason> out = new ArrayList<>();
        List<? extends Map<String, ?>> sorted = reconcilers.stream()
                .sorted(Comparator.comparing(m -> String.valueOf(m.get("what")))).toList();
        for (Map<String, ?> m : sorted) {
            String what = String.valueOf(m.get("what"));
            Object activity = m.get("activity");
            long activityAge = number(m, "activityMillis");
            long passAge = number(m, "passMillis");
            long waiting = number(m, "waitingMillis");
            boolean applying = activity != null && activity.toString().startsWith("apply ");
            if (!Boolean.TRUE.equals(m.get("alive"))) {
                out.add(new StatusReport.Reason("reconciler-dead", "the " + what + " reconciler's thread is gone"));
            } else if (applying && activityAge > applyMillis) {
                out.add(new StatusReport.Reason("apply-stalled", "the " + what + " reconciler's "
                        + activity.toString().substring("apply ".length()) + " apply has run for " + seconds(activityAge)));
            } else if (passAge > passMillis) {
                out.add(new StatusReport.Reason("reconciler-stalled", "the " + what + " pass has run for "
                        + seconds(passAge) + (activity == null ? "" : " (" + activity + ")")));
            } else if (waiting > passMillis) {
                out.add(new StatusReport.Reason("reconciler-stalled", "work recorded for the " + what
                        + " reconciler has waited " + seconds(waiting) + " for a pass"));
            }
        }
        return out;
    }

    private static long number(Map<String, ?> m, String key) {
        return m.get(key) instanceof Number n ? n.longValue() : 0;
    }

    private static String seconds(long millis) {
        return String.format(java.util.Locale.ROOT, "%.1f s", millis / 1000.0);
    }
}
