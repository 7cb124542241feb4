package org.netvm.dataplane.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;

import org.junit.jupiter.api.Test;
import org.netvm.dataplane.BackendException;
import org.netvm.dataplane.Chain;
import org.netvm.dataplane.ChainRef;
import org.netvm.dataplane.Contribution;
import org.netvm.dataplane.Dataplane;
import org.netvm.dataplane.Family;
import org.netvm.dataplane.Hook;
import org.netvm.dataplane.Match;
import org.netvm.dataplane.NamedSet;
import org.netvm.dataplane.OwnedState;
import org.netvm.dataplane.Policy;
import org.netvm.dataplane.Priority;
import org.netvm.dataplane.Rule;
import org.netvm.dataplane.SetElement;
import org.netvm.dataplane.SetRef;
import org.netvm.dataplane.SetType;
import org.netvm.testing.config.Configs;
import org.netvm.testing.log.Loggers;
import org.osgi.service.log.Logger;

class DataplaneReconcilerTest {

    static final ChainRef INPUT = ChainRef.of(Family.INET, "input");
    static final SetRef ALLOWED = SetRef.of(Family.INET, "allowed");
    static final String ALLOWED_KEY = ALLOWED.toString();

    static Contribution policy() {
        return Contribution.builder("policy")
                .chain(Chain.filter(Family.INET, "input", Hook.INPUT, Priority.FILTER, Policy.DROP))
                .set(NamedSet.of(Family.INET, "allowed", SetType.IFNAME_IPV4_ADDR))
                .rule(Rule.in(INPUT).inSet(Match.SetKey.IIFNAME_SOURCE_ADDRESS, "allowed").accept())
                .build();
    }

    static Contribution guest(int n) {
        return Contribution.builder("vif/vif" + n + ".0")
                .element(ALLOWED, SetElement.of("vif" + n + ".0", "10.137." + (n / 250) + "." + (n % 250 + 2)))
                .build();
    }

    final List<String> calls = Collections.synchronizedList(new ArrayList<>());
    final List<String> logLines = Collections.synchronizedList(new ArrayList<>());
    final ManualClock clock = new ManualClock();
    final Logger log = Loggers.formatting(logLines);
    long nextServiceId = 100;

    DataplaneReconciler reconciler(String backend) {
        return clock.drive(new DataplaneReconciler(new Settings(backend, 5, 2), clock, Runnable::run, log));
    }

    Map<String, Object> bind(DataplaneReconciler r, FakeBackend b) {
        Map<String, Object> props = Map.of("service.id", nextServiceId++, "netvm.backend", b.name());
        r.bindBackend(b, props);
        return props;
    }

    /** Lets the debounce run out. */
    void settle() {
        clock.advance(2);
    }

    static void assertDone(CompletionStage<?> s) {
        assertTrue(s.toCompletableFuture().isDone(), "stage should be complete");
        assertFalse(s.toCompletableFuture().isCompletedExceptionally(), "stage should have succeeded");
    }

    static Throwable failure(CompletionStage<?> s) {
        CompletableFuture<?> f = s.toCompletableFuture();
        assertTrue(f.isCompletedExceptionally(), "stage should have failed");
        return assertThrows(ExecutionException.class, f::get).getCause();
    }

    @Test
    void hundredPutsInABurstBecomeOneApplyAndAllComplete() {
        var r = reconciler("a");
        var a = new FakeBackend("a", calls);
        bind(r, a);
        List<CompletionStage<Void>> stages = new ArrayList<>();
        stages.add(r.put(policy()));
        for (int i = 0; i < 100; i++) {
            stages.add(r.put(guest(i)));
        }
        stages.forEach(s -> assertFalse(s.toCompletableFuture().isDone(), "completed before any apply"));
        settle();
        assertEquals(1, a.applies);
        stages.forEach(DataplaneReconcilerTest::assertDone);
        assertEquals(100, a.elements(ALLOWED_KEY).size());
        Dataplane.Status st = r.status();
        assertEquals("a", st.activeBackend());
        assertTrue(st.inSync());
        assertEquals(101, st.contributions());
        assertEquals(100, st.elements());
        assertEquals(1, st.applies());
    }

