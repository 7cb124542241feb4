package org.netvm.dataplane.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.netvm.control.ControlCommand;
import org.netvm.dataplane.OwnedState;
import org.netvm.testing.io.Captured;
import org.netvm.testing.log.Loggers;
import org.osgi.service.log.Logger;

/** The operator commands against a reconciler on its real thread, with fake backends. */
class CommandsTest {

    final List<String> calls = Collections.synchronizedList(new ArrayList<>());
    final FakeBackend a = new FakeBackend("a", calls);
    final FakeBackend b = new FakeBackend("b", calls);
    final List<String> configWrites = Collections.synchronizedList(new ArrayList<>());
    final List<String> logged = Collections.synchronizedList(new ArrayList<>());
    DataplaneReconciler r;
    BackendCommand backend;
    PlanCommand plan;

    static Captured run(ControlCommand c, String... args) {
        return Captured.run((out, err) -> c.run(List.of(args), out, err));
    }

    @BeforeEach
    void start() throws Exception {
        Logger quiet = Loggers.quiet();
        r = new DataplaneReconciler(new Settings("a", 5, 0), Clock.SYSTEM,
                Runnable::run, quiet).start();
        r.bindBackend(a, Map.of("service.id", 1L, "netvm.backend", "a"));
        r.bindBackend(b, Map.of("service.id", 2L, "netvm.backend", "b"));
        r.put(DataplaneReconcilerTest.policy()).toCompletableFuture().get(5, TimeUnit.SECONDS);
        r.put(DataplaneReconcilerTest.guest(1)).toCompletableFuture().get(5, TimeUnit.SECONDS);
        backend = new BackendCommand(r, r, name -> {
            configWrites.add(name);
            r.modified(new Settings(name, 5, 0));
            return true;
        }, System::nanoTime, Loggers.recording(logged));
        plan = new PlanCommand(r);
    }

    @AfterEach
    void stop() {
        r.deactivate();
    }

    @Test
    void showsActiveRequestedAndAvailable() {
        Captured res = run(backend);
        assertEquals(0, res.status());
        assertTrue(res.out().contains("active:     a (in sync)"), res.out());
        assertTrue(res.out().contains("requested:  a\n"), res.out());
        assertTrue(res.out().contains("available:  a, b"), res.out());
        assertTrue(res.out().contains("2 contribution(s), 0 left out, 1 set element(s)"), res.out());
        Captured json = run(backend, "--json");
        assertEquals(0, json.status());
        assertTrue(json.out().contains("\"schema\": \"netvm.backend/1\"") && json.out().contains("\"active\": \"a\"")
                && json.out().contains("\"inSync\": true") && json.out().contains("\"available\": ["), json.out());
    }

    @Test
    void useSwitchesAndWaitsForTheOutcome() throws InterruptedException {
        Captured res = run(backend, "use", "b");
        assertEquals(0, res.status(), res.err());
        assertTrue(res.out().matches("b is in charge and in sync \\(\\d+ ms\\)\n"
                + "this lasts until the agent restarts; to keep it: netvm backend use --permanent b\n"), res.out());
        assertEquals(List.of("b"), configWrites);
        // the old backend is swept right after the answer, before the reconciler's next pass
        long end = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
        while (!a.kernel.isEmpty() && System.nanoTime() < end) {
            Thread.sleep(5);
        }
        assertTrue(a.kernel.isEmpty(), "the old backend was swept");
        assertEquals(1, b.elements(DataplaneReconcilerTest.ALLOWED_KEY).size());
        assertTrue(run(backend).out().contains("active:     b (in sync)"));
    }

    @Test
    void useReportsAFailedSwitchWithExitStatusOne() {
        b.failApply = "Error: Could not process rule: No such file or directory";
        OwnedState before = a.kernel;
        Captured res = run(backend, "use", "b");
        assertEquals(1, res.status());
        assertTrue(res.err().startsWith("backend use b failed after "), res.err());
        assertTrue(res.err().contains("No such file or directory"), res.err());
        assertTrue(res.err().contains("a stays in charge"), res.err());
        assertEquals(before, a.kernel);
        Captured show = run(backend);
        assertTrue(show.out().contains("active:     a (in sync)"), show.out());
        assertTrue(show.out().contains("requested:  b -- requested but failed"), show.out());

        b.failApply = null; // fixed: using it again retries, even though the configuration already says b
        backend = new BackendCommand(r, r, name -> false, System::nanoTime, Loggers.quiet());
        Captured again = run(backend, "use", "b");
        assertEquals(0, again.status(), again.err());
    }

    @Test
    void permanentLeavesOutTheReminder() {
        Captured res = run(backend, "use", "--permanent", "b");
        assertEquals(0, res.status(), res.err());
        assertTrue(res.out().matches("b is in charge and in sync \\(\\d+ ms\\)\n"), res.out());
    }

