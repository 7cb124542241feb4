package org.netvm.vif.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;

import org.netvm.testing.xenstore.FakeXenStore;
import org.netvm.vif.VifState;

/** Fakes wired to one reconciler, sharing one trace of side effects. */
final class Rig implements AutoCloseable {
    /** The MAC a toolstack writes for a vif (the guest end's address in the real-kernel test). */
    static final String MAC = "00:16:3e:5e:6c:00";

    final List<String> trace = new CopyOnWriteArrayList<>();
    final FakeKernel kernel = new FakeKernel(trace);
    final FakeXenStore xs = new FakeXenStore();
    final FakeAntiSpoof antiSpoof = new FakeAntiSpoof(trace);
    final FakeConntrack conntrack = new FakeConntrack(trace);
    final HookRunner hooks = new HookRunner(() -> 500L);
    final VifReconciler reconciler;

    Rig() {
        this(60_000);
    }

    Rig(long resyncMillis) {
        reconciler = new VifReconciler(kernel, xs, antiSpoof, conntrack, hooks,
                new VifReconciler.Settings("backend/vif", resyncMillis, 20, 2_000), Clock.systemUTC());
        xs.put(VifReconciler.GATEWAY_KEY, "10.137.0.1");
        reconciler.subscribe(); // link events and watches record even when a test drives pass() itself
    }

    VifState state(String vif) {
        return reconciler.vif(vif).orElseThrow(() -> new AssertionError("no state for " + vif));
    }

    String trace() {
        return String.join("\n", trace) + "\n";
    }

    static void awaitTrue(String what, BooleanSupplier condition) {
        long end = System.nanoTime() + 10_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("timed out waiting for " + what);
            }
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }
    }

    /** Compares with src/test/resources/NAME; -Dgolden.update=true rewrites it. */
    static void assertGolden(String name, String actual) {
        Path p = Path.of("src/test/resources", name);
        try {
            if (Boolean.getBoolean("golden.update")) {
                Files.writeString(p, actual);
            }
            assertEquals(Files.readString(p), actual, "golden file " + p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        reconciler.stop();
    }
}
