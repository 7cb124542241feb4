package org.netvm.dataplane.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;

import org.junit.jupiter.api.Test;
import org.netvm.dataplane.Dataplane.Forwarding;
import org.netvm.testing.log.Loggers;
import org.osgi.service.log.Logger;

/**
 * IP forwarding, owned by the dataplane: the start-up decision, on only while netvm's rules are in force,
 * off before the policy is withdrawn, the marker. Formerly the policy component's tests.
 */
class IpForwardingTest {
    final List<String> journal = Collections.synchronizedList(new ArrayList<>());
    final List<String> logLines = Collections.synchronizedList(new ArrayList<>());
    final ManualClock clock = new ManualClock();
    final FakeSysctls sysctls = new FakeSysctls();
    final FakeMarker marker = new FakeMarker();
    final Logger log = Loggers.formatting(logLines);

    /** The sysctls in memory; writes are journaled. */
    final class FakeSysctls implements ForwardingSysctls {
        boolean ipv4;
        boolean ipv6;
        boolean fail;

        @Override
        public State read() {
            return new State(ipv4, ipv6);
        }

        @Override
        public void write(Boolean v4, Boolean v6) throws Exception {
            if (fail) {
                throw new Exception("sysctl refused");
            }
            if (v4 != null) {
                ipv4 = v4;
                journal.add("ipv4=" + (v4 ? 1 : 0));
            }
            if (v6 != null) {
                ipv6 = v6;
                journal.add("ipv6=" + (v6 ? 1 : 0));
            }
        }
    }

    /** The marker in memory; set/clear are journaled. */
    final class FakeMarker implements ForwardingMarker {
        boolean present;

        @Override
        public boolean present() {
            return present;
        }

        @Override
        public void set() {
            present = true;
            journal.add("marker set");
        }

        @Override
        public void clear() {
            present = false;
            journal.add("marker cleared");
        }
    }

    DataplaneReconciler reconciler(FakeBackend... backends) {
        var r = clock.drive(new DataplaneReconciler(new Settings("a", 5, 2, java.util.Set.of("policy")), clock,
                Runnable::run, log, marker));
        long id = 1;
        for (FakeBackend b : backends) {
            r.bindBackend(b, Map.of("service.id", id++, "netvm.backend", b.name()));
        }
        r.forwarding.sysctls(sysctls);
        return r;
    }

    FakeBackend backend() {
        return new FakeBackend("a", journal);
    }

    void settle() {
        clock.advance(2);
    }

    @Test
    void forwardingIsSwitchedOnOnlyOnceThePolicyIsInForce() {
        var r = reconciler(backend());
        CompletionStage<Void> on = r.forwarding(Forwarding.IPV4);
        settle();
        assertFalse(on.toCompletableFuture().isDone(), "no policy applied yet");
        assertEquals(List.of(), journal.stream().filter(e -> e.startsWith("ipv")).toList());

        r.put(DataplaneReconcilerTest.policy());
        settle();
        assertTrue(on.toCompletableFuture().isDone());
        assertEquals(List.of("a.apply", "ipv4=1", "marker set"), journal.stream().filter(e -> !e.endsWith("readBack"))
                .toList());
        assertTrue(sysctls.ipv4);
    }

    @Test
    void forwardingAlreadyOnAtStartIsSwitchedOffUntilThePolicyIsApplied() {
        sysctls.ipv4 = true;
        var r = reconciler(backend());
        settle();
        assertEquals(List.of("a.readBack", "ipv4=0"), journal);
        assertTrue(logLines.contains("WARN IP forwarding was on before the base policy was applied; off until it is"),
                logLines.toString());
        r.put(DataplaneReconcilerTest.policy());
        settle();
        r.forwarding(Forwarding.IPV4);
        settle();
        assertTrue(sysctls.ipv4);
    }

