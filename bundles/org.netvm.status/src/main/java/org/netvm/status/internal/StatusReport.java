package org.netvm.status.internal;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import org.netvm.dataplane.Dataplane;
import org.netvm.firewall.FirewallStatus;
import org.netvm.vif.VifRegistry;
import org.netvm.vif.VifState;
import org.netvm.xenstore.XenStore;

/**
 * One snapshot of everything {@code netvm status} and the metrics show, with the verdict: in sync
 * when {@link #reasons()} is empty, else degraded for those reasons. Sources that are not there
 * (service not registered) are {@code null}.
 *
 * @param time        when the snapshot was taken
 * @param xenstore    the xenstore connection
 * @param dataplane   the dataplane's status, or null without a dataplane
 * @param backends    per-backend apply statistics (empty without a dataplane)
 * @param vifCounters the vif reconciler's counters, or null without a vif registry
 * @param vifs        the vifs (empty without a vif registry)
 * @param programming seconds from a vif's first event to programmed, or null without a vif registry
 * @param firewall    the per-guest firewall's state, or null without the firewall
 * @param reasons     why the netvm is degraded; empty when in sync
 */
record StatusReport(Instant time, XenStoreView xenstore, Dataplane.Status dataplane,
        List<Dataplane.BackendStatistics> backends, VifRegistry.Counters vifCounters, List<VifState> vifs,
        VifRegistry.Histogram programming, FirewallStatus.Snapshot firewall, List<Reason> reasons) {

    static final String IN_SYNC = "in-sync";
    static final String DEGRADED = "degraded";

    /** Every reason code there is (the metrics show each as 0 or 1); a new reason adds its code here. */
    static final List<String> REASON_CODES = List.of("xenstore-disconnected", "no-dataplane", "no-active-backend",
            "backend-out-of-sync", "last-apply-failed", "requested-backend-failed", "vifs-not-synced", "vifs-failed",
            "firewall-blocked", "dns-no-upstream", "apply-stalled", "reconciler-stalled", "reconciler-dead",
            "config-invalid");

    /** A reason for {@code degraded}: a stable code and a message for people. */
    record Reason(String code, String message) {
    }

    /**
     * The xenstore connection.
     *
     * @param present    a XenStore service is registered
     * @param connected  it is connected to the daemon
     * @param transport  its {@code xenstore.transport} property, or null
     * @param address    its {@code xenstore.address} property, or null
     * @param statistics its counters, or null if it does not count
     */
    record XenStoreView(boolean present, boolean connected, String transport, String address,
            XenStore.Statistics statistics) {
        static final XenStoreView ABSENT = new XenStoreView(false, false, null, null, null);

        static XenStoreView of(XenStore xs, Map<String, ?> props) {
            if (xs == null) {
                return ABSENT;
            }
            Object t = props == null ? null : props.get(XenStore.TRANSPORT);
            Object a = props == null ? null : props.get(XenStore.ADDRESS);
            return new XenStoreView(true, xs.isConnected(), t == null ? null : t.toString(),
                    a == null ? null : a.toString(), xs.statistics().orElse(null));
        }
    }

    StatusReport {
        Objects.requireNonNull(time, "time");
        Objects.requireNonNull(xenstore, "xenstore");
        backends = List.copyOf(backends);
        vifs = List.copyOf(vifs);
        reasons = List.copyOf(reasons);
    }

    /** Takes a snapshot from the services there are (any may be null). */
    static StatusReport collect(Instant now, XenStore xs, Map<String, ?> xsProps, Dataplane dataplane,
            VifRegistry registry, FirewallStatus firewall) {
        return collect(now, xs, xsProps, dataplane, registry, firewall, null);
    }

    /**
     * @param dnsUpstreams where DNS1/DNS2 go as the DNS bundle last said (empty: every query dropped), or
     *                     null when it has not said (no DNS bundle)
     */
    static StatusReport collect(Instant now, XenStore xs, Map<String, ?> xsProps, Dataplane dataplane,
            VifRegistry registry, FirewallStatus firewall, List<java.net.InetAddress> dnsUpstreams) {
        return collect(now, xs, xsProps, dataplane, registry, firewall, dnsUpstreams, List.of());
    }

    /**
     * @param reconcilers the reconcilers' published progress ({@link Liveness}); stalled applies, stuck
     *                    passes or requests and dead threads are reasons
     */
    static StatusReport collect(Instant now, XenStore xs, Map<String, ?> xsProps, Dataplane dataplane,
            VifRegistry registry, FirewallStatus firewall, List<java.net.InetAddress> dnsUpstreams,
            List<? extends Map<String, ?>> reconcilers) {
        XenStoreView x = XenStoreView.of(xs, xsProps);
        Dataplane.Status d = dataplane == null ? null : dataplane.status();
        List<Dataplane.BackendStatistics> b = dataplane == null ? List.of() : dataplane.backendStatistics();
        VifRegistry.Counters c = registry == null ? null : registry.counters();
        List<VifState> v = registry == null ? List.of() : registry.vifs();
        VifRegistry.Histogram p = registry == null ? null : registry.programmingSeconds();
        FirewallStatus.Snapshot f = firewall == null ? null : firewall.snapshot();
        List<Reason> reasons = reasons(x, d, c, v);
        if (f != null && !f.blocked().isEmpty()) {
            reasons.add(blocked(f.blocked()));
        }
        if (dnsUpstreams != null && dnsUpstreams.isEmpty()) {
            reasons.add(new Reason("dns-no-upstream", "no usable upstream nameserver: guests' DNS queries to "
                    + "DNS1/DNS2 are dropped (check the netvm's resolv.conf)"));
        }
        reasons.addAll(Liveness.reasons(reconcilers, Liveness.APPLY_MILLIS, Liveness.PASS_MILLIS));
        return new StatusReport(now, x, d, b, c, v, p, f, reasons);
    }

    /**
     * This report with the reason {@code config-invalid} added when components refused their
     * configuration (see {@code StatusCollector.failedComponents}).
     */
    StatusReport withConfigProblems(List<String> problems) {
        if (problems.isEmpty()) {
            return this;
        }
        List<Reason> more = new ArrayList<>(reasons);
        more.add(new Reason("config-invalid", problems.size() + " component(s) refused their configuration: "
                + String.join("; ", problems) + " (netvm config show; netvm config check)"));
        return new StatusReport(time, xenstore, dataplane, backends, vifCounters, vifs, programming, firewall, more);
    }

    /** The firewall's blocked guests as one reason: the first few with their reasons. */
    static Reason blocked(List<FirewallStatus.Blocked> blocked) {
        List<String> shown = blocked.stream().limit(5).map(g -> "domain " + g.domid() + ": " + g.reason()).toList();
        return new Reason("firewall-blocked", blocked.size() + " guest(s) blocked by the firewall: "
                + String.join("; ", shown) + (blocked.size() > shown.size() ? "; ..." : ""));
    }

    /** The verdict's reasons, in a fixed order. */
    static List<Reason> reasons(XenStoreView xs, Dataplane.Status d, VifRegistry.Counters counters,
            List<VifState> vifs) {
        List<Reason> out = new ArrayList<>();
        if (!xs.present()) {
            out.add(new Reason("xenstore-disconnected", "no xenstore connection is registered"));
        } else if (!xs.connected()) {
            out.add(new Reason("xenstore-disconnected", "not connected to xenstored"
                    + (xs.address() == null ? "" : " at " + xs.address()) + " (reconnecting)"));
        }
        if (d == null) {
            out.add(new Reason("no-dataplane", "the dataplane service is not running"));
        } else {
            if (d.activeBackend() == null) {
                out.add(new Reason("no-active-backend", "no packet filter backend is in charge (requested "
                        + d.requestedBackend() + "; available: "
                        + (d.availableBackends().isEmpty() ? "none" : String.join(", ", d.availableBackends())) + ")"));
            } else if (!d.inSync()) {
                out.add(new Reason("backend-out-of-sync", "backend " + d.activeBackend()
                        + " does not hold the current plan yet"));
            }
            if (d.lastError() != null) {
                out.add(new Reason("last-apply-failed", d.lastError()));
            }
            if (d.requestFailure() != null) {
                out.add(new Reason("requested-backend-failed", d.requestFailure()));
            }
        }
        if (counters != null && !counters.synced()) {
            out.add(new Reason("vifs-not-synced", "the vif reconciler has not read xenstore and the links yet"));
        }
        List<String> failed = vifs.stream().filter(v -> v.actual() == VifState.Actual.FAILED).map(VifState::name)
                .toList();
        if (!failed.isEmpty()) {
            out.add(new Reason("vifs-failed", failed.size() + " vif(s) failed: " + String.join(", ", failed)));
        }
        return out;
    }

    boolean inSync() {
        return reasons.isEmpty();
    }

    String verdict() {
        return inSync() ? IN_SYNC : DEGRADED;
    }

    /** The verdict as one line: {@code in-sync}, or {@code degraded: reason; reason}. */
    String verdictLine() {
        return inSync() ? IN_SYNC
                : DEGRADED + ": " + String.join("; ", reasons.stream().map(r -> r.code() + " (" + r.message() + ")").toList());
    }

    long count(VifState.Actual actual) {
        return vifs.stream().filter(v -> v.actual() == actual).count();
    }
}
