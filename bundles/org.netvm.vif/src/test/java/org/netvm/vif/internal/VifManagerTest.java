package org.netvm.vif.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.Test;
import org.netvm.dataplane.Contribution;
import org.netvm.testing.config.Configs;
import org.netvm.testing.dataplane.FakeDataplane;
import org.netvm.testing.io.Captured;
import org.netvm.testing.xenstore.FakeXenStore;
import org.netvm.vif.VifHook;
import org.netvm.vif.VifState.Actual;

/** The DS component built with {@code new}: wiring of reconciler, command, registry and hooks. */
class VifManagerTest {

    private static VifManager.Config config(String base) {
        return config(base, "");
    }

    private static VifManager.Config config(String base, String hooksDirectory) {
        return Configs.of(VifManager.Config.class,
                "resyncIntervalSeconds", 5,
                "hotplugTimeoutSeconds", 5,
                "dataplaneTimeoutSeconds", 2,
                "hookTimeoutSeconds", 1,
                "coalesceMillis", 5,
                "xenstoreBase", base,
                "networkHooksDirectory", hooksDirectory);
    }

    /** {@code netvm vif online} for vif3.0 through the component's command. */
    private static Captured online(VifManager m) {
        List<String> args = List.of("online", "--vif", "vif3.0", "--xenbus-path", "backend/vif/3/0");
        return Captured.run((out, err) -> m.run(args, out, err));
    }

    @Test
    void hotplugThroughTheComponent() {
        List<String> trace = new CopyOnWriteArrayList<>();
        FakeKernel kernel = new FakeKernel(trace);
        FakeXenStore xs = new FakeXenStore();
        xs.put(VifReconciler.GATEWAY_KEY, "10.137.0.1");
        FakeDataplane dataplane = new FakeDataplane(); // applies everything at once
        // the guest exists before the agent starts, so its first pass (which puts the marker) sees it:
        // created after activation, the first pass may run before it and put the marker first
        xs.putVif(3, 0, "10.137.0.5", Rig.MAC);
        kernel.addLink("vif3.0");
        // the first pass waits for the elements until the hook is bound (the pass is fast enough to
        // program the vif before addHook otherwise, and its online event would go unseen)
        dataplane.hold(true);
        VifManager m = new VifManager(kernel, xs, dataplane, config("backend/vif"));
        List<VifHook.Event> events = new CopyOnWriteArrayList<>();
        m.addHook(events::add);
        Rig.awaitTrue("the first pass's put", () -> !dataplane.held().isEmpty());
        dataplane.hold(false);
        dataplane.completeHeld();
        try {
            Captured r = online(m);
            assertEquals(0, r.status(), r.err());
            assertEquals("connected", xs.get("backend/vif/3/0/hotplug-status"));
            assertEquals(Actual.PROGRAMMED, m.vif("vif3.0").orElseThrow().actual());
            assertEquals(List.of("vif/vif3.0", VifReconciler.READY_OWNER),
                    dataplane.puts().stream().map(Contribution::owner).toList(),
                    "the vif's elements, then the marker that releases the dataplane's first apply");
            assertEquals(List.of(), dataplane.removes());
            assertTrue(m.counters().synced());
            Rig.awaitTrue("online hook", () -> events.size() == 1);
        } finally {
            m.deactivate();
        }
    }

    @Test
    void issue11NetworkHookScriptsRunOnOnlineWithQubesArguments(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        java.nio.file.Path out = dir.resolve("out");
        java.nio.file.Path hooks = java.nio.file.Files.createDirectory(dir.resolve("network-hooks.d"));
        java.nio.file.Path script = hooks.resolve("10-log");
        java.nio.file.Files.writeString(script, "#!/bin/sh\necho \"$*\" >> " + out + "\n");
        script.toFile().setExecutable(true);
        FakeKernel kernel = new FakeKernel(new CopyOnWriteArrayList<>());
        FakeXenStore xs = new FakeXenStore();
        xs.put(VifReconciler.GATEWAY_KEY, "10.137.0.1");
        xs.putVif(3, 0, "10.137.0.5", Rig.MAC);
        kernel.addLink("vif3.0");
        VifManager m = new VifManager(kernel, xs, new FakeDataplane(), config("backend/vif", hooks.toString()));
        try {
            Captured r = online(m);
            assertEquals(0, r.status());
            // the file exists once the shell opened it: wait for the whole line
            Rig.awaitTrue("the hook script ran", () -> {
                try {
                    return java.nio.file.Files.readString(out).endsWith("\n");
                } catch (java.io.IOException e) {
                    return false;
                }
            });
            assertEquals("online vif3.0 vif 10.137.0.5\n", java.nio.file.Files.readString(out));
        } finally {
            m.deactivate();
        }
    }

    @Test
    void aBadBasePathIsRefused() {
        for (String base : List.of("/backend/vif", "backend/../x", "backend/vif/", "")) {
            assertThrows(IllegalArgumentException.class,
                    () -> new VifManager(new FakeKernel(new CopyOnWriteArrayList<>()), new FakeXenStore(),
                            new FakeDataplane(), config(base)), base);
        }
    }
}
