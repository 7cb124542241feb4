package org.netvm.runtime.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.netvm.cli.config.ConfigCheck;
import org.netvm.cli.config.Metatype;

/** {@code netvm config show}'s sources, and the start-up check's lines. */
class ConfigShowTest {

    @TempDir
    Path dir;

    static Metatype metatype() throws IOException {
        Metatype m = new Metatype();
        try (InputStream in = ConfigShowTest.class.getResourceAsStream("/dataplane-metatype.xml")) {
            m.addXml(in.readAllBytes(), "org.netvm.dataplane");
        }
        return m;
    }

    static final String FILE = """
            { ":configurator:symbolic-name": "t", ":configurator:version": "1",
              "org.netvm.dataplane": { "backend": "nftables", "resyncSeconds:Integer": 4, "markerDir": "/run/x" }
            }
            """;

    @Test
    void eachValueSaysWhereItCameFrom() throws IOException {
        var file = ConfigCheck.check(FILE, metatype()).values();
        Map<String, Map<String, Object>> cm = Map.of("org.netvm.dataplane", Map.of("service.pid", "org.netvm.dataplane",
                "backend", "iptables", "resyncSeconds", 4, "markerDir", "/run/y", "requiredOwners",
                new String[] {"policy", "vif"}, "bakend", "x"));
        Map<String, Map<String, Object>> launcher = Map.of("org.netvm.dataplane", Map.of("markerDir", "/run/y"));
        String text = ConfigShow.render(metatype(), cm, file, launcher);
        List<String> lines = text.lines().map(l -> l.strip().replaceAll(" +", " ")).toList();
        assertEquals("org.netvm.dataplane", lines.get(0));
        assertTrue(lines.contains("backend iptables runtime"), text);
        assertTrue(lines.contains("resyncSeconds 4 file"), text);
        assertTrue(lines.contains("markerDir /run/y launcher"), text);
        assertTrue(lines.contains("requiredOwners policy, vif runtime"), text);
        assertTrue(lines.contains("debounceMillis 2 default"), text);
        assertTrue(lines.contains("scriptNftablesTable inet netvm default"), text);
        assertTrue(lines.contains("bakend x not in the metatype: ignored"), text);
    }

    @Test
    void aPidWithoutConfigurationShowsItsDefaults() throws IOException {
        String text = ConfigShow.render(metatype(), Map.of(), Map.of(), Map.of());
        assertTrue(text.startsWith("org.netvm.dataplane   (no configuration: defaults)\n"), text);
        assertTrue(text.contains("  backend                    nftables                         default\n"), text);
    }

    @Test
    void theStartCheckGivesTheSameLinesAsConfigCheck() throws IOException {
        Path f = Files.writeString(dir.resolve("netvm.json"), FILE.replace("\"backend\"", "\"bakend\""));
        assertEquals(List.of(f + ":2:28: org.netvm.dataplane: unknown key \"bakend\" (did you mean \"backend\"?)"),
                Boot.check(f, metatype()));
        assertEquals(List.of(), Boot.check(Files.writeString(dir.resolve("good.json"), FILE), metatype()));
        assertEquals("4", ConfigShow.text(StartValues.file().get("org.netvm.dataplane").get("resyncSeconds")),
                "the file's values are kept for config show");
    }
}
