package org.netvm.status.internal;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.netvm.dataplane.Dataplane;
import org.netvm.util.TextTable;
import org.netvm.vif.VifRegistry;
import org.netvm.vif.VifState;

/** {@code netvm status}: the verdict, the xenstore and dataplane lines, and one table row per guest. */
final class StatusText {

    private StatusText() {
    }

    /** {@code process:   RSS 71.6 MB, started 2026-12-06T00:28:01.123Z (up 3m12s), version 0.2.0}. */
    static String process(ProcessFacts p, java.time.Instant now) {
        String rss = p.residentBytes() < 0 ? "RSS unknown"
                : String.format(java.util.Locale.ROOT, "RSS %.1f MB", p.residentBytes() / (1024.0 * 1024.0));
        Duration up = Duration.between(p.start(), now);
        String upText = up.isNegative() ? "?" : up.toSeconds() >= 60 ? up.toMinutes() + "m" + up.toSecondsPart() + "s"
                : up.toSeconds() + "s";
        return "process:   " + rss + ", started " + StatusJson.instant(p.start()) + " (up " + upText + "), version "
                + clean(p.version());
    }

    static String render(StatusReport r) {
        StringBuilder b = new StringBuilder();
        b.append("netvm: ").append(r.verdict()).append('\n');
        for (StatusReport.Reason reason : r.reasons()) {
            b.append("  - ").append(reason.code()).append(": ").append(clean(reason.message())).append('\n');
        }
        StatusReport.XenStoreView x = r.xenstore();
        b.append("xenstore:  ");
        if (!x.present()) {
            b.append("no connection registered");
        } else {
            b.append(x.connected() ? "connected" : "DISCONNECTED");
            if (x.address() != null) {
                b.append(" (").append(x.transport() == null ? "" : clean(x.transport()) + " ")
                        .append(clean(x.address())).append(')');
            }
            if (x.statistics() != null) {
                b.append(", ").append(x.statistics().requests()).append(" requests, ")
                        .append(x.statistics().reconnects()).append(" reconnects");
            }
        }
        b.append('\n');
        Dataplane.Status d = r.dataplane();
        b.append("dataplane: ");
        if (d == null) {
            b.append("not running\n");
        } else {
            b.append("backend ").append(d.activeBackend() == null ? "NONE" : d.activeBackend())
                    .append(" (requested ").append(d.requestedBackend()).append("; available ")
                    .append(d.availableBackends().isEmpty() ? "none" : String.join(", ", d.availableBackends()))
                    .append("), ").append(d.inSync() ? "in sync" : "NOT in sync").append('\n');
            b.append("           last apply ").append(d.lastApply() == null ? "never" : StatusJson.instant(d.lastApply()))
                    .append(" (").append(millis(d.lastApplyDuration())).append("), ").append(d.applies())
                    .append(" applies, ").append(d.failures()).append(" failures, ").append(d.driftRepairs())
                    .append(" drift repairs\n");
            b.append("           ").append(d.contributions()).append(" contributions, ").append(d.rejected())
                    .append(" rejected, ").append(d.elements()).append(" set elements\n");
            if (d.requestFailure() != null) {
                b.append("           request failure: ").append(clean(d.requestFailure())).append('\n');
            }
            if (d.lastError() != null) {
                b.append("           last error: ").append(clean(d.lastError())).append('\n');
            }
        }
        VifRegistry.Counters c = r.vifCounters();
        b.append("vifs:      ");
        if (c == null) {
            b.append("vif service not running\n");
            return b.toString();
        }
        b.append(r.count(VifState.Actual.PROGRAMMED)).append(" attached, ").append(r.count(VifState.Actual.PENDING))
                .append(" pending, ").append(r.count(VifState.Actual.FAILED)).append(" failed; ")
                .append(c.synced() ? "" : "inputs NOT read yet; ").append(c.passes()).append(" passes, ")
                .append(c.repairs()).append(" repairs, last resync ")
                .append(c.lastResync() == null ? "never" : StatusJson.instant(c.lastResync())).append('\n');
        if (r.vifs().isEmpty()) {
            return b.toString();
        }
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"VIF", "DOMID", "IPV4", "IPV6", "DESIRED", "ACTUAL", "SINCE", "ERROR"});
        for (VifState v : r.vifs()) {
            rows.add(new String[] {v.name(), Integer.toString(v.domid()), dash(v.ipv4()), dash(v.ipv6()),
                StatusJson.lower(v.desired()), StatusJson.lower(v.actual()), StatusJson.instant(v.since()),
                v.error() == null ? "-" : clean(v.error())});
        }
        TextTable.append(b, rows);
        return b.toString();
    }

    private static String dash(String s) {
        return s == null ? "-" : s;
    }

    private static String millis(Duration d) {
        return String.format(java.util.Locale.ROOT, "%.1f ms", d.toNanos() / 1e6);
    }

    /** Keeps text on one terminal line: control and non-ASCII characters are escaped. */
    static String clean(String s) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            b.append(c >= 0x20 && c < 0x7f ? String.valueOf(c) : String.format("\\u%04x", (int) c));
        }
        return b.toString();
    }
}