    @Test
    void putsSpreadOverTimeAreBatchedPerDebounceWindow() {
        var r = reconciler("a");
        var a = new FakeBackend("a", calls);
        bind(r, a);
        r.put(policy());
        for (int i = 0; i < 100; i++) {
            r.put(guest(i));
            if (i % 25 == 24) {
                settle();
            }
        }
        settle();
        assertEquals(4, a.applies);
        assertEquals(100, a.elements(ALLOWED_KEY).size());
    }

    @Test
    void putCompletesOnlyOnceTheElementIsInTheKernel() {
        var r = reconciler("a");
        var a = new FakeBackend("a", calls);
        bind(r, a);
        r.put(policy());
        settle();
        CompletionStage<Void> s = r.put(guest(3));
        boolean[] seenInKernel = new boolean[1];
        s.thenRun(() -> seenInKernel[0] = a.elements(ALLOWED_KEY).contains("vif3.0 . 10.137.0.5"));
        assertFalse(s.toCompletableFuture().isDone());
        settle();
        assertDone(s);
        assertTrue(seenInKernel[0], "the element must be applied before the stage completes");

        CompletionStage<Void> rm = r.remove("vif/vif3.0");
        settle();
        assertDone(rm);
        assertTrue(a.elements(ALLOWED_KEY).isEmpty());
    }

    @Test
    void failedApplyFailsTheStagesKeepsDesiredStateAndRetriesAtResync() {
        var r = reconciler("a");
        var a = new FakeBackend("a", calls);
        bind(r, a);
        r.put(policy());
        settle();
        a.failApply = "Error: Could not process rule";
        CompletionStage<Void> s = r.put(guest(7));
        settle();
        Throwable t = failure(s);
        assertInstanceOf(BackendException.class, t);
        assertTrue(t.getMessage().contains("Could not process rule"), t.getMessage());
        Dataplane.Status st = r.status();
        assertFalse(st.inSync());
        assertEquals(1, st.failures());
        assertTrue(st.lastError().contains("apply on a failed"), st.lastError());
        assertEquals(1, r.plan().elements(ALLOWED).size(), "desired state is kept");
        assertTrue(a.elements(ALLOWED_KEY).isEmpty());

        a.failApply = null;
        clock.advance(5000);
        assertTrue(r.status().inSync());
        assertNull(r.status().lastError());
        assertEquals(1, a.elements(ALLOWED_KEY).size());
    }

    @Test
    void driftIsDetectedAtResyncLoggedAndRepaired() {
        var r = reconciler("a");
        var a = new FakeBackend("a", calls);
        bind(r, a);
        r.put(policy());
        r.put(guest(1));
        r.put(guest(2));
        settle();
        OwnedState good = a.kernel;
        clock.advance(5000);
        assertEquals(0, r.status().driftRepairs(), "no drift, no repair");
        assertEquals(1, a.applies);

        // someone deletes an element behind our back
        TreeMap<String, java.util.SortedSet<String>> els = new TreeMap<>(a.kernel.elements());
        TreeSet<String> allowed = new TreeSet<>(els.get(ALLOWED_KEY));
        allowed.remove("vif1.0 . 10.137.0.3");
        els.put(ALLOWED_KEY, allowed);
        a.kernel = new OwnedState(a.kernel.chains(), a.kernel.rules(), a.kernel.sets(), els);

        clock.advance(5000);
        assertEquals(1, r.status().driftRepairs());
        assertEquals(good, a.kernel);
        assertEquals(2, a.applies);
        assertTrue(logLines.stream().anyMatch(l -> l.startsWith("WARN drift in a: 1 difference(s): - element "
                + ALLOWED_KEY + ": vif1.0 . 10.137.0.3")), logLines.toString());
        assertTrue(r.status().inSync());
    }

    @Test
    void nothingIsWrittenBeforeTheFirstContribution() {
        var r = reconciler("a");
        var a = new FakeBackend("a", calls);
        bind(r, a);
        clock.advance(20_000);
        assertEquals(List.of(), calls, "no backend call at all, not even a drift check");
        assertEquals("a", r.status().activeBackend());
        assertFalse(r.status().inSync());
    }

