package org.netvm.vif.internal;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Predicate;

import org.netvm.util.Reconciler;
import org.netvm.vif.internal.VifReconciler.Intent;

/**
 * What the event sources recorded for the next pass (any thread; guarded by the reconciler's lock):
 * dirty vifs and domains, "read everything again", a gateway change, the hotplug script's intents
 * and its waiters, and when the first unprogrammed event about a vif arrived.
 */
final class VifEvents {

    /**
     * A hotplug call waiting for its vif to be programmed (online) or removed (offline). {@code keys}: the
     * vif's xenstore keys as the calling thread read them right after recording the call (an online call
     * only; empty: no such directory), what the call is answered against when its vif is programmed already
     * or by the pass under way, instead of a read by the reconciler after that pass.
     */
    record Waiter(String vif, Intent intent, CompletableFuture<Outcome> result, Steps steps,
            CompletableFuture<Optional<XsEntry>> keys) {
    }

    /**
     * What one pass took. {@code intents}: the hotplug script's intent per vif as of the latest drain (a
     * read-only view the reconciler thread's later drains update; a vif's intent changes only with a call,
     * which also marks it dirty).
     */
    record Drained(boolean full, boolean gateway, Set<String> names, Set<String> domids, Map<String, Intent> intents) {
    }

    private final Reconciler loop;
    private boolean fullRequested;
    private boolean gatewayDirty;
    private final Set<String> dirtyNames = new HashSet<>();
    /** Of {@link #dirtyNames}: those an event other than a hotplug call marked since the last drain. */
    private final Set<String> eventDirty = new HashSet<>();
    private final Set<String> dirtyDomids = new HashSet<>();
    private final Map<String, Intent> intents = new HashMap<>();
    /** The intents as of the latest drain: changed there by the vifs whose intent changed since (not copied whole). */
    private final Map<String, Intent> drainedIntents = new HashMap<>();
    private final Map<String, Intent> drainedView = java.util.Collections.unmodifiableMap(drainedIntents);
    private final Set<String> intentsChanged = new HashSet<>();
    /** When the first unprogrammed event about a vif arrived (System.nanoTime), for the programming time. */
    private final Map<String, Long> firstEvent = new HashMap<>();
    private final List<Waiter> newWaiters = new ArrayList<>();
    /** Released by every hotplug call and by {@link #wake}: a periodic check waiting for its reads looks. */
    private final java.util.concurrent.Semaphore arrivals = new java.util.concurrent.Semaphore(0);

    VifEvents(Reconciler loop) {
        this.loop = loop;
    }

    void vifChanged(String name) {
        loop.record(() -> {
            dirtyNames.add(name);
            eventDirty.add(name);
            firstEvent.putIfAbsent(name, System.nanoTime());
        });
    }

    void domainChanged(String domid) {
        loop.record(() -> dirtyDomids.add(domid));
    }

    void requestFull() {
        loop.record(() -> fullRequested = true);
    }

    void gatewayChanged() {
        loop.record(() -> gatewayDirty = true);
    }

    /** Records the hotplug script's intent; see {@link VifReconciler#hotplug}. */
    Waiter hotplug(VifName vif, Intent intent, Steps steps) {
        Waiter w = new Waiter(vif.name(), intent, new CompletableFuture<>(), steps, new CompletableFuture<>());
        loop.record(() -> {
            steps.mark(Steps.Step.RECORDED);
            intents.put(vif.name(), intent);
            intentsChanged.add(vif.name());
            dirtyNames.add(vif.name());
            firstEvent.putIfAbsent(vif.name(), System.nanoTime());
            newWaiters.add(w);
        });
        arrivals.release();
        return w;
    }

    /** Wakes {@link #awaitArrival} (the reads it waits for are done). */
    void wake() {
        arrivals.release();
    }

