package org.netvm.cli.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code netvm config check}: exact messages on good and bad files, against real metatype documents. */
class ConfigCheckTest {

    @TempDir
    Path dir;

    static Metatype metatype() throws IOException {
        Metatype m = new Metatype();
        for (String name : new String[] {"dataplane", "client", "policy"}) {
            try (InputStream in = ConfigCheckTest.class.getResourceAsStream("/metatype/" + name + ".xml")) {
                m.addXml(in.readAllBytes(), "org.netvm." + name + "-0.2.0.jar");
            }
        }
        return m;
    }

    /** The Configurator's required members, on the first line (so that line numbers stay as written). */
    static final String HEADER = "{ \":configurator:symbolic-name\": \"t\", \":configurator:version\": \"1\",";

    private static List<String> problems(String json) throws IOException {
        return raw(json.startsWith("{\n") ? HEADER + json.substring(1) : json);
    }

    private static List<String> raw(String json) throws IOException {
        return ConfigCheck.check(json, metatype()).problems().stream().map(p -> p.format("netvm.json")).toList();
    }

    @Test
    void theShippedDefaultsAreValid() throws IOException {
        String shipped = Files.readString(Path.of("../../launch/config/netvm.json"));
        String withoutOtherBundles = shipped.replaceAll("(?s),\\s*\"org.netvm.vif\".*?\\}", "")
                .replaceAll("(?s)\"org.netvm.dns.system\".*?\\},", "");
        assertEquals(List.of(), problems(withoutOtherBundles));
    }

    @Test
    void aGoodFileWithCommentsTypedKeysAndListsHasNoProblem() throws IOException {
        assertEquals(List.of(), problems("""
                {
                  // the Configurator's comments are allowed
                  ":configurator:resource-version": 1,
                  "org.netvm.dataplane": { "backend": "iptables", "resyncSeconds:Integer": 3,
                    "requiredOwners": ["policy"], /* a list */ "scriptNftablesTable": "inet fw" },
                  "org.netvm.xenstore.client": { "transport": "xenbus", "request.timeout.ms:Long": 0 },
                  "org.netvm.policy": { "uplinkIcmp": true }
                }
                """));
    }

    @Test
    void unknownKeysAndPidsNameTheCloseSpelling() throws IOException {
        assertEquals(List.of(
                "netvm.json:2:28: org.netvm.dataplane: unknown key \"bakend\" (did you mean \"backend\"?)",
                "netvm.json:3:3: unknown PID \"org.netvm.dataplan\" (did you mean \"org.netvm.dataplane\"?)",
                "netvm.json:4:25: org.netvm.policy: unknown key \"somethingElse\"",
                "netvm.json:5:3: unknown PID \"com.example.other\""), problems("""
                {
                  "org.netvm.dataplane": { "bakend": "iptables" },
                  "org.netvm.dataplan": { "backend": "iptables" },
                  "org.netvm.policy": { "somethingElse": 1 },
                  "com.example.other": {}
                }
                """));
    }