    @Test
    void hotSwapAppliesThenSweepsTheOldAndTheNextDriftCheckVerifies() throws Exception {
        var r = reconciler("a");
        var a = new FakeBackend("a", calls);
        var b = new FakeBackend("b", calls);
        bind(r, a);
        r.put(policy());
        r.put(guest(1));
        settle();
        bind(r, b); // not requested: idle; swept once since a is in sync
        settle();
        calls.clear();

        CompletableFuture<String> outcome = r.awaitBackend("b");
        r.modified(new Settings("b", 5, 2));
        settle();
        assertEquals(List.of("b.apply", "a.sweep"), calls, "no read-back on the switch's path");
        assertEquals("b is in charge and in sync", outcome.get());
        assertEquals(a.expected(r.plan()), b.kernel);
        assertTrue(a.kernel.isEmpty());
        calls.clear();
        clock.advance(5000);
        assertEquals(List.of("b.readBack"), calls, "the next drift check reads b back");
        Dataplane.Status st = r.status();
        assertEquals("b", st.activeBackend());
        assertTrue(st.inSync());
        assertNull(st.requestFailure());

        calls.clear();
        r.put(guest(2));
        settle();
        assertEquals(List.of("b.apply"), calls, "changes now go to b only");
    }

    @Test
    void theSwitchIsAnsweredOnceTheNewBackendHoldsThePlanAndTheOldIsSweptBeforeTheNextPass() throws Exception {
        var r = reconciler("a");
        var a = new FakeBackend("a", calls);
        var b = new FakeBackend("b", calls);
        bind(r, a);
        r.put(policy());
        settle();
        bind(r, b);
        settle();
        calls.clear();

        CompletableFuture<String> outcome = r.awaitBackend("b");
        outcome.thenRun(() -> calls.add("answered"));
        r.modified(new Settings("b", 5, 2));
        settle();
        r.put(guest(1));
        settle();
        assertEquals(List.of("b.apply", "answered", "a.sweep", "b.apply"), calls, "the old one is swept after"
                + " the answer, before the next pass");
        assertEquals("b is in charge and in sync", outcome.get());
        assertTrue(a.kernel.isEmpty());
    }

    @Test
    void hotSwapFailureKeepsTheOldInChargeSweepsTheNewAndReports() {
        var r = reconciler("a");
        var a = new FakeBackend("a", calls);
        var b = new FakeBackend("b", calls);
        bind(r, a);
        bind(r, b);
        r.put(policy());
        r.put(guest(1));
        settle();
        OwnedState before = a.kernel;
        calls.clear();

        b.failApply = "Error: No such file or directory";
        CompletableFuture<String> outcome = r.awaitBackend("b");
        r.modified(new Settings("b", 5, 2));
        settle();
        assertEquals(List.of("b.apply", "b.sweep"), calls);
        assertEquals(before, a.kernel, "the old backend's state is untouched");
        Throwable t = failure(outcome);
        assertTrue(t.getMessage().contains("requested but failed: switch from a to b failed"), t.getMessage());
        Dataplane.Status st = r.status();
        assertEquals("a", st.activeBackend());
        assertEquals("b", st.requestedBackend());
        assertTrue(st.requestFailure().startsWith("requested but failed"), st.requestFailure());
        assertTrue(st.requestFailure().endsWith("a stays in charge"), st.requestFailure());
        assertTrue(st.lastError().contains("No such file or directory"), st.lastError());
        assertTrue(logLines.stream().anyMatch(l -> l.startsWith("ERROR switch from a to b failed")));

        calls.clear();
        CompletionStage<Void> s = r.put(guest(2));
        settle();
        assertEquals(List.of("a.apply"), calls, "the old backend keeps applying; no retry loop on b");
        assertDone(s);
    }

    @Test
    void driftRightAfterASwitchIsRepairedOnTheNewBackendNotUndone() {
        var r = reconciler("a");
        var a = new FakeBackend("a", calls);
        var b = new FakeBackend("b", calls);
        bind(r, a);
        bind(r, b);
        r.put(policy());
        r.put(guest(1));
        settle();
        r.modified(new Settings("b", 5, 2));
        settle();
        assertEquals("b", r.status().activeBackend());
        // someone deletes b's set elements by hand before its first read-back (drift.test.sh does)
        b.kernel = new OwnedState(b.kernel.chains(), b.kernel.rules(), b.kernel.sets(), new TreeMap<>());
        calls.clear();
        clock.advance(5000);
        assertEquals(List.of("b.readBack", "b.apply", "b.readBack"), calls, "re-applied and read back in sync");
        assertEquals("b", r.status().activeBackend(), "the switch stands");
        assertEquals(b.expected(r.plan()), b.kernel);
        calls.clear();
        clock.advance(5000);
        assertEquals(List.of("b.readBack"), calls, "verified: the next check is a plain one");
    }

