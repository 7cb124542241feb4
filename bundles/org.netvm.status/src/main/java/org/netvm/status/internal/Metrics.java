package org.netvm.status.internal;

import java.math.BigDecimal;
import java.util.List;
import java.util.Locale;

import org.netvm.dataplane.Dataplane;
import org.netvm.vif.VifRegistry;
import org.netvm.vif.VifState;

/**
 * The Prometheus text exposition format 0.0.4 of a {@link StatusReport}. Names follow kube-proxy and
 * Calico: {@code netvm_<subsystem>_<what>[_unit][_total]}. A metric whose source is not running is
 * left out (absent, not zero).
 */
final class Metrics {

    static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    private final StringBuilder out = new StringBuilder();

    private Metrics() {
    }

    static String render(StatusReport r) {
        return render(r, ProcessFacts.current());
    }

    static String render(StatusReport r, ProcessFacts p) {
        Metrics m = new Metrics();
        m.process(p);
        m.write(r);
        return m.out.toString();
    }

    private void process(ProcessFacts p) {
        header("netvm_build_info", "gauge", "Always 1; the version of this netvm as a label");
        sample("netvm_build_info", labels("version", p.version()), 1);
        if (p.residentBytes() >= 0) {
            header("process_resident_memory_bytes", "gauge", "Resident memory size in bytes");
            sample("process_resident_memory_bytes", "", p.residentBytes());
        }
        header("process_start_time_seconds", "gauge", "Start time of the process since the Unix epoch in seconds");
        sample("process_start_time_seconds", "", p.start().toEpochMilli() / 1000.0);
    }

    private void write(StatusReport r) {
        header("netvm_in_sync", "gauge", "1 if netvm status says in-sync, 0 if degraded");
        sample("netvm_in_sync", "", r.inSync() ? 1 : 0);
        header("netvm_degraded_reasons", "gauge", "Reasons netvm is degraded, by code (1 while present, else 0)");
        java.util.Set<String> present = new java.util.LinkedHashSet<>();
        r.reasons().forEach(reason -> present.add(reason.code()));
        java.util.Set<String> codes = new java.util.LinkedHashSet<>(StatusReport.REASON_CODES);
        codes.addAll(present);
        for (String code : codes) {
            sample("netvm_degraded_reasons", labels("reason", code), present.contains(code) ? 1 : 0);
        }

        StatusReport.XenStoreView x = r.xenstore();
        header("netvm_xenstore_connected", "gauge", "1 while the xenstore connection is up");
        sample("netvm_xenstore_connected", "", x.connected() ? 1 : 0);
        if (x.statistics() != null) {
            header("netvm_xenstore_requests_total", "counter", "Requests sent to xenstored");
            sample("netvm_xenstore_requests_total", "", x.statistics().requests());
            header("netvm_xenstore_reconnects_total", "counter", "Connections to xenstored re-established after a loss");
            sample("netvm_xenstore_reconnects_total", "", x.statistics().reconnects());
        }

        Dataplane.Status d = r.dataplane();
        if (d != null) {
            header("netvm_dataplane_in_sync", "gauge", "1 while the active backend holds the current plan");
            sample("netvm_dataplane_in_sync", "", d.inSync() ? 1 : 0);
            header("netvm_dataplane_active_backend", "gauge", "1 for the packet filter backend in charge");
            if (d.activeBackend() != null) {
                sample("netvm_dataplane_active_backend", labels("backend", d.activeBackend()), 1);
            }
            header("netvm_dataplane_applies_total", "counter", "Successful applies (and switches) per backend");
            for (Dataplane.BackendStatistics b : r.backends()) {
                sample("netvm_dataplane_applies_total", labels("backend", b.backend()), b.applies());
            }
            header("netvm_dataplane_apply_failures_total", "counter", "Failed applies (and switches) per backend");
            for (Dataplane.BackendStatistics b : r.backends()) {
                sample("netvm_dataplane_apply_failures_total", labels("backend", b.backend()), b.failures());
            }
            header("netvm_dataplane_apply_duration_seconds", "histogram", "Duration of applies per backend");
            for (Dataplane.BackendStatistics b : r.backends()) {
                Dataplane.Histogram h = b.applySeconds();
                histogram("netvm_dataplane_apply_duration_seconds", "backend", b.backend(), h.bounds(),
                        h.cumulativeCounts(), h.count(), h.sum());
            }
            header("netvm_dataplane_errors_total", "counter",
                    "Failed dataplane operations of any kind (apply, read back, sweep, switch)");
            sample("netvm_dataplane_errors_total", "", d.failures());
            header("netvm_dataplane_drift_repairs_total", "counter", "Re-applies because the kernel drifted");
            sample("netvm_dataplane_drift_repairs_total", "", d.driftRepairs());
            if (d.lastApply() != null) {
                header("netvm_dataplane_last_apply_timestamp_seconds", "gauge", "End of the last successful apply");
                sample("netvm_dataplane_last_apply_timestamp_seconds", "", d.lastApply().toEpochMilli() / 1000.0);
            }
            header("netvm_dataplane_contributions", "gauge", "Contributions in the plan");
            sample("netvm_dataplane_contributions", "", d.contributions());
            header("netvm_dataplane_contributions_rejected", "gauge", "Contributions left out for conflicts");
            sample("netvm_dataplane_contributions_rejected", "", d.rejected());
            header("netvm_dataplane_set_elements", "gauge", "Set elements in the plan");
            sample("netvm_dataplane_set_elements", "", d.elements());
        }

        VifRegistry.Counters c = r.vifCounters();
        if (c != null) {
            header("netvm_guests_attached", "gauge", "Vifs programmed (guests with working networking)");
            sample("netvm_guests_attached", "", r.count(VifState.Actual.PROGRAMMED));
            header("netvm_vifs_failed", "gauge", "Vifs whose validation or programming failed");
            sample("netvm_vifs_failed", "", r.count(VifState.Actual.FAILED));
            header("netvm_vifs", "gauge", "Vifs by actual state");
            for (VifState.Actual a : VifState.Actual.values()) {
                sample("netvm_vifs", labels("state", StatusJson.lower(a)), r.count(a));
            }
            header("netvm_vif_inputs_synced", "gauge", "1 once the vif reconciler read xenstore and the links");
            sample("netvm_vif_inputs_synced", "", c.synced() ? 1 : 0);
            header("netvm_vif_reconcile_passes_total", "counter", "Vif reconcile passes");
            sample("netvm_vif_reconcile_passes_total", "", c.passes());
            header("netvm_vif_kernel_batches_total", "counter", "Kernel batches applied for vifs");
            sample("netvm_vif_kernel_batches_total", "", c.batches());
            header("netvm_vif_drift_repairs_total", "counter", "Vif objects re-applied or swept by resyncs");
            sample("netvm_vif_drift_repairs_total", "", c.repairs());
            VifRegistry.Histogram p = r.programming();
            if (p != null && !p.bounds().isEmpty()) {
                header("netvm_vif_programming_seconds", "histogram",
                        "Time from the first event about a vif to the end of the pass that programmed it");
                histogram("netvm_vif_programming_seconds", null, null, p.bounds(), p.cumulativeCounts(), p.count(),
                        p.sum());
            }
        }
    }