    @Test
    void useRefusesABackendThatIsNotAvailableAndChangesNothing() {
        Captured res = run(backend, "use", "bogus");
        assertEquals(1, res.status());
        assertEquals("backend use bogus: no such backend (available: a, b); nothing changed\n", res.err());
        assertEquals(List.of(), configWrites);
        assertTrue(run(backend).out().contains("requested:  a\n"));
        assertTrue(logged.stream().anyMatch(l -> l.contains("backend use bogus: no such backend")), logged.toString());
    }

    @Test
    void useRefusesNamesThatAreNotBackendNames() {
        assertEquals(2, run(backend, "use", "a;rm -rf /").status());
        assertEquals(2, run(backend, "use").status());
        assertEquals(2, run(backend, "frobnicate").status());
        assertTrue(configWrites.isEmpty());
        assertThrows(IllegalStateException.class, () -> backend.backend("use", "nope"));
    }

    @Test
    void cleanupSweepsEverything() {
        Captured res = run(backend, "cleanup");
        assertEquals(0, res.status(), res.err());
        assertTrue(res.out().contains("a: swept\nb: swept\n"), res.out());
        assertTrue(a.kernel.isEmpty());
        assertTrue(run(backend).out().contains("active:     none"));
        assertEquals(0, run(backend, "use", "a").status(), "use resumes");
        assertEquals(1, a.elements(DataplaneReconcilerTest.ALLOWED_KEY).size());
    }

    @Test
    void planShowsWhatTheBackendWouldOwnAndTheDrift() throws Exception {
        Captured res = run(plan);
        assertEquals(0, res.status(), res.err());
        assertTrue(res.out().startsWith("# plan: 2 contribution(s), 0 left out, 1 chain(s), 1 rule(s), 1 set(s), "
                + "1 element(s)\n"), res.out());
        assertTrue(res.out().contains("chain inet input {"), res.out());
        assertTrue(res.out().contains("set inet @allowed { ifname . ipv4_addr }\n    vif1.0 . 10.137.0.3\n"), res.out());
        assertTrue(res.out().endsWith("# the kernel holds exactly this\n"), res.out());

        Captured json = run(plan, "--json");
        assertEquals(0, json.status(), json.err());
        assertTrue(json.out().contains("\"schema\": \"netvm.plan/2\"") && json.out().contains("\"inSync\": true")
                && json.out().contains("\"vif1.0 . 10.137.0.3\""), json.out());

        a.kernel = new OwnedState(a.kernel.chains(), a.kernel.rules(), a.kernel.sets(), new TreeMap<>());
        String drift = plan.plan();
        assertTrue(drift.contains("# the kernel differs (1; - missing, + unexpected):\n"
                + "- element inet @allowed: vif1.0 . 10.137.0.3\n"), drift);
        assertEquals(1, run(plan).status(), "exit 1 when the kernel differs");
        Captured differs = run(plan, "--json");
        assertEquals(1, differs.status());
        assertTrue(differs.out().contains("\"inSync\": false")
                && differs.out().contains("\"- element inet @allowed: vif1.0 . 10.137.0.3\""), differs.out());
        assertEquals(2, run(plan, "--bogus").status());
    }

    /** Issue 14: names by default, the canonical form with --numeric; the same difference either way. */
    @Test
    void planShowsNamesUnlessNumeric() {
        TreeMap<String, List<String>> rules = new TreeMap<>(a.kernel.rules());
        rules.put("inet input", List.of("ct state 0x2,0x4 meta l4proto 17 accept")); // unexpected in the kernel
        a.kernel = new OwnedState(a.kernel.chains(), rules, a.kernel.sets(), a.kernel.elements());

        Captured names = run(plan);
        assertEquals(1, names.status(), "exit 1 when the kernel differs");
        assertTrue(names.out().contains("+ rule inet input: ct state established,related meta l4proto udp accept\n"),
                names.out());
        Captured numeric = run(plan, "--numeric");
        assertEquals(1, numeric.status());
        assertTrue(numeric.out().contains("+ rule inet input: ct state 0x2,0x4 meta l4proto 17 accept\n"), numeric.out());
        assertEquals(names.out().lines().filter(x -> x.startsWith("+ ") || x.startsWith("- ")).count(),
                numeric.out().lines().filter(x -> x.startsWith("+ ") || x.startsWith("- ")).count());

        Captured json = run(plan, "--numeric", "--json");
        assertEquals(1, json.status());
        assertTrue(json.out().contains("\"numeric\": true") && json.out().contains("\"inSync\": false")
                && json.out().contains("ct state 0x2,0x4 meta l4proto 17 accept"), json.out());
        Captured jsonNames = run(plan, "--json");
        assertTrue(jsonNames.out().contains("\"numeric\": false")
                && jsonNames.out().contains("ct state established,related meta l4proto udp accept"), jsonNames.out());

        assertEquals(2, run(plan, "--numeric", "--numeric").status());
        assertEquals(2, run(plan, "--json", "--bogus").status());
        Captured help = run(plan, "--help");
        assertEquals(0, help.status());
        assertTrue(help.out().startsWith("usage: netvm plan [--json] [--numeric]\n"), help.out());
    }
}
