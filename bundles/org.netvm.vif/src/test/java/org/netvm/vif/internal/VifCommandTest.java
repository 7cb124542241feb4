package org.netvm.vif.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;
import org.netvm.testing.io.Captured;
import org.netvm.vif.VifState.Actual;

/** {@code netvm vif online|offline ...} against a running reconciler with fakes. */
class VifCommandTest {
    private Captured last = new Captured(0, "", "");

    private int run(Rig rig, long timeoutMillis, String... args) {
        VifCommand c = new VifCommand(rig.reconciler, rig.reconciler, rig.xs, "backend/vif", timeoutMillis);
        last = Captured.run((out, err) -> c.run(List.of(args), out, err));
        return last.status();
    }

    /** What the last run printed to stderr. */
    private String err() {
        return last.err();
    }

    @Test
    void onlineWaitsUntilProgrammedThenWritesConnected() {
        try (Rig rig = new Rig()) {
            rig.reconciler.start();
            rig.xs.putVif(3, 0, "10.137.0.5", Rig.MAC);
            rig.kernel.addLink("vif3.0");
            assertEquals(0, run(rig, 5_000, "online", "--vif", "vif3.0", "--xenbus-path", "backend/vif/3/0"), err());
            assertEquals("connected", rig.xs.get("backend/vif/3/0/hotplug-status"));
            assertEquals(Actual.PROGRAMMED, rig.state("vif3.0").actual());
            assertTrue(rig.kernel.links.get("vif3.0").up());

            assertEquals(0, run(rig, 5_000, "offline", "--xenbus-path", "backend/vif/3/0", "--vif", "vif3.0"), err());
            assertTrue(rig.kernel.routes.isEmpty());
            assertEquals("connected", rig.xs.get("backend/vif/3/0/hotplug-status"), "offline writes no status");
        }
    }

    @Test
    void aHostileMacFailsWithHotplugError() {
        try (Rig rig = new Rig()) {
            rig.reconciler.start();
            rig.xs.putVif(3, 0, "10.137.0.5", "00:16:3e:5e:6c:00;reboot");
            rig.kernel.addLink("vif3.0");
            assertEquals(1, run(rig, 5_000, "online", "--vif", "vif3.0", "--xenbus-path", "backend/vif/3/0"));
            assertEquals("error", rig.xs.get("backend/vif/3/0/hotplug-status"));
            String e = rig.xs.get("backend/vif/3/0/hotplug-error");
            assertTrue(e.contains("mac must match") && e.contains("vif3.0"), e);
            assertTrue(err().contains("mac must match"), err());
            assertTrue(rig.kernel.applied.isEmpty(), "nothing sent to the kernel");
        }
    }

    @Test
    void nameAndPathMustMatch() {
        try (Rig rig = new Rig()) {
            rig.reconciler.start();
            rig.xs.putVif(3, 0, "10.137.0.5", Rig.MAC);
            rig.xs.putVif(4, 0, "10.137.0.6", Rig.MAC);
            rig.kernel.addLink("vif4.0");
            assertEquals(1, run(rig, 5_000, "online", "--vif", "vif4.0", "--xenbus-path", "backend/vif/3/0"));
            assertEquals("error", rig.xs.get("backend/vif/3/0/hotplug-status"));
            assertTrue(rig.xs.get("backend/vif/3/0/hotplug-error").contains("does not match the xenbus path"));
            assertNull(rig.xs.get("backend/vif/4/0/hotplug-status"));
        }
    }

    @Test
    void badNamesAndDomidsAreReportedAtThePath() {
        try (Rig rig = new Rig()) {
            rig.reconciler.start();
            rig.xs.putVif(3, 0, "10.137.0.5", Rig.MAC);
            for (String name : List.of("vif3.0;reboot", "eth0", "vif03.0", "vif3.0 ", "vif3.00", "")) {
                assertEquals(1, run(rig, 1_000, "online", "--vif", name, "--xenbus-path", "backend/vif/3/0"), name);
                assertTrue(rig.xs.get("backend/vif/3/0/hotplug-error").contains("interface name must match"), name);
            }
            rig.xs.putVif(32753, 0, "10.137.0.5", Rig.MAC);
            assertEquals(1, run(rig, 1_000, "online", "--vif", "vif32753.0", "--xenbus-path", "backend/vif/32753/0"));
            assertTrue(rig.xs.get("backend/vif/32753/0/hotplug-error").contains("domid 32753 is above 32752"));
            assertTrue(rig.kernel.applied.isEmpty());
        }
    }