    @Test
    void hotSwapFailsWhenTheNewBackendDoesNotReadBackWhatItApplied() {
        var r = reconciler("a");
        var a = new FakeBackend("a", calls);
        var b = new FakeBackend("b", calls);
        bind(r, a);
        bind(r, b);
        r.put(policy());
        r.put(guest(1));
        settle();
        calls.clear();
        b.corrupt = s -> new OwnedState(s.chains(), s.rules(), s.sets(), new TreeMap<>()); // loses elements

        r.modified(new Settings("b", 5, 2));
        settle();
        assertEquals(List.of("b.apply", "a.sweep"), calls, "b applied without error: the old one goes");
        assertEquals("b", r.status().activeBackend());
        calls.clear();
        clock.advance(5000); // the next drift check: b does not hold what it applied, even applied again
        assertEquals(List.of("b.readBack", "b.apply", "b.readBack", "a.apply", "b.sweep"), calls,
                "repaired like drift first; then the switch is undone, make before break, backwards");
        assertTrue(b.kernel.isEmpty());
        assertEquals(a.expected(r.plan()), a.kernel);
        assertEquals("a", r.status().activeBackend());
        assertTrue(r.status().lastError().contains("does not read back what it applied"), r.status().lastError());
        assertTrue(r.status().requestFailure().startsWith("requested but failed"), r.status().requestFailure());
        calls.clear();
        clock.advance(5000);
        assertEquals(List.of("a.readBack"), calls, "a stays in charge; b is not tried again by itself");

        // a later retry (operator) succeeds once b is fixed
        b.corrupt = x -> x;
        calls.clear();
        r.retry();
        settle();
        assertEquals(List.of("b.apply", "a.sweep"), calls);
        assertEquals("b", r.status().activeBackend());
        calls.clear();
        clock.advance(5000);
        assertEquals(List.of("b.readBack"), calls, "in sync: no revert");
        assertEquals("b", r.status().activeBackend());
    }

    @Test
    void aVanishedBackendIsNotSweptAndTheNextOneGetsTheFullPlan() {
        var r = reconciler("a");
        var a = new FakeBackend("a", calls);
        Map<String, Object> props = bind(r, a);
        r.put(policy());
        r.put(guest(1));
        settle();
        OwnedState enforced = a.kernel;
        calls.clear();

        r.unbindBackend(a, props);
        CompletionStage<Void> pending = r.put(guest(2));
        clock.advance(20_000);
        assertEquals(List.of(), calls, "no sweep, no call on a vanished backend");
        assertEquals(enforced, a.kernel, "the kernel keeps enforcing the last state");
        assertNull(r.status().activeBackend());
        assertFalse(r.status().inSync());
        assertFalse(pending.toCompletableFuture().isDone(), "waits for a backend");

        var a2 = new FakeBackend("a", calls); // the bundle comes back
        bind(r, a2);
        settle();
        assertEquals(List.of("a.apply"), calls);
        assertEquals(2, a2.elements(ALLOWED_KEY).size());
        assertDone(pending);
        assertEquals("a", r.status().activeBackend());
    }

    @Test
    void aRequestedBackendThatIsNotRegisteredLeavesTheOldInCharge() {
        var r = reconciler("a");
        var a = new FakeBackend("a", calls);
        bind(r, a);
        r.put(policy());
        settle();
        CompletableFuture<String> outcome = r.awaitBackend("c");
        r.modified(new Settings("c", 5, 2));
        settle();
        assertTrue(failure(outcome).getMessage().contains("requested backend c is not registered; a stays in charge"));
        assertEquals("a", r.status().activeBackend());
        assertEquals(0, a.sweeps);

        var c = new FakeBackend("c", calls); // appears later: the switch happens by itself
        calls.clear();
        bind(r, c);
        settle();
        assertEquals(List.of("c.apply", "a.sweep"), calls);
        assertEquals("c", r.status().activeBackend());
    }

    @Test
    void idleBackendsAreSweptOnceWhenTheActiveOneIsInSync() {
        var r = reconciler("a");
        var a = new FakeBackend("a", calls);
        var stale = new FakeBackend("b", calls);
        stale.kernel = a.expected(org.netvm.dataplane.Plan.merge(policy())); // left over from an earlier run
        bind(r, stale);
        bind(r, a);
        r.put(policy());
        settle();
        assertEquals(List.of("a.apply", "b.sweep"), calls);
        assertTrue(stale.kernel.isEmpty());
        clock.advance(10_000);
        assertEquals(1, stale.sweeps, "once per registration");
    }

