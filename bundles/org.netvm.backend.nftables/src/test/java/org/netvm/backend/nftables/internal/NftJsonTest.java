package org.netvm.backend.nftables.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * JSON read-back against what nft itself prints: {@code json/every-expression.json} is
 * {@code nft -j -n list ruleset} and {@code json/every-expression.listing} {@code nft -n list ruleset}
 * of the same ruleset ({@code json/every-expression.nft}: every kind of expression netvm writes), both
 * from nft 1.0.6. Each rule's text from the JSON must be the line nft printed.
 */
class NftJsonTest {
    private static final Path DIR = Path.of("src/test/resources/json");

    @Test
    void everyRuleReadsAsNftPrintsIt() throws IOException {
        NftJson json = new NftJson();
        json.parse(Files.readString(DIR.resolve("every-expression.json")));
        Map<String, List<String>> printed = rulesOf(Files.readString(DIR.resolve("every-expression.listing")));
        assertEquals(printed, json.rules);
        assertEquals("type nat hook prerouting priority -100; policy accept;", json.chains.get("ip t/pre"));
        assertEquals("type ipv4_addr", json.sets.get("inet i/s"));
        assertEquals(List.of("10.0.0.1"), List.copyOf(json.elements.get("inet i/s")));
    }

    @Test
    void tablesOfAListing() {
        List<String[]> t = NftJson.tables("""
                {"nftables": [{"metainfo": {"json_schema_version": 1}},
                 {"table": {"family": "inet", "name": "netvm", "handle": 1}},
                 {"table": {"family": "ip", "name": "nat", "handle": 2}}]}""");
        assertEquals(List.of("inet netvm", "ip nat"), t.stream().map(a -> a[0] + " " + a[1]).toList());
    }

    @Test
    void otherKeysBeforeTheArrayAreSkippedAndANonAnswerIsAnError() {
        List<String[]> t = NftJson.tables("""
                {"other": {"nftables": [{"table": {"family": "ip", "name": "inner"}}]}, "list": [[1], {"a": 2}],
                 "nftables": [{"table": {"family": "inet", "name": "netvm", "handle": 1}}]}""");
        assertEquals(List.of("inet netvm"), t.stream().map(a -> a[0] + " " + a[1]).toList());
        for (String bad : List.of("[]", "{\"nftables\": {}}", "{\"tables\": []}")) {
            assertThrows(jakarta.json.JsonException.class, () -> NftJson.tables(bad), bad);
        }
    }

    @Test
    void concatElementsMarkedRulesAndWhatNetvmNeverWritesShowUpAsTheyAre() {
        NftJson json = new NftJson();
        json.parse("""
                {"nftables": [
                 {"set": {"family": "inet", "name": "allowed", "table": "netvm", "type": ["ifname", "ipv4_addr"],
                   "handle": 8, "flags": ["interval"], "elem": [{"concat": ["vif3.0", "10.137.0.5"]}]}},
                 {"set": {"family": "inet", "name": "nets", "table": "netvm", "type": "ipv4_addr", "handle": 9,
                   "elem": [{"prefix": {"addr": "10.0.0.0", "len": 8}}, {"range": ["10.1.0.1", "10.1.0.9"]}]}},
                 {"chain": {"family": "inet", "table": "netvm", "name": "custom-forward", "handle": 3}},
                 {"rule": {"family": "inet", "table": "netvm", "chain": "custom-forward", "handle": 4,
                   "comment": "netvm", "expr": [{"match": {"op": "==", "left": {"meta": {"key": "iifname"}},
                   "right": "vif3.0"}}, {"counter": {"packets": 5, "bytes": 300}}, {"jump": {"target": "acct"}}]}},
                 {"rule": {"family": "inet", "table": "netvm", "chain": "custom-forward", "handle": 5,
                   "expr": [{"limit": {"rate": 10, "per": "second"}}, {"accept": null}]}},
                 {"flowtable": {"family": "inet", "table": "netvm", "name": "ft", "handle": 6}}]}""");
        assertEquals(List.of("\"vif3.0\" . 10.137.0.5"), List.copyOf(json.elements.get("inet netvm/allowed")));
        // flags interval is read (the key sets have it); on a set netvm declares without it, it is drift all the same
        assertEquals("type ifname . ipv4_addr; flags interval", json.sets.get("inet netvm/allowed"));
        assertEquals(List.of("10.0.0.0/8", "10.1.0.1-10.1.0.9"), List.copyOf(json.elements.get("inet netvm/nets")));
        List<String> rules = json.rules.get("inet netvm/custom-forward");
        assertEquals("iifname \"vif3.0\" counter jump acct " + UserRules.MARK, rules.get(0));
        assertTrue(UserRules.isNetvms(rules.get(0)));
        assertTrue(rules.get(1).startsWith("?{\"limit\"") && rules.get(1).endsWith(" accept"), rules.get(1));
        assertEquals("", json.chains.get("inet netvm/custom-forward"));
        assertEquals("unexpected object", json.chains.get("inet netvm/?flowtable ft"));
    }

    /** Rule lines by {@code "<family> <table>/<chain>"} of an {@code nft -n list} text. */
    private static Map<String, List<String>> rulesOf(String listing) {
        Map<String, List<String>> out = new LinkedHashMap<>();
        String table = null;
        List<String> chain = null;
        for (String raw : listing.lines().toList()) {
            String line = raw.strip();
            if (line.startsWith("table ")) {
                table = line.substring(6, line.length() - 2);
            } else if (line.startsWith("chain ")) {
                chain = out.computeIfAbsent(table + "/" + line.substring(6, line.length() - 2), k -> new ArrayList<>());
            } else if (line.equals("}")) {
                chain = null;
            } else if (chain != null && !line.isEmpty() && !line.startsWith("type ")) {
                chain.add(line);
            }
        }
        return out;
    }
}
