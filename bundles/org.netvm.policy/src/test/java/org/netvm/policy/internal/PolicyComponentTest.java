package org.netvm.policy.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.annotation.Annotation;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.netvm.dataplane.BackendException;
import org.netvm.policy.internal.Fakes.FakeDataplane;
import org.netvm.policy.internal.Fakes.Journal;
import org.netvm.policy.internal.Fakes.ManualTasks;

/**
 * The policy's side of forwarding: it asks the dataplane (which owns forwarding, see the dataplane's
 * IpForwardingTest) only after its put completed, and for off before it withdraws the policy.
 */
class PolicyComponentTest {
    private final Journal journal = new Journal();
    private final FakeDataplane dataplane = new FakeDataplane(journal);
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
        };
    }

    private PolicyComponent start(PolicyComponent.Config config) {
        PolicyComponent c = tasks.drive(new PolicyComponent(dataplane, Fakes.logger(logs), tasks.clock(), config));
        tasks.runNow();
        return c;
    }

    @Test
    void forwardingIsAskedForOnlyAfterThePolicyWasApplied() {
        PolicyComponent c = start(config(false, false));
        assertEquals(List.of("put policy"), journal.events);
        assertEquals(PolicyRules.contribution(PolicyRules.Options.DEFAULT), dataplane.puts.getFirst());
        assertFalse(c.forwarding());

        dataplane.stages.getFirst().complete(null);
        tasks.runNow();
        assertEquals(List.of("put policy", "forwarding IPV4"), journal.events);
        assertTrue(c.forwarding());
    }

    @Test
    void aFailedApplyAsksForNoForwardingAndIsRetried() {
        PolicyComponent c = start(config(false, false));
        dataplane.stages.getFirst().completeExceptionally(new BackendException("nft refused", "Error: ..."));
        tasks.runNow();
        assertEquals(List.of("put policy"), journal.events);
        assertFalse(c.forwarding());
        assertEquals(5000L, tasks.nextInMillis(), "the retry is due in retryMillis");
        assertTrue(logs.getFirst().startsWith("ERROR base policy not applied"), logs.toString());

        tasks.runLater();
        assertEquals(2, dataplane.puts.size());
        dataplane.stages.get(1).complete(null);
        tasks.runNow();
        assertEquals(List.of("put policy", "put policy", "forwarding IPV4"), journal.events);
        assertTrue(c.forwarding());
    }

    @Test
    void aStoppingRuntimeAsksForNothing() {
        PolicyComponent c = start(config(false, false));
        dataplane.stages.getFirst().complete(null);
        tasks.runNow();
        journal.events.clear();
        c.stop(true);
        assertEquals(List.of(), journal.events, "a restart keeps the kernel as it is");
    }

    @Test
    void aStaleCompletionDoesNotAskForForwardingForANewerPolicy() {
        PolicyComponent c = start(config(false, false));
        c.modified(config(true, false));
        tasks.runNow();
        assertEquals(2, dataplane.puts.size());
        assertTrue(dataplane.puts.get(1).rules().size() > dataplane.puts.get(0).rules().size(), "uplink ICMP rule");
        dataplane.stages.get(0).complete(null); // the older policy applied, the newer not yet
        tasks.runNow();
        assertFalse(c.forwarding());
        assertFalse(journal.events.contains("forwarding IPV4"));
        dataplane.stages.get(1).complete(null);
        tasks.runNow();
        assertTrue(c.forwarding());
    }

    @Test
    void ipv6ForwardingOnlyWhenConfigured() {
        start(config(false, true)).modified(config(false, false));
        dataplane.stages.getFirst().complete(null);
        tasks.runNow();
        assertFalse(journal.events.contains("forwarding IPV4_AND_IPV6"), "a stale completion asks for nothing");
        dataplane.stages.get(1).complete(null);
        tasks.runNow();
        assertEquals("forwarding IPV4", journal.events.getLast());

        PolicyComponent c = tasks.drive(
                new PolicyComponent(dataplane, Fakes.logger(logs), tasks.clock(), config(false, true)));
        tasks.runNow();
        dataplane.stages.getLast().complete(null);
        tasks.runNow();
        assertEquals("forwarding IPV4_AND_IPV6", journal.events.getLast());
        assertTrue(c.forwarding());
    }

    @Test
    void deactivationAsksForForwardingOffBeforeWithdrawingThePolicy() {
        PolicyComponent c = start(config(false, false));
        dataplane.stages.getFirst().complete(null);
        tasks.runNow();
        journal.events.clear();
        c.stop(false);
        assertEquals(List.of("forwarding OFF", "remove policy"), journal.events);
        assertFalse(c.forwarding());
    }

    @Test
    void aFailedForwardingRequestIsRetriedWithTheWholeSequence() {
        PolicyComponent c = start(config(false, false));
        dataplane.forwardingFailure = new IllegalStateException("sysctl refused");
        dataplane.stages.getFirst().complete(null);
        tasks.runNow();
        assertFalse(c.forwarding());
        assertTrue(logs.getLast().startsWith("ERROR base policy applied but forwarding could not be switched on"),
                logs.toString());
        dataplane.forwardingFailure = null;
        tasks.runLater();
        dataplane.stages.get(1).complete(null);
        tasks.runNow();
        assertTrue(c.forwarding());
    }
}