    @Test
    void cleanupSwitchesForwardingOffFirstAndTheNextTakeOverRestoresIt() throws Exception {
        var r = reconciler("a");
        List<String> fwd = new ArrayList<>();
        var a = new FakeBackend("a", calls);
        bind(r, a);
        r.put(policy());
        r.put(guest(1));
        settle();
        r.forwarding.sysctls(new ForwardingSysctls() {
            @Override
            public State read() {
                return new State(fwd.isEmpty(), false); // on until switched off
            }

            @Override
            public void write(Boolean ipv4, Boolean ipv6) {
                fwd.add("write " + ipv4 + " " + ipv6);
                calls.add(Boolean.TRUE.equals(ipv4) ? "forwarding on" : "forwarding off");
            }
        });
        r.retry(); // the start-up check: forwarding is on, and a holds netvm's rules: kept on
        settle();
        assertEquals(List.of(), fwd);
        calls.clear();

        CompletableFuture<List<String>> done = r.cleanup();
        settle();
        assertEquals(List.of("IP forwarding: off until a backend is in charge again", "a: swept"), done.get());
        assertEquals(List.of("forwarding off", "a.sweep"), calls, "no moment with forwarding on and no rules");
        r.put(guest(2));
        clock.advance(10_000);
        assertEquals(List.of("write false null"), fwd, "stays off while nothing is in charge");

        calls.clear();
        r.retry();
        settle();
        assertEquals(List.of("a.apply", "forwarding on"), calls, "on again only once the rules are back");
        assertEquals(List.of("write false null", "write true null"), fwd);
        r.put(guest(3));
        settle();
        assertEquals(2, fwd.size(), "restored once");
    }

    @Test
    void cleanupSweepsEveryBackendAndStopsApplyingUntilRetry() throws Exception {
        var r = reconciler("a");
        var a = new FakeBackend("a", calls);
        var b = new FakeBackend("b", calls);
        bind(r, a);
        bind(r, b);
        r.put(policy());
        r.put(guest(1));
        settle();
        calls.clear();

        CompletableFuture<List<String>> done = r.cleanup();
        assertTrue(calls.isEmpty(), "runs on the reconciler thread");
        settle();
        assertEquals(List.of("a: swept", "b: swept"), done.get());
        assertEquals(List.of("a.sweep", "b.sweep"), calls);
        assertTrue(a.kernel.isEmpty());
        assertNull(r.status().activeBackend());
        assertTrue(r.status().requestFailure().startsWith("cleaned up"));

        calls.clear();
        CompletionStage<Void> s = r.put(guest(2));
        clock.advance(10_000);
        assertEquals(List.of(), calls, "nothing applied after cleanup, no drift repair either");
        assertFalse(s.toCompletableFuture().isDone());

        r.retry();
        settle();
        assertEquals(List.of("a.apply", "b.sweep"), calls);
        assertDone(s);
        assertEquals(2, a.elements(ALLOWED_KEY).size());
    }

    @Test
    void aConflictingContributionIsLeftOutAndItsStageFails() {
        var r = reconciler("a");
        var a = new FakeBackend("a", calls);
        bind(r, a);
        r.put(policy());
        settle();
        Contribution rogue = Contribution.builder("rogue")
                .chain(Chain.filter(Family.INET, "input", Hook.INPUT, Priority.FILTER, Policy.ACCEPT)).build();
        CompletionStage<Void> bad = r.put(rogue);
        CompletionStage<Void> good = r.put(guest(1));
        settle();
        Throwable t = failure(bad);
        assertInstanceOf(IllegalArgumentException.class, t);
        assertTrue(t.getMessage().contains("declared differently"), t.getMessage());
        assertDone(good);
        assertTrue(a.kernel.chains().get("inet input").contains("DROP"), "the established declaration stays");
        assertEquals(1, r.status().rejected());
        assertTrue(r.status().inSync());

        CompletionStage<Void> gone = r.remove("rogue");
        settle();
        assertDone(gone);
        assertEquals(0, r.status().rejected());
    }

