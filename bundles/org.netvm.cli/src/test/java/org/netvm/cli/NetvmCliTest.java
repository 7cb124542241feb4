package org.netvm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

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
}
