package org.netvm.dataplane.internal;

import java.io.StringWriter;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

import jakarta.json.Json;
import jakarta.json.JsonArrayBuilder;
import jakarta.json.JsonObjectBuilder;
import jakarta.json.stream.JsonGenerator;

import org.netvm.dataplane.OwnedState;

/**
 * {@code netvm plan --json} (schema {@value #SCHEMA}) and {@code netvm backend --json}
 * ({@value #BACKEND_SCHEMA}), documented in docs/cli-json.md.
 */
final class PlanJson {

    /** 2: {@code numeric} added; the texts are shown with symbolic names unless it is true (1: always numeric). */
    static final String SCHEMA = "netvm.plan/2";
    static final String BACKEND_SCHEMA = "netvm.backend/1";

    private PlanJson() {
    }

    /** {@code numeric}: the backend's canonical texts as compared, else with {@link SymbolicNames}. */
    static String render(BackendControl.DryRun d, boolean numeric) {
        UnaryOperator<String> show = PlanCommand.shown(numeric);
        JsonObjectBuilder o = Json.createObjectBuilder().add("schema", SCHEMA).add("numeric", numeric);
        o.add("contributions", d.contributions());
        JsonArrayBuilder leftOut = Json.createArrayBuilder();
        d.leftOut().forEach((owner, why) -> leftOut.add(Json.createObjectBuilder().add("owner", owner).add("reason", why)));
        o.add("leftOut", leftOut);
        o.add("requestedBackend", d.requested());
        put(o, "backend", d.backend());
        o.add("inCharge", d.backend() != null && d.inCharge());
        if (d.backend() == null) {
            o.addNull("expected");
        } else {
            o.add("expected", owned(d.expected(), show));
        }
        put(o, "readBackError", d.actual() == null ? d.readBackError() : null);
        List<String> diff = d.backend() == null || d.actual() == null ? null : d.expected().diff(d.actual());
        if (diff == null) {
            o.addNull("inSync");
            o.addNull("diff");
        } else {
            o.add("inSync", diff.isEmpty());
            JsonArrayBuilder lines = Json.createArrayBuilder();
            diff.stream().map(show).forEach(lines::add);
            o.add("diff", lines);
        }
        return write(o);
    }

    static String backend(org.netvm.dataplane.Dataplane.Status s) {
        JsonObjectBuilder o = Json.createObjectBuilder().add("schema", BACKEND_SCHEMA);
        put(o, "active", s.activeBackend());
        o.add("inSync", s.activeBackend() != null && s.inSync());
        o.add("requested", s.requestedBackend());
        put(o, "requestFailure", s.requestFailure());
        JsonArrayBuilder available = Json.createArrayBuilder();
        s.availableBackends().forEach(available::add);
        o.add("available", available);
        put(o, "lastApply", s.lastApply() == null ? null : java.time.format.DateTimeFormatter
                .ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSS'Z'", java.util.Locale.ROOT).withZone(java.time.ZoneOffset.UTC)
                .format(s.lastApply()));
        o.add("lastApplyMillis", s.lastApplyDuration().toMillis()).add("applies", s.applies())
                .add("failures", s.failures()).add("driftRepairs", s.driftRepairs());
        put(o, "lastError", s.lastError());
        o.add("contributions", s.contributions()).add("rejected", s.rejected()).add("elements", s.elements());
        return write(o);
    }

    private static String write(JsonObjectBuilder o) {
        StringWriter text = new StringWriter();
        try (var w = Json.createWriterFactory(Map.of(JsonGenerator.PRETTY_PRINTING, true)).createWriter(text)) {
            w.write(o.build());
        }
        return text.toString().strip() + "\n";
    }

    private static JsonObjectBuilder owned(OwnedState s, UnaryOperator<String> show) {
        JsonArrayBuilder chains = Json.createArrayBuilder();
        s.chains().forEach((key, header) -> {
            JsonArrayBuilder rules = Json.createArrayBuilder();
            s.rules().getOrDefault(key, List.of()).stream().map(show).forEach(rules::add);
            chains.add(Json.createObjectBuilder().add("key", key).add("header", show.apply(header)).add("rules", rules));
        });
        JsonArrayBuilder otherRules = Json.createArrayBuilder();
        s.rules().forEach((key, list) -> {
            if (!s.chains().containsKey(key)) {
                JsonArrayBuilder rules = Json.createArrayBuilder();
                list.stream().map(show).forEach(rules::add);
                otherRules.add(Json.createObjectBuilder().add("key", key).add("rules", rules));
            }
        });
        JsonArrayBuilder sets = Json.createArrayBuilder();
        s.sets().forEach((key, header) -> {
            JsonArrayBuilder elements = Json.createArrayBuilder();
            s.elements().getOrDefault(key, new java.util.TreeSet<>()).stream().map(show).forEach(elements::add);
            sets.add(Json.createObjectBuilder().add("key", key).add("header", show.apply(header))
                    .add("elements", elements));
        });
        return Json.createObjectBuilder().add("chains", chains).add("rulesInOtherChains", otherRules).add("sets", sets);
    }

    private static void put(JsonObjectBuilder o, String name, String value) {
        if (value == null) {
            o.addNull(name);
        } else {
            o.add(name, value);
        }
    }
}