    @Test
    void elementsForASetNobodyDeclaresWaitForTheDeclarer() {
        var r = reconciler("a");
        var a = new FakeBackend("a", calls);
        bind(r, a);
        CompletionStage<Void> early = r.put(guest(1));
        settle();
        assertInstanceOf(IllegalArgumentException.class, failure(early));
        CompletionStage<Void> p = r.put(policy());
        settle();
        assertDone(p);
        assertEquals(1, a.elements(ALLOWED_KEY).size(), "the parked contribution joins once it fits");
    }

    @Test
    void whiteboardContributionsAreMerged() {
        var r = reconciler("a");
        var a = new FakeBackend("a", calls);
        bind(r, a);
        Map<String, Object> props = Map.of("service.id", 7L);
        r.bindContribution(policy(), props);
        r.put(guest(1));
        settle();
        assertEquals(1, a.elements(ALLOWED_KEY).size());
        r.unbindContribution(policy(), props);
        settle();
        assertEquals(1, r.status().rejected(), "the guest's element has no set any more");
        assertTrue(a.kernel.isEmpty());
    }

    /**
     * A pass merges only the owners changed since the last one: an owner's put wins over its whiteboard
     * services, and among those the lowest service id, whichever of them comes or goes (each time a warning
     * names the ignored one).
     */
    @Test
    void changedOwnersOnlyKeepPutsOverWhiteboardAndTheLowestServiceId() {
        var r = reconciler("a");
        var a = new FakeBackend("a", calls);
        bind(r, a);
        r.put(policy());
        Contribution asPut = guest(1);
        Contribution low = Contribution.builder(asPut.owner()).element(ALLOWED, SetElement.of("vif1.0", "10.137.9.1"))
                .build();
        Contribution high = Contribution.builder(asPut.owner()).element(ALLOWED, SetElement.of("vif1.0", "10.137.9.2"))
                .build();
        r.bindContribution(high, Map.of("service.id", 21L));
        settle();
        assertEquals(Set.of("vif1.0 . 10.137.9.2"), a.elements(ALLOWED_KEY));
        r.bindContribution(low, Map.of("service.id", 20L));
        settle();
        assertEquals(Set.of("vif1.0 . 10.137.9.1"), a.elements(ALLOWED_KEY));
        assertTrue(logLines.stream().anyMatch(l -> l.contains("whiteboard contribution of vif/vif1.0 ignored")),
                logLines.toString());
        r.put(asPut);
        settle();
        assertEquals(Set.of("vif1.0 . 10.137.0.3"), a.elements(ALLOWED_KEY));
        r.unbindContribution(low, Map.of("service.id", 20L));
        settle();
        assertEquals(Set.of("vif1.0 . 10.137.0.3"), a.elements(ALLOWED_KEY), "the put still wins");
        r.remove(asPut.owner());
        settle();
        assertEquals(Set.of("vif1.0 . 10.137.9.2"), a.elements(ALLOWED_KEY), "the service left takes over");
        r.unbindContribution(high, Map.of("service.id", 21L));
        settle();
        assertEquals(Set.of(), a.elements(ALLOWED_KEY));
        r.put(guest(2));
        r.put(guest(3));
        settle();
        assertEquals(Set.of("vif2.0 . 10.137.0.4", "vif3.0 . 10.137.0.5"), a.elements(ALLOWED_KEY));
        assertEquals(3, r.status().contributions(), "the policy, two guests (and no ghost of the others)");
    }

    @Test
    void deactivateNeverSweepsAndFailsWaiters() {
        var r = reconciler("a");
        var a = new FakeBackend("a", calls);
        r.put(policy());
        CompletionStage<Void> pending = r.put(guest(1)); // no backend yet
        settle();
        bind(r, a);
        r.deactivate();
        assertInstanceOf(IllegalStateException.class, failure(pending));
        clock.advance(10_000);
        assertEquals(List.of(), calls);
        assertTrue(r.put(guest(2)).toCompletableFuture().isCompletedExceptionally());
    }

