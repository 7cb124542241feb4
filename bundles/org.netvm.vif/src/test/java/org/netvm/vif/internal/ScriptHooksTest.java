package org.netvm.vif.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.netvm.vif.VifHook;
import org.netvm.vif.VifHook.Action;
import org.netvm.vif.VifState.Actual;

/** Issue 11 #4: network hooks as scripts, with vif-route-qubes' arguments, no shell, bounded. */
class ScriptHooksTest {

    private static Path script(Path dir, String name, String body) throws Exception {
        Path p = dir.resolve(name);
        Files.writeString(p, "#!/bin/sh\n" + body + "\n");
        p.toFile().setExecutable(true);
        return p;
    }

    @Test
    void argumentsAreThoseOfVifRouteQubesOneRunPerAddress() {
        assertEquals(List.of(List.of("online", "vif3.0", "vif", "10.137.0.5"), List.of("online", "vif3.0", "vif", "fd09::5")),
                ScriptHooks.arguments(new VifHook.Event(Action.ONLINE, "vif3.0", 3, "vif", "10.137.0.5", "fd09::5", "10.137.0.1")));
        assertEquals(List.of(List.of("offline", "vif3.0", "vif")),
                ScriptHooks.arguments(new VifHook.Event(Action.OFFLINE, "vif3.0", 3, "vif", null, null, null)));
    }

    @Test
    void issue11ScriptsRunInNameOrderAFailingOneChangesNothingElse(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("out");
        Path hooks = Files.createDirectory(dir.resolve("hooks"));
        script(hooks, "20-second", "echo \"20 $*\" >> " + out);
        script(hooks, "10-fails", "echo \"10 $*\" >> " + out + "; echo broken >&2; exit 3");
        script(hooks, ".hidden", "echo hidden >> " + out);
        Path notExec = hooks.resolve("30-not-executable");
        Files.writeString(notExec, "#!/bin/sh\necho no >> " + out + "\n");
        // the argument reaches the script as one word, never through a shell
        script(hooks, "40-env", "printf '%s|%s|%s\\n' \"$vif\" \"$4\" \"$HOME\" >> " + out);
        new ScriptHooks(hooks, 5_000).vifChanged(new VifHook.Event(Action.ONLINE, "vif3.0", 3, "vif", "10.137.0.5", null,
                "10.137.0.1"));
        assertEquals("10 online vif3.0 vif 10.137.0.5\n20 online vif3.0 vif 10.137.0.5\nvif3.0|10.137.0.5|\n",
                Files.readString(out));
    }

    @Test
    void issue11AHangingScriptIsKilledAfterItsLimit(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("out");
        script(dir, "10-hangs", "sleep 30");
        script(dir, "20-after", "echo ran >> " + out);
        long start = System.nanoTime();
        new ScriptHooks(dir, 300).vifChanged(new VifHook.Event(Action.OFFLINE, "vif3.0", 3, "vif", "10.137.0.5", null,
                null));
        long ms = (System.nanoTime() - start) / 1_000_000;
        assertTrue(ms < 5_000, ms + " ms");
        assertEquals("ran\n", Files.readString(out));
    }

    @Test
    void aMissingDirectoryMeansNoHooks(@TempDir Path dir) throws Exception {
        new ScriptHooks(dir.resolve("absent"), 1000).vifChanged(new VifHook.Event(Action.ONLINE, "vif3.0", 3, "vif",
                "10.137.0.5", null, null));
    }

    @Test
    void issue11ScriptsSeeOnlineAndOfflineThroughTheVifHookSpi(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("out");
        Path hooks = Files.createDirectory(dir.resolve("hooks"));
        script(hooks, "log", "echo \"$*\" >> " + out);
        try (Rig rig = new Rig()) {
            rig.hooks.add(new ScriptHooks(hooks, 2_000));
            rig.xs.put(VifReconciler.GATEWAY6_KEY, "fd09:24ef:4179::a89:1");
            rig.xs.putVif(3, 0, "10.137.0.5 fd09:24ef:4179::a89:5", Rig.MAC);
            rig.kernel.addLink("vif3.0");
            assertTrue(rig.reconciler.pass(true));
            assertEquals(Actual.PROGRAMMED, rig.state("vif3.0").actual());
            rig.reconciler.hotplug(VifName.parse("vif3.0").orElseThrow(), VifReconciler.Intent.OFFLINE);
            assertTrue(rig.reconciler.pass(false));
            Rig.awaitTrue("4 runs", () -> Files.exists(out) && lines(out) == 4 && read(out).endsWith("\n"));
            assertEquals("""
                    online vif3.0 vif 10.137.0.5
                    online vif3.0 vif fd09:24ef:4179::a89:5
                    offline vif3.0 vif 10.137.0.5
                    offline vif3.0 vif fd09:24ef:4179::a89:5
                    """, Files.readString(out));
        }
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (java.io.IOException e) {
            return "";
        }
    }

    private static long lines(Path p) {
        try {
            return Files.readAllLines(p).size();
        } catch (java.io.IOException e) {
            return -1;
        }
    }
}
