package org.netvm.dataplane.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.netvm.dataplane.Dataplane.Forwarding;
import org.netvm.kernel.Batch;
import org.netvm.kernel.CloseableKernel;
import org.netvm.kernel.Kernels;
import org.netvm.kernel.Sysctl;
import org.netvm.testing.log.Loggers;
import org.netvm.testing.netns.Netns;
import org.osgi.service.log.Logger;

/**
 * The fail-closed forwarding gate against the real kernel, in a throwaway network namespace: forwarding
 * that was on is switched off at the first pass, on only once the policy is applied, off again when asked.
 * (The backend is a fake: only the sysctls are real here.)
 */
class IpForwardingNetnsTest {
    private Netns ns;
    private CloseableKernel kernel;

    /** What a user would look at: /proc/sys inside the namespace, read by another process. */
    private String ipForward() {
        return ns.ok("cat", "/proc/sys/net/ipv4/ip_forward").trim();
    }

    @BeforeEach
    void namespace() throws Exception {
        Netns.assumeUsable();
        ns = Netns.create("fwd");
        kernel = Kernels.open(ns.name());
    }

    @AfterEach
    void cleanUp() {
        if (kernel != null) {
            kernel.close();
        }
        if (ns != null) {
            ns.close();
        }
    }

    private static void await(String what, java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(5);
        }
    }

    @Test
    void forwardingFollowsTheAppliedPolicy() throws Exception {
        kernel.apply(new Batch().setSysctl(Sysctl.ipv4Forward(), 1)); // e.g. left on by sysctl.d
        assertEquals("1", ipForward());
        List<String> calls = Collections.synchronizedList(new ArrayList<>());
        Logger quiet = Loggers.quiet();
        var r = new DataplaneReconciler(new Settings("a", 5, 0, java.util.Set.of("policy")), Clock.SYSTEM,
                Runnable::run, quiet, ForwardingMarker.NONE).start();
        try {
            r.bindBackend(new FakeBackend("a", calls), Map.of("service.id", 1L, "netvm.backend", "a"));
            r.bindKernel(kernel);
            await("the start-up check", () -> {
                try {
                    return "0".equals(ipForward()); // the firewall is not in place yet
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            });

            r.put(DataplaneReconcilerTest.policy()).toCompletableFuture().get(5, TimeUnit.SECONDS);
            r.forwarding(Forwarding.IPV4).toCompletableFuture().get(5, TimeUnit.SECONDS);
            assertEquals("1", ipForward());

            r.forwarding(Forwarding.OFF).toCompletableFuture().get(5, TimeUnit.SECONDS);
            assertEquals("0", ipForward());
        } finally {
            r.deactivate();
        }
    }
}