    @Test
    void eachApplyLogsOneLineWithTheChangedOwnersAndOutcomeAndIsCountedPerBackend() {
        var r = reconciler("a");
        var a = new FakeBackend("a", calls);
        bind(r, a);
        r.put(policy());
        r.put(guest(1));
        settle();
        r.put(guest(2));
        settle();
        a.failApply = "Error: Could not process rule\nsecond line";
        r.put(guest(3));
        settle();
        List<String> applyLines = logLines.stream().filter(l -> l.matches("[A-Z]+ apply .*")).toList();
        assertEquals(List.of(
                "INFO apply backend=a reason=change owners=\"policy,vif/vif1.0\" outcome=ok duration_ms=0 contributions=2",
                "INFO apply backend=a reason=change owners=\"vif/vif2.0\" outcome=ok duration_ms=0 contributions=3",
                "ERROR apply backend=a reason=change owners=\"vif/vif3.0\" outcome=failed duration_ms=0 contributions=4"
                        + " error=\"nft refused: Error: Could not process rule\\u000asecond line\" (the kernel keeps the previous"
                        + " state; retried at the next change or resync)"), applyLines);
        List<Dataplane.BackendStatistics> stats = r.backendStatistics();
        assertEquals(1, stats.size());
        assertEquals("a", stats.get(0).backend());
        assertEquals(2, stats.get(0).applies());
        assertEquals(1, stats.get(0).failures());
        assertEquals(3, stats.get(0).applySeconds().count());
        assertEquals(3, stats.get(0).applySeconds().cumulativeCounts().get(0), "all took under 1 ms");
    }

    @Test
    void aFlappingGuestCannotFloodTheLogWithApplyLines() {
        var r = reconciler("a");
        var a = new FakeBackend("a", calls);
        bind(r, a);
        r.put(policy());
        settle();
        for (int i = 0; i < 20; i++) {
            r.put(guest(5));
            settle();
            r.remove("vif/vif5.0");
            settle();
        }
        assertEquals(41, a.applies);
        assertEquals(5, logLines.stream().filter(l -> l.contains("owners=\"vif/vif5.0\"")).count(), logLines.toString());
        clock.advance(10_000);
        r.put(guest(5)); // the next line about the guest, after the window, brings the summary
        settle();
        assertTrue(logLines.contains("WARN suppressed 35 log line(s) about \"vif/vif5.0\" (more than 5 in 10000 ms)"),
                logLines.toString());
    }

    @Test
    void nothingIsWrittenWhileARequiredOwnerIsMissingAtStartOrLater() {
        // a restart: DNS contributes before the base policy; applying that plan alone would replace the
        // previous run's filtering with none (no anti-spoofing, no forward filter)
        var r = clock.drive(new DataplaneReconciler(new Settings("a", 5, 2, java.util.Set.of("policy")),
                clock, Runnable::run, log));
        var a = new FakeBackend("a", calls);
        bind(r, a);
        Contribution dns = Contribution.builder("dns")
                .chain(Chain.filter(Family.INET, "dns-like", Hook.FORWARD, Priority.FILTER, Policy.ACCEPT))
                .build();
        CompletionStage<Void> early = r.put(dns);
        settle();
        clock.advance(5000); // a resync neither
        assertEquals(0, a.applies, "applied without the base policy");
        assertFalse(early.toCompletableFuture().isDone());
        assertFalse(r.status().inSync());
        assertTrue(logLines.stream().anyMatch(l -> l.startsWith("WARN waiting for the contribution of [policy]")),
                logLines.toString());

        r.put(policy());
        settle();
        assertEquals(1, a.applies, "policy and the early contribution in one apply");
        assertDone(early);
        assertTrue(r.status().inSync());
        r.put(guest(1));
        settle();
        assertEquals(2, a.applies);

        // the base policy goes away (its bundle stopped): the kernel keeps the last state
        r.remove("policy");
        r.put(guest(2));
        settle();
        clock.advance(5000);
        assertEquals(2, a.applies, "applied a plan without the base policy");
        assertEquals(1, a.elements(ALLOWED_KEY).size());
        assertFalse(r.status().inSync());
        r.put(policy());
        settle();
        assertEquals(3, a.applies);
        assertEquals(2, a.elements(ALLOWED_KEY).size());
        assertTrue(r.status().inSync());
    }

    @Test
    void requiredOwnersComeFromTheConfigurationWithThePolicyAndTheVifsAsDefault() {
        assertEquals(java.util.Set.of(), new Settings("a", 5, 2).requiredOwners());
        DataplaneConfig c = Configs.of(DataplaneConfig.class); // the defaults, as DS gives them
        // "vif" is the vif manager's marker: its first pass's elements are recorded (see VifReconciler)
        assertEquals(java.util.Set.of("policy", "vif"), Settings.of(c).requiredOwners());
    }
}