    /** Waits up to {@code millis} for a hotplug call or a {@link #wake}; false if interrupted. */
    boolean awaitArrival(long millis) {
        try {
            arrivals.tryAcquire(millis, java.util.concurrent.TimeUnit.MILLISECONDS);
            arrivals.drainPermits();
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Whether a hotplug call arrived that no pass has taken yet. */
    boolean hotplugPending() {
        return loop.locked(() -> !newWaiters.isEmpty());
    }

    /** Takes what was recorded; the new waiters move to {@code waiters} (the pass's). */
    Drained drain(List<Waiter> waiters) {
        return loop.locked(() -> {
            for (String n : intentsChanged) {
                Intent i = intents.get(n);
                if (i == null) {
                    drainedIntents.remove(n);
                } else {
                    drainedIntents.put(n, i);
                }
            }
            intentsChanged.clear();
            Drained d = new Drained(fullRequested, gatewayDirty, new HashSet<>(dirtyNames), new HashSet<>(dirtyDomids),
                    drainedView);
            fullRequested = false;
            gatewayDirty = false;
            dirtyNames.clear();
            eventDirty.clear();
            dirtyDomids.clear();
            waiters.addAll(newWaiters);
            newWaiters.clear();
            return d;
        });
    }

    /** Keeps what a pass drained but could not use, for the retry. */
    void putBack(Drained d, boolean full) {
        loop.underLock(() -> {
            dirtyNames.addAll(d.names());
            eventDirty.addAll(d.names());
            dirtyDomids.addAll(d.domids());
            gatewayDirty |= d.gateway();
            fullRequested |= full;
        });
    }

    /** Marks vifs dirty again for the retry of a pass that could not read the kernel. */
    void retry(Set<String> names, boolean full) {
        loop.underLock(() -> {
            dirtyNames.addAll(names);
            eventDirty.addAll(names);
            fullRequested |= full;
        });
    }

    Long takeFirstEvent(String name) {
        return loop.locked(() -> firstEvent.remove(name));
    }

    boolean hasIntent(String name) {
        return loop.locked(() -> intents.containsKey(name));
    }

    /**
     * Drops the intents and first-event times of vifs that nobody waits for, that are not
     * {@code present} anywhere, and that are not dirty; among {@code scope} only (every vif if null).
     */
    void forget(Set<String> waited, Predicate<String> present, Set<String> scope) {
        loop.underLock(() -> {
            Set<String> all = new HashSet<>(waited);
            newWaiters.forEach(w -> all.add(w.vif()));
            Predicate<String> gone = n -> !all.contains(n) && !present.test(n) && !dirtyNames.contains(n);
            if (scope == null) {
                intents.keySet().removeIf(gone);
                drainedIntents.keySet().retainAll(intents.keySet());
                firstEvent.keySet().removeIf(gone);
                return;
            }
            for (String n : scope) {
                if (gone.test(n)) {
                    intents.remove(n);
                    intentsChanged.add(n);
                    firstEvent.remove(n);
                }
            }
        });
    }

    /** The online waiters no pass has taken yet, for vifs in {@code names} (they stay recorded). */
    List<Waiter> newOnlineWaiters(Set<String> names) {
        return loop.locked(() -> newWaiters.stream().filter(w -> w.intent() == Intent.ONLINE && names.contains(w.vif()))
                .toList());
    }

    /** Whether a record that concerns every vif (a gateway change, a full re-read) waits for a pass. */
    boolean everyVifPending() {
        return loop.locked(() -> fullRequested || gatewayDirty);
    }

    /**
     * Takes {@code w}, answered by the pass that was programming its vif, from the new waiters; false if a
     * pass took it meanwhile. The vif is no longer dirty when that call alone marked it: the answer read
     * its inputs afresh (a pass after it would only read them again, ~3-5 ms with 1 000 guests, that the
     * next call could wait behind); an event or another call about it since keeps it dirty.
     */
    boolean takeNewWaiter(Waiter w) {
        return loop.locked(() -> {
            if (!newWaiters.remove(w)) {
                return false;
            }
            if (!eventDirty.contains(w.vif()) && newWaiters.stream().noneMatch(o -> o.vif().equals(w.vif()))) {
                dirtyNames.remove(w.vif());
            }
            return true;
        });
    }

    /** Takes the waiters no pass has seen yet (the service stops). */
    List<Waiter> takeNewWaiters() {
        return loop.locked(() -> {
            List<Waiter> l = new ArrayList<>(newWaiters);
            newWaiters.clear();
            return l;
        });
    }
}
