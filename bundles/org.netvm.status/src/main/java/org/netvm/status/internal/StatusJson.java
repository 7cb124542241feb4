package org.netvm.status.internal;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Locale;

import org.netvm.dataplane.Dataplane;
import org.netvm.vif.VifRegistry;
import org.netvm.vif.VifState;

/** {@code netvm status --json}: the schema is documented in docs/status-json.md; keep them in step. */
final class StatusJson {

    /** Changes only when a field is removed or changes meaning; added fields keep it. */
    static final String SCHEMA = "netvm.status/1";

    private StatusJson() {
    }

    static String render(StatusReport r, boolean pretty) {
        JsonWriter w = new JsonWriter(pretty);
        w.beginObject();
        w.member("schema", SCHEMA);
        w.member("time", instant(r.time()));
        w.member("verdict", r.verdict());
        w.name("reasons").beginArray();
        for (StatusReport.Reason reason : r.reasons()) {
            w.beginObject().member("code", reason.code()).member("message", reason.message()).endObject();
        }
        w.endArray();

        StatusReport.XenStoreView x = r.xenstore();
        w.name("xenstore").beginObject();
        w.member("present", x.present());
        w.member("connected", x.connected());
        w.member("transport", x.transport());
        w.member("address", x.address());
        if (x.statistics() == null) {
            w.name("requests").nullValue();
            w.name("reconnects").nullValue();
        } else {
            w.member("requests", x.statistics().requests());
            w.member("reconnects", x.statistics().reconnects());
        }
        w.endObject();

        w.name("dataplane");
        Dataplane.Status d = r.dataplane();
        if (d == null) {
            w.nullValue();
        } else {
            w.beginObject();
            w.member("activeBackend", d.activeBackend());
            w.member("requestedBackend", d.requestedBackend());
            w.member("requestFailure", d.requestFailure());
            w.name("availableBackends").beginArray();
            d.availableBackends().forEach(w::value);
            w.endArray();
            w.member("inSync", d.inSync());
            w.member("lastApply", instant(d.lastApply()));
            w.member("lastApplyDurationSeconds", d.lastApplyDuration().toNanos() / 1e9);
            w.member("applies", d.applies());
            w.member("failures", d.failures());
            w.member("driftRepairs", d.driftRepairs());
            w.member("lastError", d.lastError());
            w.member("contributions", d.contributions());
            w.member("rejected", d.rejected());
            w.member("elements", d.elements());
            w.endObject();
        }

        w.name("vifReconciler");
        VifRegistry.Counters c = r.vifCounters();
        if (c == null) {
            w.nullValue();
        } else {
            w.beginObject();
            w.member("synced", c.synced());
            w.member("passes", c.passes());
            w.member("batches", c.batches());
            w.member("repairs", c.repairs());
            w.member("lastResync", instant(c.lastResync()));
            w.member("attached", r.count(VifState.Actual.PROGRAMMED));
            w.member("failed", r.count(VifState.Actual.FAILED));
            w.endObject();
        }

        w.name("guests").beginArray();
        for (VifState v : r.vifs()) {
            w.beginObject();
            w.member("vif", v.name());
            w.member("domid", v.domid());
            w.member("devid", v.devid());
            w.member("ipv4", v.ipv4());
            w.member("ipv6", v.ipv6());
            w.member("mac", v.mac());
            w.member("gateway", v.gateway());
            w.member("desired", lower(v.desired()));
            w.member("actual", lower(v.actual()));
            w.member("error", v.error());
            w.member("since", instant(v.since()));
            w.member("repairs", v.repairs());
            w.endObject();
        }
        w.endArray();
        w.endObject();
        return w.toString();
    }

    static String lower(Enum<?> e) {
        return e.name().toLowerCase(Locale.ROOT);
    }

    /** ISO-8601 UTC, millisecond precision, or null. */
    static String instant(Instant t) {
        return t == null ? null : t.truncatedTo(ChronoUnit.MILLIS).toString();
    }
}
