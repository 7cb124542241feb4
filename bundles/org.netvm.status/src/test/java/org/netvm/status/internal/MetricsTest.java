package org.netvm.status.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.netvm.dataplane.Dataplane;

class MetricsTest {

    /** A sample line of the text format 0.0.4: name, optional labels, a value. */
    private static final Pattern SAMPLE = Pattern.compile(
            "[a-zA-Z_:][a-zA-Z0-9_:]*(\\{([a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\\\n]|\\\\[\\\\\"n])*\",?)*\\})? "
                    + "(-?[0-9.]+(e-?[0-9]+)?|[+-]Inf|NaN)");

    static void assertWellFormed(String text) {
        Set<String> typed = new HashSet<>();
        assertTrue(text.endsWith("\n"));
        for (String line : text.split("\n")) {
            if (line.startsWith("# TYPE ")) {
                assertTrue(typed.add(line.split(" ")[2]), "one TYPE per metric: " + line);
            } else if (!line.startsWith("# HELP ")) {
                assertTrue(SAMPLE.matcher(line).matches(), "bad sample line: " + line);
                String name = line.split("[{ ]")[0].replaceAll("_(bucket|sum|count)$", "");
                assertTrue(typed.contains(name) || typed.contains(line.split("[{ ]")[0]), "sample before its TYPE: " + line);
            }
        }
    }

    @Test
    void aHealthyNetvmHasTheKubeProxyStyleMetrics() {
        String text = Metrics.render(new Fakes.Rig().report());
        assertWellFormed(text);
        List<String> lines = List.of(text.split("\n"));
        for (String expected : List.of(
                "netvm_in_sync 1",
                "netvm_xenstore_connected 1",
                "netvm_xenstore_requests_total 1234",
                "netvm_xenstore_reconnects_total 1",
                "netvm_dataplane_in_sync 1",
                "netvm_dataplane_active_backend{backend=\"nftables\"} 1",
                "netvm_dataplane_applies_total{backend=\"nftables\"} 12",
                "netvm_dataplane_apply_failures_total{backend=\"nftables\"} 0",
                "netvm_dataplane_apply_duration_seconds_bucket{backend=\"nftables\",le=\"0.001\"} 2",
                "netvm_dataplane_apply_duration_seconds_bucket{backend=\"nftables\",le=\"0.01\"} 11",
                "netvm_dataplane_apply_duration_seconds_bucket{backend=\"nftables\",le=\"+Inf\"} 12",
                "netvm_dataplane_apply_duration_seconds_sum{backend=\"nftables\"} 0.04",
                "netvm_dataplane_apply_duration_seconds_count{backend=\"nftables\"} 12",
                "netvm_dataplane_drift_repairs_total 1",
                "netvm_dataplane_last_apply_timestamp_seconds 1795780795",
                "netvm_guests_attached 1",
                "netvm_vifs_failed 0",
                "netvm_vifs{state=\"pending\"} 1",
                "netvm_vif_programming_seconds_bucket{le=\"0.05\"} 1",
                "netvm_vif_programming_seconds_bucket{le=\"1\"} 2",
                "netvm_vif_programming_seconds_bucket{le=\"+Inf\"} 2",
                "netvm_vif_programming_seconds_sum 0.31",
                "netvm_vif_programming_seconds_count 2")) {
            assertTrue(lines.contains(expected), "missing " + expected + " in\n" + text);
        }
        for (String code : StatusReport.REASON_CODES) {
            assertTrue(lines.contains("netvm_degraded_reasons{reason=\"" + code + "\"} 0"), code + " in\n" + text);
        }
    }

    @Test
    void buildInfoResidentMemoryAndStartTime() {
        String text = Metrics.render(new Fakes.Rig().report(),
                new ProcessFacts("1.2.3", 50_331_648, Fakes.T0.minusSeconds(60)));
        assertWellFormed(text);
        List<String> lines = List.of(text.split("\n"));
        assertTrue(lines.contains("netvm_build_info{version=\"1.2.3\"} 1"), text);
        assertTrue(lines.contains("process_resident_memory_bytes 50331648"), text);
        assertTrue(lines.contains("process_start_time_seconds 1795780740"), text);
        assertTrue(ProcessFacts.current().residentBytes() > 0);
        assertTrue(Metrics.render(new Fakes.Rig().report()).contains("process_start_time_seconds "));
    }

    @Test
    void aDegradedNetvmSaysWhyAndHostileLabelValuesAreEscaped() {
        Fakes.Rig rig = new Fakes.Rig();
        rig.failVif4();
        rig.xs.statistics(null);
        rig.dataplane.backendStatistics(List.of(new Dataplane.BackendStatistics("we\"ird\\\nname", 1, 2,
                new Dataplane.Histogram(List.of(), List.of(), 3, 1.5))));
        String text = Metrics.render(rig.report());
        assertWellFormed(text);
        List<String> lines = List.of(text.split("\n"));
        assertTrue(lines.contains("netvm_in_sync 0"), text);
        assertTrue(lines.contains("netvm_degraded_reasons{reason=\"vifs-failed\"} 1"), text);
        assertTrue(lines.contains("netvm_degraded_reasons{reason=\"no-dataplane\"} 0"), text);
        assertTrue(lines.contains("netvm_vifs_failed 1"), text);
        assertTrue(lines.contains("netvm_dataplane_apply_failures_total{backend=\"we\\\"ird\\\\\\nname\"} 2"), text);
        assertFalse(text.contains("netvm_xenstore_requests_total"), "absent when the client does not count");
    }

    @Test
    void numbersArePlain() {
        assertEquals("0.005", Metrics.number(0.005));
        assertEquals("10", Metrics.number(10.0));
        assertEquals("0.0000001", Metrics.number(1e-7));
        assertEquals("+Inf", Metrics.number(Double.POSITIVE_INFINITY));
    }
}
