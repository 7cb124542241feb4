package org.netvm.policy.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.netvm.kernel.Batch;
import org.netvm.kernel.CloseableKernel;
import org.netvm.kernel.Kernels;
import org.netvm.kernel.Sysctl;
import org.netvm.policy.internal.Fakes.FakeDataplane;
import org.netvm.policy.internal.Fakes.Journal;
import org.netvm.util.ExecutorTasks;

/**
 * The fail-closed forwarding gate against the real kernel, in a throwaway network namespace: forwarding
 * that was on is switched off at activation, on only once the dataplane reports the policy applied, off
 * again on deactivation. (The policy's rules themselves are not tried in the kernel here: the nftables
 * backend offers no API outside OSGi.)
 */
class ForwardingNetnsTest {
    private static final String IP = List.of("/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip").stream()
            .filter(p -> Files.isExecutable(Path.of(p))).findFirst().orElse(null);
    private String ns;
    private CloseableKernel kernel;

    private static String run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed: " + out);
        }
        return out;
    }

    /** What a user would look at: /proc/sys inside the namespace, read by another process. */
    private String ipForward() throws IOException, InterruptedException {
        return run(IP, "netns", "exec", ns, "cat", "/proc/sys/net/ipv4/ip_forward").trim();
    }

    @BeforeEach
    void namespace() throws Exception {
        assumeTrue(IP != null, "ip(8) not installed");
        Object uid = Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        assumeTrue(Integer.valueOf(0).equals(uid), "real-kernel tests need root");
        ns = "netvmtest-policy-" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());
        run(IP, "netns", "add", ns);
        kernel = Kernels.open(ns);
    }

    @AfterEach
    void cleanUp() throws Exception {
        if (kernel != null) {
            kernel.close();
        }
        if (ns != null) {
            run(IP, "netns", "delete", ns);
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
        Journal journal = new Journal();
        FakeDataplane dataplane = new FakeDataplane(journal);
        List<String> logs = java.util.Collections.synchronizedList(new ArrayList<>());
        PolicyComponent c = new PolicyComponent(dataplane, kernel, Fakes.logger(logs), new ExecutorTasks("test-policy"),
                new Fakes.FakeMarker(journal), PolicyComponentTest.config(false, false));
        await("the put", () -> dataplane.stages.size() == 1);
        assertEquals("0", ipForward()); // the firewall is not in place yet

        dataplane.stages.getFirst().complete(null);
        await("forwarding on", c::forwarding);
        assertEquals("1", ipForward());

        c.stop(false);
        assertEquals("0", ipForward());
    }
}
