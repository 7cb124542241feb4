package org.netvm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NetvmCliTest {

    @TempDir
    Path dir;

    @Test
    void helpWithoutAnAgentListsTheLaunchersVerbsAndSaysNoAgentAnswers() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int st = NetvmCli.help(dir.resolve("nobody.sock"), new PrintStream(out, true, StandardCharsets.UTF_8));
        String text = out.toString(StandardCharsets.UTF_8);
        assertEquals(3, st, "the agent's status: not reachable");
        for (String verb : new String[] {"netvm run", "netvm sandbox", "netvm --version", "COMMAND"}) {
            assertTrue(text.contains(verb), verb + " missing from: " + text);
        }
        assertTrue(text.contains("none reachable at " + dir.resolve("nobody.sock")), text);
    }

    @Test
    void configCheckNeedsNoAgentAndConfigAloneIsAUsageError() throws Exception {
        Path file = Files.writeString(dir.resolve("netvm.json"), "{}");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        NetvmCli.Local local = new NetvmCli.Local(dir, file, dir.resolve("bundles.d"));
        int st = NetvmCli.dispatch(dir.resolve("nobody.sock"), List.of("config", "check"), local, print(out), print(err));
        assertEquals(2, st, "no metatype to check against: " + err);
        assertTrue(err.toString(StandardCharsets.UTF_8).startsWith("netvm config check: no metatype found"), err.toString());
        assertEquals(2, NetvmCli.dispatch(dir.resolve("nobody.sock"), List.of("config"), local, print(out), print(err)));
        out.reset();
        assertEquals(0, NetvmCli.dispatch(dir.resolve("nobody.sock"), List.of("config", "--help"), local, print(out), print(err)));
        assertTrue(out.toString(StandardCharsets.UTF_8).startsWith("usage: netvm config check"), out.toString());
        out.reset();
        assertEquals(0, NetvmCli.dispatch(dir.resolve("nobody.sock"), List.of("config", "check"),
                new NetvmCli.Local(dir, null, null), print(out), print(err)));
        assertEquals("no configuration file: the built-in defaults apply\n", out.toString(StandardCharsets.UTF_8));
    }

    @Test
    void permanentInstallCopiesToTheDeployDirectoryEvenWithoutAnAgent() throws Exception {
        Path jar = Files.writeString(dir.resolve("ext.jar"), "not really a jar");
        NetvmCli.Local local = new NetvmCli.Local(dir, null, dir.resolve("bundles.d"));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int st = NetvmCli.dispatch(dir.resolve("nobody.sock"), List.of("bundles", "install", "--permanent", jar.toString()),
                local, print(out), print(err));
        assertEquals(3, st);
        assertEquals("not really a jar", Files.readString(dir.resolve("bundles.d/ext.jar")));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("the agent will install it when it starts"), err.toString());
    }

    @Test
    void permanentBackendUseLeavesTheFileAloneWhenTheAgentDidNotSwitch() throws Exception {
        String text = "{ \"org.netvm.dataplane\": { \"backend\": \"nftables\" } }";
        Path file = Files.writeString(dir.resolve("netvm.json"), text);
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int st = NetvmCli.dispatch(dir.resolve("nobody.sock"), List.of("backend", "use", "--permanent", "iptables"),
                new NetvmCli.Local(dir, file, null), print(new ByteArrayOutputStream()), print(err));
        assertEquals(3, st);
        assertEquals(text, Files.readString(file));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("the configuration file is unchanged"), err.toString());
    }

    private static PrintStream print(ByteArrayOutputStream b) {
        return new PrintStream(b, true, StandardCharsets.UTF_8);
    }
}
