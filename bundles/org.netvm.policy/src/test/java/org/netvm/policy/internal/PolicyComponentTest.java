package org.netvm.policy.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.annotation.Annotation;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.netvm.dataplane.BackendException;
import org.netvm.kernel.Sysctl;
import org.netvm.policy.internal.Fakes.FakeDataplane;
import org.netvm.policy.internal.Fakes.FakeKernel;
import org.netvm.policy.internal.Fakes.Journal;
import org.netvm.policy.internal.Fakes.ManualTasks;

class PolicyComponentTest {
    private final Journal journal = new Journal();
    private final FakeDataplane dataplane = new FakeDataplane(journal);
    private final FakeKernel kernel = new FakeKernel(journal);
    private final Fakes.FakeMarker marker = new Fakes.FakeMarker(journal);
    private final ManualTasks tasks = new ManualTasks();
    private final List<String> logs = new ArrayList<>();

    static PolicyComponent.Config config(boolean uplinkIcmp, boolean ipv6Forwarding) {
        return new PolicyComponent.Config() {
            @Override
            public Class<? extends Annotation> annotationType() {
                return PolicyComponent.Config.class;
            }

            @Override
            public boolean uplinkIcmp() {
                return uplinkIcmp;
            }

            @Override
            public boolean masquerade6() {
                return true;
            }

            @Override
            public boolean ipv6Forwarding() {
                return ipv6Forwarding;
            }

            @Override
            public long retryMillis() {
                return 5000;
            }

            @Override
            public String markerDir() {
                throw new AssertionError("the tests use a fake marker");
            }
        };
    }

    private PolicyComponent start(PolicyComponent.Config config) {
        PolicyComponent c = new PolicyComponent(dataplane, kernel, Fakes.logger(logs), tasks, marker, config);
        tasks.runNow();
        return c;
    }

    @Test
    void forwardingIsSwitchedOnOnlyAfterThePolicyWasApplied() {
        PolicyComponent c = start(config(false, false));
        assertEquals(List.of("put policy"), journal.events);
        assertEquals(PolicyRules.contribution(PolicyRules.Options.DEFAULT), dataplane.puts.getFirst());
        assertFalse(c.forwarding());

        dataplane.stages.getFirst().complete(null);
        tasks.runNow();
        assertEquals(List.of("put policy", "sysctl net.ipv4.ip_forward=1", "marker set"), journal.events);
        assertTrue(c.forwarding());
    }

    @Test
    void aFailedApplyKeepsForwardingOffAndIsRetried() {
        PolicyComponent c = start(config(false, false));
        dataplane.stages.getFirst().completeExceptionally(new BackendException("nft refused", "Error: ..."));
        tasks.runNow();
        assertEquals(List.of("put policy"), journal.events);
        assertFalse(c.forwarding());
        assertEquals(List.of(5000L), tasks.delays);
        assertTrue(logs.getFirst().startsWith("ERROR base policy not applied"), logs.toString());

        tasks.runLater();
        assertEquals(2, dataplane.puts.size());
        dataplane.stages.get(1).complete(null);
        tasks.runNow();
        assertEquals(List.of("put policy", "put policy", "sysctl net.ipv4.ip_forward=1", "marker set"), journal.events);
        assertTrue(c.forwarding());
    }

    @Test
    void forwardingAlreadyOnAtStartIsSwitchedOffUntilThePolicyIsApplied() {
        kernel.sysctls.put(Sysctl.ipv4Forward(), 1);
        start(config(false, false));
        assertEquals(List.of("sysctl net.ipv4.ip_forward=0", "put policy"), journal.events);
        dataplane.stages.getFirst().complete(null);
        tasks.runNow();
        assertEquals(1, kernel.sysctls.get(Sysctl.ipv4Forward()));
    }

    @Test
    void forwardingAlreadyOnStaysOnWhenAPreviousRunsRulesAreStillInTheKernel() {
        kernel.sysctls.put(Sysctl.ipv4Forward(), 1);
        PolicyComponent c = new PolicyComponent(dataplane, kernel, Fakes.logger(logs), tasks, marker, config(false, false));
        c.backends = List.of(backendHolding(true));
        tasks.runNow();
        assertEquals(List.of("put policy"), journal.events, "an agent restart must not cut every guest's traffic");
        assertEquals(1, kernel.sysctls.get(Sysctl.ipv4Forward()));
    }

    @Test
    void forwardingAlreadyOnIsSwitchedOffWhenNoBackendHoldsNetvmsRules() {
        kernel.sysctls.put(Sysctl.ipv4Forward(), 1);
        PolicyComponent c = new PolicyComponent(dataplane, kernel, Fakes.logger(logs), tasks, marker, config(false, false));
        c.backends = List.of(backendHolding(false));
        tasks.runNow();
        assertEquals(List.of("sysctl net.ipv4.ip_forward=0", "put policy"), journal.events);
    }