    @Test
    void forwardingAlreadyOnStaysOnWhenAPreviousRunsRulesAreStillInTheKernel() throws Exception {
        sysctls.ipv4 = true;
        FakeBackend a = backend();
        a.apply(org.netvm.dataplane.Plan.merge(DataplaneReconcilerTest.policy())); // the previous run's rules
        journal.clear();
        reconciler(a);
        settle();
        assertEquals(List.of("a.readBack"), journal, "an agent restart must not cut every guest's traffic");
        assertTrue(sysctls.ipv4);
    }

    @Test
    void forwardingAlreadyOnIsSwitchedOffWhenNoBackendHoldsNetvmsRules() {
        sysctls.ipv4 = true;
        reconciler(backend());
        settle();
        assertFalse(sysctls.ipv4);
    }

    @Test
    void forwardingAlreadyOnStaysOnWhenThisAgentsPreviousRunSwitchedItOn() {
        // the backends have not registered yet (they may come after the first pass): the marker decides
        sysctls.ipv4 = true;
        marker.present = true;
        reconciler().retry(); // a pass
        settle();
        assertEquals(List.of(), journal, "a restart must not cut every guest's traffic");
        assertTrue(logLines.getFirst().contains("previous run"), logLines.toString());
        assertTrue(sysctls.ipv4);
    }

    @Test
    void theMarkerIsSetOnceForwardingIsOnAndClearedWhenSwitchedOff() {
        var r = reconciler(backend());
        r.put(DataplaneReconcilerTest.policy());
        settle();
        r.forwarding(Forwarding.IPV4);
        settle();
        r.forwarding(Forwarding.IPV4);
        settle();
        assertEquals(1, journal.stream().filter("marker set"::equals).count(), journal.toString());
        journal.clear();
        r.forwarding(Forwarding.OFF);
        settle();
        assertEquals(List.of("ipv4=0", "marker cleared"), journal);
        assertFalse(marker.present);
    }

    @Test
    void offIsWrittenBeforeTheApplyThatWithdrawsThePolicy() {
        var r = reconciler(backend());
        r.put(DataplaneReconcilerTest.policy());
        settle();
        r.forwarding(Forwarding.IPV4);
        settle();
        journal.clear();
        r.forwarding(Forwarding.OFF); // the policy bundle stops: off first, then withdrawn
        r.remove("policy");
        settle();
        assertEquals("ipv4=0", journal.getFirst(), journal.toString());
    }

    @Test
    void ipv6OnlyWhenAskedForAndSwitchedBackOff() {
        var r = reconciler(backend());
        r.put(DataplaneReconcilerTest.policy());
        settle();
        r.forwarding(Forwarding.IPV4_AND_IPV6);
        settle();
        assertTrue(sysctls.ipv6);
        r.forwarding(Forwarding.IPV4);
        settle();
        assertFalse(sysctls.ipv6);
        journal.clear();
        r.forwarding(Forwarding.OFF);
        settle();
        assertEquals(List.of("ipv4=0", "marker cleared"), journal, "IPv6 was not switched on: left alone");
    }

    @Test
    void aRefusedWriteFailsTheRequest() {
        var r = reconciler(backend());
        r.put(DataplaneReconcilerTest.policy());
        settle();
        sysctls.fail = true;
        CompletionStage<Void> on = r.forwarding(Forwarding.IPV4);
        settle();
        assertTrue(DataplaneReconcilerTest.failure(on).getMessage().contains("sysctl refused"));
        assertFalse(marker.present);
    }

    @Test
    void withoutAKernelARequestFailsInsteadOfPretending() {
        var r = reconciler(backend());
        r.forwarding.sysctls(ForwardingSysctls.NONE);
        r.put(DataplaneReconcilerTest.policy());
        settle();
        CompletionStage<Void> on = r.forwarding(Forwarding.IPV4);
        settle();
        assertTrue(DataplaneReconcilerTest.failure(on).getMessage().contains("no kernel"));
        assertFalse(marker.present, "no marker for a forwarding nobody switched on");
    }
}