    @Test
    void typesRangesAndOptions() throws IOException {
        assertEquals(List.of(
                "netvm.json:2:45: org.netvm.dataplane: resyncSeconds: 50 is above the maximum 5",
                "netvm.json:3:48: org.netvm.dataplane: debounceMillis: -1 is below the minimum 0",
                "netvm.json:4:41: org.netvm.dataplane: backend: expected a string, found the number 7",
                "netvm.json:5:39: org.netvm.policy: uplinkIcmp: expected a boolean, found the string \"yes\"",
                "netvm.json:6:47: org.netvm.xenstore.client: transport: \"tcp\" is not one of unix, xenbus",
                "netvm.json:7:45: org.netvm.xenstore.client: domid: expected an integer, found the number 1.5",
                "netvm.json:8:45: org.netvm.xenstore.client: domid: expected one Integer, found a list",
                "netvm.json:9:36: org.netvm.xenstore.client: domid is an integer, not declared as String",
                "netvm.json:10:59: org.netvm.dataplane: requiredOwners: expected a string, found null",
                "netvm.json:11:44: org.netvm.xenstore.client: domid: 99999999999 does not fit in an integer"),
                problems("""
                {
                  "org.netvm.dataplane": { "resyncSeconds": 50 },
                  "org.netvm.dataplane~b": { "debounceMillis": -1 },
                  "org.netvm.dataplane~c": { "backend": 7 },
                  "org.netvm.policy": { "uplinkIcmp": "yes" },
                  "org.netvm.xenstore.client": { "transport": "tcp" },
                  "org.netvm.xenstore.client~b": { "domid": 1.5 },
                  "org.netvm.xenstore.client~c": { "domid": [1] },
                  "org.netvm.xenstore.client~d": { "domid:String": "1" },
                  "org.netvm.dataplane~d": { "requiredOwners": ["policy", null] },
                  "org.netvm.xenstore.client~e": {"domid": 99999999999}
                }
                """));
    }

    @Test
    void duplicates() throws IOException {
        assertEquals(List.of(
                "netvm.json:2:45: org.netvm.policy: duplicate key \"uplinkIcmp\" (first at 2:25)",
                "netvm.json:3:3: duplicate PID \"org.netvm.policy\" (first at 2:3)"), problems("""
                {
                  "org.netvm.policy": { "uplinkIcmp": true, "uplinkIcmp": false },
                  "org.netvm.policy": {}
                }
                """));
    }

    @Test
    void invalidJsonIsOneLineWithItsPosition() throws IOException {
        assertEquals(List.of("netvm.json:3:1: invalid JSON: unexpected '}', expected a member name in double quotes"),
                problems("{\n  \"org.netvm.policy\": { \"uplinkIcmp\": true },\n}\n"));
        assertEquals(List.of("netvm.json:2:44: invalid JSON: unexpected '\"', expected ',' or '}'"),
                problems("{\n  \"org.netvm.policy\": { \"uplinkIcmp\": true \"masquerade6\": true }\n}\n"));
        assertEquals(List.of("netvm.json:1:2: invalid JSON: unexpected end of file, expected a member name in double quotes"),
                problems("{"));
        assertEquals(List.of("netvm.json:1:1: the file must be one JSON object whose members are PIDs"), problems("[]"));
        assertEquals(List.of("netvm.json:2:1: invalid JSON: unexpected 'x' after the end of the document"),
                problems("{}\nx"));
    }

    @Test
    void theConfiguratorsOwnMembers() throws IOException {
        assertEquals(List.of(
                "netvm.json:1:1: missing \":configurator:symbolic-name\" (without it the Configurator ignores the whole file)",
                "netvm.json:1:1: missing \":configurator:version\" (without it the Configurator ignores the whole file)"),
                raw("{ \"org.netvm.policy\": {} }"));
        assertEquals(List.of("netvm.json:2:37: :configurator:resource-version: expected 1, found the number 2"),
                problems("{\n  \":configurator:resource-version\": 2 }"));
    }

    @Test
    void checkCommandExitCodesAndOutput() throws IOException {
        Path jar = dir.resolve("netvm.jar");
        writeRuntimeJar(jar);
        Path good = Files.writeString(dir.resolve("good.json"), HEADER + "\n\"org.netvm.policy\": { \"uplinkIcmp\": true } }");
        Path bad = Files.writeString(dir.resolve("bad.json"), HEADER + "\n\"org.netvm.policy\": { \"uplinkIcmpp\": true } }");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        assertEquals(0, ConfigTool.check(List.of(), List.of(jar), good, print(out), print(err)));
        assertEquals(good + ": ok (1 PIDs checked against the metatype of 3 PIDs)\n", text(out));
        out.reset();
        assertEquals(1, ConfigTool.check(List.of(bad.toString()), List.of(jar), good, print(out), print(err)));
        assertEquals(bad + ":2:23: org.netvm.policy: unknown key \"uplinkIcmpp\" (did you mean \"uplinkIcmp\"?)\n", text(out));
        assertEquals("netvm config check: 1 problem in " + bad + "\n", text(err));
        err.reset();
        assertEquals(2, ConfigTool.check(List.of("a", "b"), List.of(jar), good, print(out), print(err)));
        assertEquals(ConfigTool.CHECK_USAGE + "\n", text(err));
        err.reset();
        assertEquals(1, ConfigTool.check(List.of(dir.resolve("none.json").toString()), List.of(jar), good, print(out), print(err)));
        assertTrue(text(err).startsWith("netvm config check: cannot read " + dir.resolve("none.json")), text(err));
    }

