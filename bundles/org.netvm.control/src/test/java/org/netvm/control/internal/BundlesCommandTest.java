package org.netvm.control.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.netvm.testing.io.Captured;

/** {@code netvm bundles}: the command's argument handling and output against a fake framework. */
class BundlesCommandTest {

    @TempDir
    Path dir;

    /** A framework with the system bundle (0) and the control bundle (1), which are protected. */
    static final class FakeFramework implements BundlesCommand.Framework {
        final TreeMap<Long, BundlesCommand.Info> bundles = new TreeMap<>();
        final List<String> calls = new ArrayList<>();
        long next = 2;
        boolean failStart;

        FakeFramework() {
            put(0, "ACTIVE", "org.apache.felix.framework", "file:felix");
            put(1, "ACTIVE", "org.netvm.control", "file:control");
        }

        void put(long id, String state, String name, String location) {
            bundles.put(id, new BundlesCommand.Info(id, state, name, "1.0.0", location));
        }

        @Override
        public List<BundlesCommand.Info> bundles() {
            return List.copyOf(bundles.values());
        }

        @Override
        public Optional<BundlesCommand.Info> bundle(long id) {
            return Optional.ofNullable(bundles.get(id));
        }

        @Override
        public BundlesCommand.Info install(Path jar) {
            calls.add("install " + jar);
            for (BundlesCommand.Info b : bundles.values()) {
                if (b.location().equals(jar.toUri().toString())) {
                    return b;
                }
            }
            long id = next++;
            put(id, "INSTALLED", "org.example.thing", jar.toUri().toString());
            return bundles.get(id);
        }

        @Override
        public void start(long id) throws Exception {
            calls.add("start " + id);
            if (failStart) {
                throw new IllegalStateException("Unable to resolve org.example.thing: missing requirement");
            }
            set(id, "ACTIVE");
        }

        @Override
        public void stop(long id) {
            calls.add("stop " + id);
            set(id, "RESOLVED");
        }

        @Override
        public void uninstall(long id) {
            calls.add("uninstall " + id);
            bundles.remove(id);
        }

        @Override
        public boolean protectedBundle(long id) {
            return id <= 1;
        }

        private void set(long id, String state) {
            BundlesCommand.Info b = bundles.get(id);
            bundles.put(id, new BundlesCommand.Info(id, state, b.symbolicName(), b.version(), b.location()));
        }
    }

    final FakeFramework fw = new FakeFramework();
    final BundlesCommand command = new BundlesCommand(fw);

    Captured run(String... args) {
        return Captured.run((out, err) -> command.run(List.of(args), out, err));
    }

    @Test
    void listsBundlesById() {
        Captured r = run();
        assertEquals(0, r.status());
        assertEquals(List.of("  ID  STATE       BUNDLE", "   0  ACTIVE      org.apache.felix.framework 1.0.0",
                "   1  ACTIVE      org.netvm.control 1.0.0"), r.out().lines().toList());
        assertEquals(r, run("list"));
        Captured json = run("--json");
        assertEquals(0, json.status());
        assertTrue(json.out().contains("\"schema\": \"netvm.bundles/1\"")
                && json.out().contains("\"symbolicName\": \"org.netvm.control\"")
                && json.out().contains("\"state\": \"active\""), json.out());
    }

    @Test
    void installStartStopUninstall() throws IOException {
        Path jar = Files.writeString(dir.resolve("thing.jar"), "not really a jar: the fake does not care");
        Captured installed = run("install", jar.toString());
        assertEquals(0, installed.status(), installed.err());
        assertEquals("2  INSTALLED   org.example.thing 1.0.0", installed.out().strip());
        assertEquals("2  ACTIVE      org.example.thing 1.0.0", run("start", "2").out().strip());
        assertEquals("2  RESOLVED    org.example.thing 1.0.0", run("stop", "2").out().strip());
        assertEquals("uninstalled 2 org.example.thing", run("uninstall", "2").out().strip());
        assertEquals(List.of("install " + jar, "start 2", "stop 2", "uninstall 2"), fw.calls);
        assertTrue(fw.bundle(2).isEmpty());
    }

    @Test
    void installWithStartStartsAndReportsAStartFailureWithTheId() throws IOException {
        Path jar = Files.writeString(dir.resolve("thing.jar"), "x");
        assertEquals("2  ACTIVE      org.example.thing 1.0.0", run("install", "--start", jar.toString()).out().strip());
        fw.failStart = true;
        Path other = Files.writeString(dir.resolve("other.jar"), "x");
        Captured r = run("install", "--start", other.toString());
        assertEquals(1, r.status());
        assertTrue(r.err().contains("installed as 3 but not started: Unable to resolve"), r.err());
    }

    @Test
    void refusesRelativeOrMissingFilesAndBadIds() {
        assertEquals(2, run("install", "thing.jar").status());
        assertTrue(run("install", "thing.jar").err().contains("absolute path"));
        Captured missing = run("install", dir.resolve("nope.jar").toString());
        assertEquals(1, missing.status());
        assertTrue(missing.err().contains("no such file"), missing.err());
        assertEquals(2, run("start", "2;reboot").status());
        assertEquals(2, run("stop", "-1").status());
        assertEquals(1, run("uninstall", "42").status());
        assertEquals(2, run("install").status());
        assertEquals(2, run("frobnicate").status());
        assertEquals(List.of(), fw.calls, "nothing was done");
    }

    @Test
    void neverStopsOrRemovesTheFrameworkOrTheControlSocket() {
        for (String verb : List.of("stop", "uninstall")) {
            for (String id : List.of("0", "1")) {
                Captured r = run(verb, id);
                assertEquals(1, r.status());
                assertTrue(r.err().contains("refusing"), r.err());
            }
        }
        assertEquals(List.of(), fw.calls);
    }
}
