package org.netvm.status.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;

class StatusJsonTest {

    /** Compares with src/test/resources/NAME; -Dgolden.update=true rewrites it. */
    static void assertGolden(String name, String actual) throws IOException {
        Path p = Path.of("src/test/resources", name);
        if (Boolean.getBoolean("golden.update")) {
            Files.writeString(p, actual);
        }
        assertEquals(Files.readString(p), actual, "golden file " + p);
    }

    @Test
    void healthyStatusMatchesTheDocumentedExample() throws IOException {
        assertGolden("status-in-sync.json", StatusJson.render(new Fakes.Rig().report(), true) + "\n");
    }

    @Test
    void degradedStatusMatchesGoldenFile() throws IOException {
        Fakes.Rig rig = new Fakes.Rig();
        rig.xs.connected(false);
        rig.xs.statistics(null);
        rig.failVif4();
        assertGolden("status-degraded.json", StatusJson.render(rig.report(), true) + "\n");
    }

    @Test
    void compactOutputIsOneLine() {
        String json = StatusJson.render(new Fakes.Rig().report(), false);
        assertTrue(json.startsWith("{\"schema\":\"netvm.status/1\",\"time\":\"2026-11-27T12:00:00Z\",\"verdict\":\"in-sync\","
                + "\"reasons\":[],\"xenstore\":{"), json);
        assertTrue(!json.contains("\n") && !json.contains(" \""), json);
    }

    @Test
    void compactOutputParsesBackWithEveryGuest() {
        Fakes.Rig rig = new Fakes.Rig();
        rig.failVif4();
        String json = StatusJson.render(rig.report(), false);
        jakarta.json.JsonObject parsed = jakarta.json.Json.createReader(new java.io.StringReader(json)).readObject();
        assertEquals("netvm.status/1", parsed.getString("schema"));
        assertEquals(rig.report().vifs().size(), parsed.getJsonArray("guests").size());
    }

    @Test
    void controlCharactersAndQuotesAreEscaped() {
        jakarta.json.JsonObject o = jakarta.json.Json.createObjectBuilder()
                .add("s", "q\"b\\n\nt\tc\u0001e").add("n", 5).addNull("x").build();
        assertEquals("{\"s\":\"q\\\"b\\\\n\\nt\\tc\\u0001e\",\"n\":5,\"x\":null}", StatusJson.write(o, false));
    }
}