    /** A jar shaped like an exported runtime: bundles under jar/, each with its metatype. */
    private static void writeRuntimeJar(Path jar) throws IOException {
        try (OutputStream f = Files.newOutputStream(jar); JarOutputStream out = new JarOutputStream(f)) {
            for (String name : new String[] {"dataplane", "client", "policy"}) {
                ByteArrayOutputStream inner = new ByteArrayOutputStream();
                try (JarOutputStream b = new JarOutputStream(inner);
                        InputStream xml = ConfigCheckTest.class.getResourceAsStream("/metatype/" + name + ".xml")) {
                    b.putNextEntry(new JarEntry("OSGI-INF/metatype/" + name + ".xml"));
                    xml.transferTo(b);
                }
                out.putNextEntry(new JarEntry("jar/org.netvm." + name + "-0.2.0.jar"));
                out.write(inner.toByteArray());
            }
        }
    }

    @Test
    void didYouMeanOnlyForCloseSpellings() {
        assertEquals(" (did you mean \"backend\"?)", ConfigCheck.didYouMean("bakend", List.of("backend", "markerDir")));
        assertEquals(" (did you mean \"tablePrefix\"?)", ConfigCheck.didYouMean("tableprefix", List.of("tablePrefix")));
        assertEquals(" (did you mean \"netns\"?)", ConfigCheck.didYouMean("nents", List.of("netns", "nft")));
        assertEquals("", ConfigCheck.didYouMean("colour", List.of("backend", "markerDir")));
    }

    @Test
    void numbersCompareAsLongsOrAsDecimals() {
        assertEquals(0, ConfigCheck.compareNumbers("5", "5"));
        assertTrue(ConfigCheck.compareNumbers("-1", "0") < 0);
        assertTrue(ConfigCheck.compareNumbers("50", "5") > 0);
        assertTrue(ConfigCheck.compareNumbers("-9223372036854775808", "-9223372036854775807") < 0);
        assertTrue(ConfigCheck.compareNumbers("9223372036854775808", "9223372036854775807") > 0, "beyond a long");
        assertTrue(ConfigCheck.compareNumbers("99999999999999999999999", "-9223372036854775808") > 0);
        assertTrue(ConfigCheck.compareNumbers("2.5", "2") > 0, "decimals");
        assertTrue(ConfigCheck.compareNumbers("1e3", "999") > 0, "exponents");
        assertEquals(0, ConfigCheck.compareNumbers("-0", "0"));
    }

    @Test
    void metatypeDefaultsAreSplitAndUnescaped() {
        assertEquals(List.of("policy", "vif"), Metatype.splitDefault("policy,vif"));
        assertEquals(List.of("inet netvm"), Metatype.splitDefault("inet\\ netvm"));
        assertEquals(List.of("a,b"), Metatype.splitDefault("a\\,b"));
    }

    private static PrintStream print(ByteArrayOutputStream b) {
        return new PrintStream(b, true, StandardCharsets.UTF_8);
    }

    private static String text(ByteArrayOutputStream b) {
        return b.toString(StandardCharsets.UTF_8);
    }
}
