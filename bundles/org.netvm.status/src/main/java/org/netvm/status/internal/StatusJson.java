package org.netvm.status.internal;

import java.io.StringWriter;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Locale;
import java.util.Map;

import jakarta.json.Json;
import jakarta.json.JsonArrayBuilder;
import jakarta.json.JsonObject;
import jakarta.json.JsonObjectBuilder;
import jakarta.json.JsonValue;
import jakarta.json.JsonWriterFactory;
import jakarta.json.stream.JsonGenerator;

import org.netvm.dataplane.Dataplane;
import org.netvm.firewall.FirewallStatus;
import org.netvm.vif.VifRegistry;
import org.netvm.vif.VifState;

/**
 * {@code netvm status --json}: the schema is documented in docs/status-json.md; keep them in step.
 * Built and written with the Jakarta JSON provider the runtime carries (parsson).
 */
final class StatusJson {

    /** Changes only when a field is removed or changes meaning; added fields keep it. */
    static final String SCHEMA = "netvm.status/1";

    private static final JsonWriterFactory PRETTY = Json.createWriterFactory(Map.of(JsonGenerator.PRETTY_PRINTING, true));
    private static final JsonWriterFactory COMPACT = Json.createWriterFactory(Map.of());

    private StatusJson() {
    }

    static String render(StatusReport r, boolean pretty) {
        return render(r, null, pretty);
    }

    /** With {@code process} (the agent's own RSS and start time; null: left out) after {@code guests}. */
    static String render(StatusReport r, ProcessFacts process, boolean pretty) {
        JsonObjectBuilder o = Json.createObjectBuilder();
        o.add("schema", SCHEMA);
        put(o, "time", instant(r.time()));
        o.add("verdict", r.verdict());
        JsonArrayBuilder reasons = Json.createArrayBuilder();
        for (StatusReport.Reason reason : r.reasons()) {
            reasons.add(Json.createObjectBuilder().add("code", reason.code()).add("message", reason.message()));
        }
        o.add("reasons", reasons);
        o.add("xenstore", xenstore(r.xenstore()));
        put(o, "dataplane", r.dataplane() == null ? null : dataplane(r.dataplane()));
        put(o, "vifReconciler", r.vifCounters() == null ? null : vifReconciler(r, r.vifCounters()));
        put(o, "firewall", r.firewall() == null ? null : firewall(r.firewall()));
        JsonArrayBuilder guests = Json.createArrayBuilder();
        r.vifs().forEach(v -> guests.add(guest(v)));
        o.add("guests", guests);
        if (process != null) {
            o.add("process", process(process));
        }
        return write(o.build(), pretty);
    }

    private static JsonObjectBuilder process(ProcessFacts p) {
        JsonObjectBuilder o = Json.createObjectBuilder();
        if (p.residentBytes() >= 0) {
            o.add("residentBytes", p.residentBytes());
        } else {
            o.addNull("residentBytes");
        }
        put(o, "start", instant(p.start()));
        o.add("version", p.version());
        return o;
    }

    private static JsonObjectBuilder xenstore(StatusReport.XenStoreView x) {
        JsonObjectBuilder o = Json.createObjectBuilder();
        o.add("present", x.present());
        o.add("connected", x.connected());
        put(o, "transport", x.transport());
        put(o, "address", x.address());
        if (x.statistics() == null) {
            o.addNull("requests");
            o.addNull("reconnects");
        } else {
            o.add("requests", x.statistics().requests());
            o.add("reconnects", x.statistics().reconnects());
        }
        return o;
    }

    private static JsonObjectBuilder dataplane(Dataplane.Status d) {
        JsonObjectBuilder o = Json.createObjectBuilder();
        put(o, "activeBackend", d.activeBackend());
        put(o, "requestedBackend", d.requestedBackend());
        put(o, "requestFailure", d.requestFailure());
        JsonArrayBuilder available = Json.createArrayBuilder();
        d.availableBackends().forEach(available::add);
        o.add("availableBackends", available);
        o.add("inSync", d.inSync());
        put(o, "lastApply", instant(d.lastApply()));
        o.add("lastApplyDurationSeconds", d.lastApplyDuration().toNanos() / 1e9);
        o.add("applies", d.applies());
        o.add("failures", d.failures());
        o.add("driftRepairs", d.driftRepairs());
        put(o, "lastError", d.lastError());
        o.add("contributions", d.contributions());
        o.add("rejected", d.rejected());
        o.add("elements", d.elements());
        return o;
    }

    private static JsonObjectBuilder vifReconciler(StatusReport r, VifRegistry.Counters c) {
        return Json.createObjectBuilder()
                .add("synced", c.synced())
                .add("passes", c.passes())
                .add("batches", c.batches())
                .add("repairs", c.repairs())
                .add("lastResync", orNull(instant(c.lastResync())))
                .add("attached", r.count(VifState.Actual.PROGRAMMED))
                .add("failed", r.count(VifState.Actual.FAILED));
    }

    private static JsonObjectBuilder firewall(FirewallStatus.Snapshot f) {
        JsonArrayBuilder blocked = Json.createArrayBuilder();
        for (FirewallStatus.Blocked g : f.blocked()) {
            blocked.add(Json.createObjectBuilder().add("domid", g.domid()).add("reason", g.reason()));
        }
        return Json.createObjectBuilder().add("enabled", f.enabled()).add("guests", f.guests()).add("blocked", blocked);
    }

    private static JsonObjectBuilder guest(VifState v) {
        JsonObjectBuilder o = Json.createObjectBuilder();
        o.add("vif", v.name());
        o.add("domid", v.domid());
        o.add("devid", v.devid());
        put(o, "ipv4", v.ipv4());
        put(o, "ipv6", v.ipv6());
        put(o, "mac", v.mac());
        put(o, "gateway", v.gateway());
        o.add("desired", lower(v.desired()));
        o.add("actual", lower(v.actual()));
        put(o, "error", v.error());
        put(o, "since", instant(v.since()));
        o.add("repairs", v.repairs());
        return o;
    }

    /** The document as text: compact on one line, or indented by the provider's pretty printer. */
    static String write(JsonObject document, boolean pretty) {
        StringWriter out = new StringWriter();
        try (jakarta.json.JsonWriter w = (pretty ? PRETTY : COMPACT).createWriter(out)) {
            w.writeObject(document);
        }
        return out.toString().strip();
    }

    private static void put(JsonObjectBuilder o, String name, String value) {
        o.add(name, orNull(value));
    }

    private static void put(JsonObjectBuilder o, String name, JsonObjectBuilder value) {
        if (value == null) {
            o.addNull(name);
        } else {
            o.add(name, value);
        }
    }

    private static JsonValue orNull(String value) {
        return value == null ? JsonValue.NULL : Json.createValue(value);
    }

    static String lower(Enum<?> e) {
        return e.name().toLowerCase(Locale.ROOT);
    }

    /** ISO-8601 UTC, millisecond precision, or null. */
    static String instant(Instant t) {
        return t == null ? null : t.truncatedTo(ChronoUnit.MILLIS).toString();
    }
}