    @Test
    void forwardingAlreadyOnStaysOnWhenThisAgentsPreviousRunSwitchedItOn() {
        // the backends have not registered yet (they may come after the policy): the marker decides
        kernel.sysctls.put(Sysctl.ipv4Forward(), 1);
        marker.present = true;
        PolicyComponent c = start(config(false, false));
        assertEquals(List.of("put policy"), journal.events, "a restart must not cut every guest's traffic");
        assertTrue(logs.getFirst().contains("previous run"), logs.toString());
        dataplane.stages.getFirst().complete(null);
        tasks.runNow();
        assertTrue(c.forwarding());
    }

    @Test
    void theMarkerIsSetOnceForwardingIsOnAndClearedWhenThePolicyStops() {
        PolicyComponent c = start(config(false, false));
        assertFalse(marker.present);
        dataplane.stages.getFirst().complete(null);
        tasks.runNow();
        assertEquals(List.of("put policy", "sysctl net.ipv4.ip_forward=1", "marker set"), journal.events);
        c.modified(config(true, false));
        tasks.runNow();
        dataplane.stages.get(1).complete(null);
        tasks.runNow();
        assertEquals(1, journal.events.stream().filter("marker set"::equals).count(), journal.events.toString());
        journal.events.clear();
        c.stop(false);
        assertEquals(List.of("sysctl net.ipv4.ip_forward=0", "marker cleared", "remove policy"), journal.events);
    }

    @Test
    void aStoppingRuntimeLeavesForwardingTheRulesAndTheMarker() {
        PolicyComponent c = start(config(false, false));
        dataplane.stages.getFirst().complete(null);
        tasks.runNow();
        journal.events.clear();
        c.stop(true);
        assertEquals(List.of(), journal.events, "a restart keeps the kernel as it is");
        assertTrue(marker.present);
        assertEquals(1, kernel.sysctls.get(Sysctl.ipv4Forward()));
    }

    /** A backend whose read-back is empty or holds one chain. */
    private static org.netvm.dataplane.PacketFilterBackend backendHolding(boolean rules) {
        return new org.netvm.dataplane.PacketFilterBackend() {
            @Override
            public String name() {
                return "fake";
            }

            @Override
            public void apply(org.netvm.dataplane.Plan plan) {
                throw new AssertionError("the policy never applies");
            }

            @Override
            public org.netvm.dataplane.OwnedState readBack() {
                if (!rules) {
                    return org.netvm.dataplane.OwnedState.EMPTY;
                }
                var chains = new java.util.TreeMap<String, String>();
                chains.put("inet input", "hook input");
                return new org.netvm.dataplane.OwnedState(chains, new java.util.TreeMap<>(), new java.util.TreeMap<>(),
                        new java.util.TreeMap<>());
            }

            @Override
            public org.netvm.dataplane.OwnedState expected(org.netvm.dataplane.Plan plan) {
                throw new AssertionError();
            }

            @Override
            public void sweep() {
                throw new AssertionError("the policy never sweeps");
            }
        };
    }

    @Test
    void aStaleCompletionDoesNotSwitchForwardingOnForANewerPolicy() {
        PolicyComponent c = start(config(false, false));
        c.modified(config(true, false));
        tasks.runNow();
        assertEquals(2, dataplane.puts.size());
        assertTrue(dataplane.puts.get(1).rules().size() > dataplane.puts.get(0).rules().size(), "uplink ICMP rule");
        dataplane.stages.get(0).complete(null); // the older policy applied, the newer not yet
        tasks.runNow();
        assertFalse(c.forwarding());
        dataplane.stages.get(1).complete(null);
        tasks.runNow();
        assertTrue(c.forwarding());
    }

    @Test
    void ipv6ForwardingOnlyWhenConfiguredAndSwitchedBackOff() {
        PolicyComponent c = start(config(false, true));
        dataplane.stages.getFirst().complete(null);
        tasks.runNow();
        assertEquals(1, kernel.sysctls.get(Sysctl.ipv6Forwarding()));
        c.modified(config(false, false));
        tasks.runNow();
        dataplane.stages.get(1).complete(null);
        tasks.runNow();
        assertEquals(0, kernel.sysctls.get(Sysctl.ipv6Forwarding()));
    }

    @Test
    void deactivationSwitchesForwardingOffBeforeWithdrawingThePolicy() {
        PolicyComponent c = start(config(false, false));
        dataplane.stages.getFirst().complete(null);
        tasks.runNow();
        journal.events.clear();
        c.stop(false);
        assertEquals(List.of("sysctl net.ipv4.ip_forward=0", "marker cleared", "remove policy"), journal.events);
        assertFalse(c.forwarding());
    }

    @Test
    void aKernelFailureIsRetriedWithTheWholeSequence() {
        PolicyComponent c = start(config(false, false));
        kernel.fail = true;
        dataplane.stages.getFirst().complete(null);
        tasks.runNow();
        assertFalse(c.forwarding());
        kernel.fail = false;
        tasks.runLater();
        dataplane.stages.get(1).complete(null);
        tasks.runNow();
        assertTrue(c.forwarding());
    }
}