    private void header(String name, String type, String help) {
        out.append("# HELP ").append(name).append(' ').append(help.replace("\\", "\\\\").replace("\n", "\\n"))
                .append('\n');
        out.append("# TYPE ").append(name).append(' ').append(type).append('\n');
    }

    private void sample(String name, String labels, double value) {
        out.append(name).append(labels).append(' ').append(number(value)).append('\n');
    }

    private void histogram(String name, String label, String labelValue, List<Double> bounds, List<Long> counts,
            long count, double sum) {
        String prefix = label == null ? "" : label + "=\"" + escape(labelValue) + "\",";
        for (int i = 0; i < bounds.size(); i++) {
            out.append(name).append("_bucket{").append(prefix).append("le=\"").append(number(bounds.get(i)))
                    .append("\"} ").append(counts.get(i)).append('\n');
        }
        out.append(name).append("_bucket{").append(prefix).append("le=\"+Inf\"} ").append(count).append('\n');
        String plain = label == null ? "" : labels(label, labelValue);
        out.append(name).append("_sum").append(plain).append(' ').append(number(sum)).append('\n');
        out.append(name).append("_count").append(plain).append(' ').append(count).append('\n');
    }

    static String labels(String name, String value) {
        return "{" + name + "=\"" + escape(value) + "\"}";
    }

    /** Label value escaping of the text format: backslash, double quote, line feed. */
    static String escape(String v) {
        return v.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }

    /** Integers without a fraction, others in plain decimal; NaN and infinities as Prometheus spells them. */
    static String number(double v) {
        if (Double.isNaN(v)) {
            return "NaN";
        }
        if (Double.isInfinite(v)) {
            return v > 0 ? "+Inf" : "-Inf";
        }
        if (v == Math.rint(v) && Math.abs(v) < 1e15) {
            return Long.toString((long) v);
        }
        return BigDecimal.valueOf(v).stripTrailingZeros().toPlainString().toLowerCase(Locale.ROOT);
    }
}
