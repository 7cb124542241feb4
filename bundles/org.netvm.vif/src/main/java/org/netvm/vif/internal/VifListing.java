package org.netvm.vif.internal;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import jakarta.json.Json;
import jakarta.json.JsonArrayBuilder;
import jakarta.json.JsonObjectBuilder;
import jakarta.json.stream.JsonGenerator;

import org.netvm.util.TextTable;
import org.netvm.vif.VifRegistry;
import org.netvm.vif.VifState;

/**
 * {@code netvm vif list [--json]}: the summary line, then the table {@code netvm status} shows (same
 * columns, lower-case states); {@code --json} is documented in docs/cli-json.md (schema
 * {@value #SCHEMA}), its guests as {@code netvm status --json}'s {@code guests[]}.
 */
final class VifListing {

    static final String SCHEMA = "netvm.vifs/1";

    private static final DateTimeFormatter TIME =
            DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSS'Z'", Locale.ROOT).withZone(ZoneOffset.UTC);

    private VifListing() {
    }

    static String text(VifRegistry.Counters sum, List<VifState> vifs) {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "synced %s, passes %d, batches %d, repairs %d%n", sum.synced(), sum.passes(),
                sum.batches(), sum.repairs()));
        if (vifs.isEmpty()) {
            return b.toString();
        }
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"VIF", "DOMID", "IPV4", "IPV6", "DESIRED", "ACTUAL", "SINCE", "ERROR"});
        for (VifState v : vifs) {
            rows.add(new String[] {v.name(), Integer.toString(v.domid()), dash(v.ipv4()), dash(v.ipv6()),
                lower(v.desired()), lower(v.actual()), time(v.since()),
                v.error() == null ? "-" : VifCommand.clean(v.error())});
        }
        TextTable.append(b, rows);
        return b.toString();
    }

    static String json(VifRegistry.Counters sum, List<VifState> vifs) {
        JsonObjectBuilder o = Json.createObjectBuilder().add("schema", SCHEMA);
        o.add("synced", sum.synced()).add("passes", sum.passes()).add("batches", sum.batches())
                .add("repairs", sum.repairs());
        JsonArrayBuilder guests = Json.createArrayBuilder();
        for (VifState v : vifs) {
            JsonObjectBuilder g = Json.createObjectBuilder().add("vif", v.name()).add("domid", v.domid())
                    .add("devid", v.devid());
            put(g, "ipv4", v.ipv4());
            put(g, "ipv6", v.ipv6());
            put(g, "mac", v.mac());
            put(g, "gateway", v.gateway());
            g.add("desired", lower(v.desired())).add("actual", lower(v.actual()));
            put(g, "error", v.error());
            put(g, "since", v.since() == null ? null : time(v.since()));
            g.add("repairs", v.repairs());
            guests.add(g);
        }
        o.add("guests", guests);
        var text = new java.io.StringWriter();
        try (var w = Json.createWriterFactory(Map.of(JsonGenerator.PRETTY_PRINTING, true)).createWriter(text)) {
            w.write(o.build());
        }
        return text.toString().strip() + "\n";
    }

    private static void put(JsonObjectBuilder o, String name, String value) {
        if (value == null) {
            o.addNull(name);
        } else {
            o.add(name, value);
        }
    }

    private static String dash(String s) {
        return s == null ? "-" : s;
    }

    static String lower(Enum<?> e) {
        return e.name().toLowerCase(Locale.ROOT);
    }

    private static String time(Instant t) {
        return t == null ? "-" : TIME.format(t);
    }
}
