package org.netvm.status.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.Test;
import org.netvm.dataplane.Dataplane;
import org.netvm.testing.log.Loggers;
import org.netvm.util.ServiceNotifier;

class ReadinessTest {

    private final List<String> sent = new CopyOnWriteArrayList<>();
    private final ServiceNotifier recording = new ServiceNotifier() {
        @Override
        public boolean enabled() {
            return true;
        }

        @Override
        public void notify(String state) {
            sent.add(state);
        }
    };
    private final Readiness readiness = new Readiness(recording, Loggers.recording(new CopyOnWriteArrayList<>()));

    @Test
    void readyOnceThePolicyIsAppliedThenStatusOnChangesAndStoppingAtTheEnd() {
        Fakes.Rig rig = new Fakes.Rig();
        rig.dataplane.status(new Dataplane.Status(null, "nftables", null, List.of("nftables"), false, null,
                Duration.ZERO, 0, 0, 0, null, 2, 0, 0));
        readiness.check(rig::report);
        readiness.check(rig::report);
        rig.dataplane.status(new Dataplane.Status("nftables", "nftables", null, List.of("nftables"), true,
                Fakes.T0, Duration.ofMillis(3), 1, 0, 0, null, 3, 0, 2));
        readiness.check(rig::report);
        readiness.check(rig::report);
        rig.failVif4();
        readiness.check(rig::report);
        readiness.deactivate();
        assertEquals(List.of("STATUS=starting: waiting for no-active-backend",
                "READY=1\nSTATUS=in-sync (nftables, 1 guest(s) attached)",
                "STATUS=degraded: vifs-failed",
                "STOPPING=1\nSTATUS=stopping"), sent);
    }

    @Test
    void aDegradedAgentWhosePolicyIsInTheKernelIsReady() {
        Fakes.Rig rig = new Fakes.Rig();
        rig.failVif4();
        readiness.check(rig::report);
        assertEquals(List.of("READY=1\nSTATUS=degraded: vifs-failed"), sent);
    }
}
