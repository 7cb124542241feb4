package org.netvm.dataplane.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.netvm.util.ProcessRunner;
import org.netvm.util.SystemProcessRunner;

class FirewallScriptsTest {

    @TempDir
    Path dir;

    final List<String> logLines = Collections.synchronizedList(new ArrayList<>());
    final org.osgi.service.log.Logger log = org.netvm.testing.log.Loggers.formatting(logLines);

    FirewallScripts.Setup setup(Path scripts, int timeoutSeconds) {
        return new FirewallScripts.Setup(scripts, Duration.ofSeconds(timeoutSeconds), "inet netvm", "NETVM-");
    }

    Path script(String name, String body, boolean executable) throws IOException {
        Path p = dir.resolve("scripts").resolve(name);
        Files.createDirectories(p.getParent());
        Files.writeString(p, "#!/bin/sh\n" + body + "\n");
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(executable ? "rwx------" : "rw-------"));
        return p;
    }

    @Test
    void scriptsRunInOrderWithTheNamesAFailingAndAHangingOneAreLoggedOnly() throws IOException {
        Path out = dir.resolve("env.txt");
        script("10-env", "env | grep ^NETVM_ | sort > " + out + "; echo 10 >> " + out + ".order", true);
        script("20-fails", "echo broken >&2; exit 3", true);
        script("30-hangs", "exec sleep 30", true);
        script("40-after", "echo 40 >> " + out + ".order", true);
        script("50-not-executable", "echo 50 >> " + out + ".order", false);
        script(".hidden", "echo hidden >> " + out + ".order", true);
        var scripts = new FirewallScripts(setup(dir.resolve("scripts"), 1), SystemProcessRunner::new, Runnable::run,
                log);

        long t0 = System.nanoTime();
        scripts.fullApplyDone("nftables");
        long took = (System.nanoTime() - t0) / 1_000_000;

        assertEquals("""
                NETVM_BACKEND=nftables
                NETVM_CUSTOM_FORWARD=custom-forward
                NETVM_CUSTOM_INPUT=custom-input
                NETVM_TABLE=inet netvm
                """, Files.readString(out));
        assertEquals("10\n40\n", Files.readString(Path.of(out + ".order")), "in name order, only executables");
        assertTrue(took < 10_000, "the hanging script was killed by the timeout: " + took + " ms");
        assertTrue(logLines.stream().anyMatch(l -> l.startsWith("WARN") && l.contains("20-fails")
                && l.contains("exit 3") && l.contains("broken")), logLines.toString());
        assertTrue(logLines.stream().anyMatch(l -> l.startsWith("WARN") && l.contains("30-hangs")
                && l.contains("did not finish")), logLines.toString());
    }

    @Test
    void argvIsEnvThenTheVariablesThenTheScriptAndIptablesGetsItsChainNames() throws IOException {
        Path s = script("fw", "true", true);
        List<List<String>> runs = new ArrayList<>();
        ProcessRunner fake = (argv, stdin) -> {
            runs.add(argv);
            return new ProcessRunner.Result(0, "", "");
        };
        new FirewallScripts(setup(s.getParent(), 5), t -> fake, Runnable::run, log).fullApplyDone("iptables");
        assertEquals(List.of(List.of("/usr/bin/env", "NETVM_BACKEND=iptables", "NETVM_TABLE=filter",
                "NETVM_CUSTOM_INPUT=NETVM-custom-input", "NETVM_CUSTOM_FORWARD=NETVM-custom-forward", s.toString())),
                runs);
    }

    @Test
    void aMissingDirectoryIsNoScriptsAndNoError() {
        new FirewallScripts(setup(dir.resolve("absent"), 5), t -> (argv, in) -> {
            throw new AssertionError("nothing to run");
        }, Runnable::run, log).fullApplyDone("nftables");
        assertEquals(List.of(), logLines);
    }

    @Test
    void fullAppliesWhileScriptsWaitBecomeOneRun() throws IOException {
        script("fw", "true", true);
        List<Runnable> queued = new ArrayList<>();
        List<String> runs = new ArrayList<>();
        var scripts = new FirewallScripts(setup(dir.resolve("scripts"), 5), t -> (argv, in) -> {
            runs.add(argv.get(1));
            return new ProcessRunner.Result(0, "", "");
        }, queued::add, log);
        scripts.fullApplyDone("nftables");
        scripts.fullApplyDone("iptables");
        assertEquals(1, queued.size(), "one run queued");
        queued.getFirst().run();
        assertEquals(List.of("NETVM_BACKEND=iptables"), runs, "with the latest backend");
    }

    @Test
    void theReconcilerRunsTheScriptsAfterFirstAppliesAndTakeOversNotAfterChanges() throws IOException {
        script("fw", "true", true);
        List<String> calls = Collections.synchronizedList(new ArrayList<>());
        List<String> full = new ArrayList<>();
        ManualClock clock = new ManualClock();
        var scripts = new FirewallScripts(setup(dir.resolve("scripts"), 5), t -> (argv, in) -> {
            full.add(argv.get(1).substring("NETVM_BACKEND=".length()));
            return new ProcessRunner.Result(0, "", "");
        }, Runnable::run, log);
        var r = clock.drive(new DataplaneReconciler(new Settings("a", 5, 2), clock, Runnable::run, log,
                ForwardingMarker.NONE, scripts));
        r.bindBackend(new FakeBackend("a", calls), java.util.Map.of("service.id", 1L, "netvm.backend", "a"));
        r.bindBackend(new FakeBackend("b", calls), java.util.Map.of("service.id", 2L, "netvm.backend", "b"));
        r.put(DataplaneReconcilerTest.policy());
        clock.advance(2);
        assertEquals(List.of("a"), full, "first apply");
        r.put(DataplaneReconcilerTest.guest(1));
        clock.advance(2);
        assertEquals(List.of("a"), full, "a change is not a full apply");
        r.modified(new Settings("b", 5, 2));
        clock.advance(2);
        assertEquals(List.of("a", "b"), full, "take-over");
    }
}
