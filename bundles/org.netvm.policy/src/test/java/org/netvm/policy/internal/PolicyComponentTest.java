package org.netvm.policy.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.netvm.dataplane.BackendException;
import org.netvm.policy.internal.Fakes.FakeDataplane;
import org.netvm.policy.internal.Fakes.Journal;
import org.netvm.policy.internal.Fakes.ManualTasks;
import org.netvm.testing.config.Configs;
import org.netvm.testing.log.Loggers;
import org.netvm.testing.xenstore.FakeXenStore;

/**
 * The policy's side of forwarding: it asks the dataplane (which owns forwarding, see the dataplane's
 * IpForwardingTest) only after its put completed, and for off before it withdraws the policy. IPv6
 * (the policy's {@code ipv6} option and IPv6 forwarding) follows {@code qubes-netvm-gateway6}.
 */
class PolicyComponentTest {
    private final Journal journal = new Journal();
    private final FakeDataplane dataplane = new FakeDataplane(journal);
    private final ManualTasks tasks = new ManualTasks();
    private final List<String> logs = new ArrayList<>();

    private final FakeXenStore xenstore = new FakeXenStore();

    static PolicyComponent.Config config(boolean uplinkIcmp) {
        return Configs.of(PolicyComponent.Config.class, "uplinkIcmp", uplinkIcmp);
    }

    private PolicyComponent start(PolicyComponent.Config config) {
        PolicyComponent c = tasks.drive(new PolicyComponent(dataplane, xenstore, Loggers.recording(logs), tasks.clock(), config));
        tasks.runNow();
        return c;
    }

    @Test
    void forwardingIsAskedForOnlyAfterThePolicyWasApplied() {
        PolicyComponent c = start(config(false));
        assertEquals(List.of("put policy"), journal.events);
        assertEquals(PolicyRules.contribution(new PolicyRules.Options(false, true, false)), dataplane.puts.getFirst(),
                "no qubes-netvm-gateway6: IPv6 dropped");
        assertFalse(c.forwarding());

        dataplane.stages.getFirst().complete(null);
        tasks.runNow();
        assertEquals(List.of("put policy", "forwarding IPV4"), journal.events);
        assertTrue(c.forwarding());
    }

    @Test
    void aFailedApplyAsksForNoForwardingAndIsRetried() {
        PolicyComponent c = start(config(false));
        dataplane.stages.getFirst().completeExceptionally(new BackendException("nft refused", "Error: ..."));
        tasks.runNow();
        assertEquals(List.of("put policy"), journal.events);
        assertFalse(c.forwarding());
        assertEquals(5000L, tasks.nextInMillis(), "the retry is due in retryMillis");
        assertTrue(logs.stream().anyMatch(l -> l.startsWith("ERROR base policy not applied")), logs.toString());

        tasks.runLater();
        assertEquals(2, dataplane.puts.size());
        dataplane.stages.get(1).complete(null);
        tasks.runNow();
        assertEquals(List.of("put policy", "put policy", "forwarding IPV4"), journal.events);
        assertTrue(c.forwarding());
    }

    @Test
    void aStoppingRuntimeAsksForNothing() {
        PolicyComponent c = start(config(false));
        dataplane.stages.getFirst().complete(null);
        tasks.runNow();
        journal.events.clear();
        c.stop(true);
        assertEquals(List.of(), journal.events, "a restart keeps the kernel as it is");
    }

