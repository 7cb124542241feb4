package org.netvm.cli.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** {@code backend use --permanent}: one value set in place, the rest of the file as it was. */
class ConfigEditTest {

    @Test
    void replacesTheValueAndKeepsCommentsAndOrder() throws Exception {
        String text = """
                { ":configurator:symbolic-name": "x", ":configurator:version": "1",
                  // chosen by the operator
                  "org.netvm.dataplane": { "backend": "nftables", "resyncSeconds:Integer": 5 }
                }
                """;
        assertEquals(text.replace("\"backend\": \"nftables\"", "\"backend\": \"iptables\""),
                ConfigEdit.setString(text, "org.netvm.dataplane", "backend", "iptables"));
    }

    @Test
    void addsTheKeyOrThePidWhenMissing() throws Exception {
        assertEquals("{ \"org.netvm.dataplane\": { \"backend\": \"iptables\", \"resyncSeconds\": 5 } }",
                ConfigEdit.setString("{ \"org.netvm.dataplane\": { \"resyncSeconds\": 5 } }", "org.netvm.dataplane",
                        "backend", "iptables"));
        assertEquals("{ \"org.netvm.dataplane\": { \"backend\": \"iptables\" } }",
                ConfigEdit.setString("{ \"org.netvm.dataplane\": {} }", "org.netvm.dataplane", "backend", "iptables"));
        assertEquals("{\n  \"org.netvm.dataplane\": { \"backend\": \"iptables\" }, \"org.netvm.policy\": {} }",
                ConfigEdit.setString("{ \"org.netvm.policy\": {} }", "org.netvm.dataplane", "backend", "iptables"));
    }

    @Test
    void refusesInvalidJson() {
        assertThrows(Json.ParseException.class, () -> ConfigEdit.setString("{ \"a\": ", "p", "k", "v"));
    }
}