    /** libxl passes XENBUS_PATH absolute: /local/domain/SELF/backend/vif/D/N is this VM's; another domain's is refused. */
    @Test
    void anAbsolutePathUnderThisVmsHomeIsAccepted() {
        try (Rig rig = new Rig()) {
            rig.reconciler.start();
            rig.xs.put("domid", "5");
            rig.xs.putVif(3, 0, "10.137.0.5", Rig.MAC);
            rig.kernel.addLink("vif3.0");
            rig.xs.writes().clear();
            assertEquals(2, run(rig, 5_000, "online", "--vif", "vif3.0", "--xenbus-path", "/local/domain/6/backend/vif/3/0"),
                    "another domain's directory");
            assertEquals(List.of(), rig.xs.writes());
            assertEquals(0, run(rig, 5_000, "online", "--vif", "vif3.0", "--xenbus-path", "/local/domain/5/backend/vif/3/0"),
                    err());
            assertEquals("connected", rig.xs.get("/local/domain/5/backend/vif/3/0/hotplug-status"));
        }
    }

    @Test
    void anUnusablePathIsNotWrittenTo() {
        try (Rig rig = new Rig()) {
            for (String path : List.of("/local/domain/0/backend/vif/3/0", "backend/vif/3/0/../../x", "backend/vif/3",
                    "backend/vif/3/0;x", "")) {
                rig.xs.writes().clear();
                assertEquals(2, run(rig, 1_000, "online", "--vif", "vif3.0", "--xenbus-path", path), path);
                assertEquals(List.of(), rig.xs.writes(), path);
            }
            assertEquals(2, run(rig, 1_000, "online", "--vif", "vif3.0"));
            assertEquals(2, run(rig, 1_000, "online", "--vif", "vif3.0", "--vif", "vif3.0", "--xenbus-path",
                    "backend/vif/3/0"));
            assertEquals(2, run(rig, 1_000, "reboot"));
        }
    }

    @Test
    void aMissingDeviceTimesOut() {
        try (Rig rig = new Rig()) {
            rig.reconciler.start();
            rig.xs.putVif(3, 0, "10.137.0.5", Rig.MAC);
            assertEquals(1, run(rig, 300, "online", "--vif", "vif3.0", "--xenbus-path", "backend/vif/3/0"));
            String e = rig.xs.get("backend/vif/3/0/hotplug-error");
            assertTrue(e.contains("not programmed within 300 ms") && e.contains("waiting for device vif3.0"), e);
        }
    }

    @Test
    void listShowsDesiredVersusActual() {
        try (Rig rig = new Rig()) {
            rig.xs.putVif(3, 0, "10.137.0.5", Rig.MAC);
            rig.xs.putVif(4, 0, "bad", Rig.MAC);
            rig.kernel.addLink("vif3.0");
            rig.kernel.addLink("vif4.0");
            rig.reconciler.pass(true);
            assertEquals(0, run(rig, 1_000, "list"));
            String o = last.out();
            assertTrue(o.contains("VIF") && o.contains("ACTUAL"), o);
            assertTrue(o.lines().anyMatch(l -> l.startsWith("vif3.0 ") && l.contains(" programmed ")), o);
            assertTrue(o.lines().anyMatch(l -> l.startsWith("vif4.0 ") && l.contains(" failed ")
                    && l.contains("not an IPv4 address")), o);
            assertEquals(0, run(rig, 1_000, "list", "--json"));
            String j = last.out();
            assertTrue(j.contains("\"schema\": \"netvm.vifs/1\"") && j.contains("\"actual\": \"programmed\"")
                    && j.contains("\"actual\": \"failed\""), j);
            assertEquals(2, run(rig, 1_000, "list", "--bogus"));
        }
    }
}