    @Test
    void aStaleCompletionDoesNotAskForForwardingForANewerPolicy() {
        PolicyComponent c = start(config(false));
        c.modified(config(true));
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

    private void applyAll() {
        dataplane.stages.forEach(f -> f.complete(null));
        tasks.runNow();
    }

    @Test
    void withoutGateway6IPv6IsDroppedAndOnlyIPv4Forwarded() {
        PolicyComponent c = start(config(false));
        applyAll();
        assertEquals(List.of("put policy", "forwarding IPV4"), journal.events);
        assertFalse(c.ipv6());
        assertEquals(PolicyRules.contribution(new PolicyRules.Options(false, true, false)), dataplane.puts.getLast());
        assertEquals(List.of(PolicyComponent.GATEWAY6_KEY), xenstore.watchedPaths(), "relative: the netvm's home");
    }

    @Test
    void gateway6PresentAtStartRoutesIPv6FromTheFirstPut() {
        xenstore.put(PolicyComponent.GATEWAY6_KEY, "2001:db8::1");
        PolicyComponent c = start(config(false));
        applyAll();
        assertEquals(List.of("put policy", "forwarding IPV4_AND_IPV6"), journal.events, "no IPv6-dropping put first");
        assertEquals(PolicyRules.contribution(new PolicyRules.Options(false, true, true)), dataplane.puts.getFirst());
        assertTrue(c.ipv6());
        assertTrue(c.forwarding());
    }

    @Test
    void ipv6FollowsGateway6AppearingAndGoing() {
        PolicyComponent c = start(config(false));
        applyAll();
        journal.events.clear();

        xenstore.put(PolicyComponent.GATEWAY6_KEY, "fd09:24ef:4179::a8b:1");
        tasks.runNow();
        assertTrue(c.ipv6());
        assertEquals(List.of("put policy"), journal.events, "forwarding only after the policy routing IPv6 applied");
        applyAll();
        assertEquals(List.of("put policy", "forwarding IPV4_AND_IPV6"), journal.events);

        xenstore.put(PolicyComponent.GATEWAY6_KEY, "fd09:24ef:4179::a8b:2"); // another address: nothing to do
        tasks.runNow();
        assertEquals(2, journal.events.size(), journal.events.toString());

        journal.events.clear();
        xenstore.remove(PolicyComponent.GATEWAY6_KEY);
        tasks.runNow();
        assertFalse(c.ipv6());
        assertEquals(PolicyRules.contribution(new PolicyRules.Options(false, true, false)), dataplane.puts.getLast());
        applyAll();
        assertEquals(List.of("put policy", "forwarding IPV4"), journal.events, "IPv6 dropped first, then unforwarded");
    }

    @Test
    void aBadGateway6FailsClosedAndIsLogged() {
        xenstore.put(PolicyComponent.GATEWAY6_KEY, "2001:db8::1 ; rm -rf /\n");
        PolicyComponent c = start(config(false));
        applyAll();
        assertFalse(c.ipv6());
        assertEquals("forwarding IPV4", journal.events.getLast());
        assertTrue(logs.stream().anyMatch(l -> l.startsWith("ERROR {} is not a unicast IPv6")), logs.toString());
    }

    @Test
    void gateway6MustBeAUnicastIPv6Address() {
        assertEquals("2001:db8::1", PolicyComponent.gateway6("2001:db8::1").text());
        assertEquals("fe80::1", PolicyComponent.gateway6("fe80::1").text(), "link-local, as Qubes allows");
        for (String bad : new String[] {null, "", "10.137.0.1", "::", "::1", "ff02::1", "::ffff:10.0.0.1",
                "2001:db8::1/64", "fe80::1%eth0", " 2001:db8::1", "2001:db8::g", "2001:db8::1".repeat(7)}) {
            assertNull(PolicyComponent.gateway6(bad), String.valueOf(bad));
        }
    }

    @Test
    void anUnreadableGateway6KeepsTheLastStateAndIsReadAgain() {
        xenstore.failReads(true);
        PolicyComponent c = start(config(false));
        applyAll();
        assertFalse(c.ipv6(), "fail closed at start");
        assertEquals(5000L, tasks.nextInMillis(), "the re-read is due in retryMillis");
        xenstore.failReads(false);
        xenstore.fireWatches(false);
        xenstore.put(PolicyComponent.GATEWAY6_KEY, "2001:db8::1");
        tasks.runLater();
        assertTrue(c.ipv6());
        applyAll();
        assertEquals("forwarding IPV4_AND_IPV6", journal.events.getLast());
    }

    @Test
    void theWatchIsClosedOnDeactivation() {
        PolicyComponent c = start(config(false));
        applyAll();
        c.stop(false);
        assertEquals(List.of(), xenstore.watchedPaths());
    }

    @Test
    void deactivationAsksForForwardingOffBeforeWithdrawingThePolicy() {
        PolicyComponent c = start(config(false));
        dataplane.stages.getFirst().complete(null);
        tasks.runNow();
        journal.events.clear();
        c.stop(false);
        assertEquals(List.of("forwarding OFF", "remove policy"), journal.events);
        assertFalse(c.forwarding());
    }

    @Test
    void aFailedForwardingRequestIsRetriedWithTheWholeSequence() {
        PolicyComponent c = start(config(false));
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
