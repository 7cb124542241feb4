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
        rig.xs.connected = false;
        rig.xs.statistics = null;
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
    void stringsAreEscapedAndNumbersAreJson() {
        JsonWriter w = new JsonWriter(false);
        w.beginObject().member("s", "q\"b\\n\nt\tc\u0001e\u2028 ü \uD83D\uDE00 lone \uD800.").member("n", 5)
                .member("d", Double.NaN).member("f", 0.25).name("a").beginArray().value(true).nullValue()
                .beginObject().endObject().beginArray().endArray().endArray().endObject();
        assertEquals("{\"s\":\"q\\\"b\\\\n\\nt\\tc\\u0001e\\u2028 ü \uD83D\uDE00 lone \\ud800.\",\"n\":5,"
                + "\"d\":null,\"f\":0.25,\"a\":[true,null,{},[]]}", w.toString());
    }

    @Test
    void prettyOutputIndentsNestedValues() {
        JsonWriter w = new JsonWriter(true);
        w.beginObject().member("a", 1).name("b").beginArray().value("x").endArray().name("c").beginObject().endObject()
                .endObject();
        assertEquals("{\n  \"a\": 1,\n  \"b\": [\n    \"x\"\n  ],\n  \"c\": {}\n}", w.toString());
    }
}
