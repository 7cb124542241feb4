package org.netvm.firewall.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.netvm.dataplane.Contribution;
import org.netvm.dataplane.IpAddress;
import org.netvm.dataplane.Rule;
import org.netvm.dataplane.Verdict;
import org.netvm.firewall.FirewallStatus;
import org.netvm.testing.config.Configs;
import org.netvm.testing.dataplane.FakeDataplane;
import org.netvm.testing.log.Loggers;
import org.netvm.testing.xenstore.FakeXenStore;

/** The component with fake xenstore, dataplane, tasks and conntrack: what it puts, when, and what it writes. */
class FirewallComponentTest {
    private static final long NOW = 1_800_000_000L;
    private static final String ALLOW_443 = "action=accept proto=tcp dstports=443 dst4=192.168.1.0/24";

    private final FakeXenStore xs = new FakeXenStore();
    private final FakeDataplane dataplane = new FakeDataplane(); // every stage completes at once
    private final List<String> calls = new CopyOnWriteArrayList<>();
    {
        // the test sets values quietly (put) and signals a change as the toolstack's write does (signal);
        // what the component writes fires nothing
        xs.fireWatches(false);
        dataplane.trace(calls);
    }
    private final ManualTasks tasks = new ManualTasks();
    private final List<String> log = new ArrayList<>();

    private final AtomicLong millis = new AtomicLong(NOW * 1000);
    private final List<String> lookups = new CopyOnWriteArrayList<>();

    private FirewallComponent start(boolean enabledByConfig) {
        Clock clock = new Clock() {
            @Override
            public long millis() {
                return millis.get();
            }

            @Override
            public Instant instant() {
                return Instant.ofEpochMilli(millis.get());
            }

            @Override
            public ZoneId getZone() {
                return ZoneOffset.UTC;
            }

            @Override
            public Clock withZone(ZoneId zone) {
                throw new UnsupportedOperationException();
            }
        };
        FirewallComponent c = new FirewallComponent(dataplane, xs, Loggers.recording(log), tasks, name -> {
            lookups.add(name);
            return List.of(IpAddress.of("192.0.2." + lookups.size()));
        }, new NoConntrack(), clock, Configs.of(FirewallComponent.Config.class, "enabled", enabledByConfig));
        tasks.runNow();
        return c;
    }

    private void guest(int domid, String ip) {
        xs.put("backend/vif/" + domid + "/0/ip", ip);
    }

    private void rules(int domid, String policy, String... rules) {
        xs.put("qubes-firewall/" + domid + "/policy", policy);
        for (int i = 0; i < rules.length; i++) {
            xs.put(String.format("qubes-firewall/%d/%04d", domid, i), rules[i]);
        }
    }

    /** Sets a value and fires the watches above it, as the toolstack's write would. */
    private void signal(String path, String value) {
        xs.put(path, value);
        xs.fire(path);
    }

    /** The verdicts of the guest's own chain, in order. */
    private List<Verdict> chain(int domid) {
        Contribution c = dataplane.contributions().get("firewall/" + domid);
        assertNotNull(c, "no contribution for domain " + domid);
        return c.rules().stream().filter(r -> r.chain().name().equals("fw-" + domid)).map(Rule::verdict).toList();
    }

    /** The guest's elements in the key sets, as text. */
    private List<String> elements(int domid) {
        return dataplane.contributions().get("firewall/" + domid).elements().values().stream()
                .flatMap(java.util.Collection::stream).map(Object::toString).sorted().toList();
    }

    private boolean blocked(int domid) {
        return chain(domid).equals(List.of(Verdict.reject(Verdict.RejectType.ADMIN_PROHIBITED)));
    }

    private Optional<String> handled(int domid) throws Exception {
        return xs.readIfExists("qubes-firewall-handled/" + domid);
    }

    @Test
    void appliesEverySetPresentAtStart() throws Exception {
        xs.put("qubes-service/qubes-firewall", "1");
        guest(3, "10.137.0.5");
        rules(3, "drop", ALLOW_443);
        guest(4, "10.137.0.6");
        rules(4, "accept");
        start(false);
        assertTrue(dataplane.contributions().containsKey("firewall"), "the fail-closed catch-all");
        assertEquals(List.of(Verdict.ACCEPT, Verdict.reject(Verdict.RejectType.ADMIN_PROHIBITED)), chain(3));
        assertEquals(List.of(Verdict.ACCEPT), chain(4));
        assertEquals(Optional.of("1"), handled(3));
        assertEquals(Optional.of("1"), handled(4));
    }

    @Test
    void actsOnTheDoneSignalOnly() throws Exception {
        guest(3, "10.137.0.5");
        start(true);
        assertTrue(blocked(3), "no rule set yet: blocked");
        signal("qubes-firewall/3/policy", "accept");
        signal("qubes-firewall/3/0000", ALLOW_443);
        tasks.runNow();
        assertTrue(blocked(3), "a half-written set is not applied");
        assertEquals(Optional.empty(), handled(3));
        signal("qubes-firewall/3", "");
        tasks.runNow();
        assertEquals(List.of(Verdict.ACCEPT, Verdict.ACCEPT), chain(3));
        assertEquals(Optional.of("1"), handled(3));
    }

    @Test
    void doneSignalsInABurstAreEachApplied() throws Exception {
        guest(3, "10.137.0.5");
        guest(4, "10.137.0.6");
        guest(5, "10.137.0.7");
        start(true);
        rules(3, "accept", ALLOW_443);
        rules(4, "drop", ALLOW_443);
        rules(5, "accept");
        // three signals before the reconciler thread runs once (a toolstack starting many guests)
        signal("qubes-firewall/3", "");
        signal("qubes-firewall/4", "");
        signal("qubes-firewall/5", "");
        tasks.runNow();
        assertEquals(Optional.of("1"), handled(3));
        assertEquals(Optional.of("1"), handled(4));
        assertEquals(Optional.of("1"), handled(5));
        assertEquals(List.of(Verdict.ACCEPT), chain(5));
    }

    @Test
    void everySignalCountsOneMoreEvenWithoutChange() throws Exception {
        guest(3, "10.137.0.5");
        rules(3, "drop", ALLOW_443);
        xs.put("qubes-firewall-handled/3", "41");
        start(true);
        assertEquals(Optional.of("42"), handled(3));
        Contribution before = dataplane.contributions().get("firewall/3");
        signal("qubes-firewall/3", "");
        tasks.runNow();
        assertEquals(Optional.of("43"), handled(3));
        assertEquals(before, dataplane.contributions().get("firewall/3"));
    }

    @Test
    void failsClosedForAGuestWithoutACompleteSet() {
        guest(3, "10.137.0.5");
        FirewallComponent c = start(true);
        assertTrue(blocked(3));
        assertEquals(List.of(new FirewallStatus.Blocked(3, "no rule set")), c.snapshot().blocked());
        Contribution closed = dataplane.contributions().get("firewall");
        assertEquals(List.of(Verdict.reject(Verdict.RejectType.ADMIN_PROHIBITED)),
                closed.rules().stream().map(Rule::verdict).toList());
        assertEquals(Rule.LAST - 1, closed.rules().getFirst().order());
    }

    @Test
    void disablingRemovesEveryContribution() {
        xs.put("qubes-service/qubes-firewall", "1");
        guest(3, "10.137.0.5");
        rules(3, "accept");
        FirewallComponent c = start(false);
        assertEquals(List.of("firewall", "firewall/3", "firewall/dispatch", "firewall/dns"), List.copyOf(new TreeSet<>(dataplane.contributions().keySet())));
        signal("qubes-service/qubes-firewall", "0");
        tasks.runNow();
        assertEquals(FirewallStatus.Snapshot.DISABLED, c.snapshot());
        assertTrue(dataplane.contributions().isEmpty(), dataplane.contributions().keySet().toString());
        assertTrue(calls.containsAll(List.of("remove firewall/dispatch", "remove firewall/3", "remove firewall/dns",
                "remove firewall")));
    }

    @Test
    void disabledWithdrawsOnceAndThenLeavesTheDataplaneAlone() {
        guest(3, "10.137.0.5");
        start(false);
        assertTrue(calls.containsAll(List.of("remove firewall/dispatch", "remove firewall/dns", "remove firewall")),
                "a new instance withdraws what an earlier one may have left: " + calls);
        int before = calls.size();
        signal("backend/vif/4/0/ip", "10.137.0.6"); // a guest's vif keys, as in a netvm without the service
        tasks.runNow();
        signal("backend/vif/5/0/ip", "10.137.0.7");
        tasks.runNow();
        assertEquals(before, calls.size(), "nothing put or removed while disabled: " + calls.subList(before, calls.size()));
        signal("qubes-service/qubes-firewall", "1");
        tasks.runNow();
        assertTrue(dataplane.contributions().containsKey("firewall/4"), "enabling plans every guest seen meanwhile");
        assertTrue(dataplane.contributions().containsKey("firewall/5"));
        signal("qubes-service/qubes-firewall", "0");
        tasks.runNow();
        assertTrue(dataplane.contributions().isEmpty(), "disabling again withdraws again: " + dataplane.contributions().keySet());
    }

    @Test
    void hostileTextBlocksOnlyThatGuest() throws Exception {
        guest(3, "10.137.0.5");
        rules(3, "accept", "action=accept dst4=1.2.3.4;$(reboot) proto=tcp");
        guest(4, "10.137.0.6");
        rules(4, "drop", ALLOW_443);
        FirewallComponent c = start(true);
        assertTrue(blocked(3));
        assertEquals(List.of(Verdict.ACCEPT, Verdict.reject(Verdict.RejectType.ADMIN_PROHIBITED)), chain(4));
        FirewallStatus.Snapshot s = c.snapshot();
        assertTrue(s.enabled());
        assertEquals(2, s.guests());
        assertEquals(1, s.blocked().size(), s.toString());
        assertEquals(3, s.blocked().getFirst().domid());
        assertTrue(s.blocked().getFirst().reason().contains("dst4"), s.toString());
        assertTrue(log.stream().anyMatch(l -> l.startsWith("ERROR firewall of domain")), log.toString());
        assertEquals(Optional.of("1"), handled(3), "the toolstack still hears back");
        assertFalse(blocked(4));
    }

    /** Runs tasks until {@code done} holds (names resolve on threads of their own). */
    private void runUntil(java.util.function.BooleanSupplier done) throws InterruptedException {
        for (int i = 0; i < 200 && !done.getAsBoolean(); i++) {
            tasks.runNow();
            Thread.sleep(10);
        }
        tasks.runNow();
        assertTrue(done.getAsBoolean());
    }

    @Test
    void newDnsServersChangeOnlyTheDnsSetsAndReresolveNames() throws Exception {
        guest(3, "10.137.0.5");
        rules(3, "drop", "action=accept specialtarget=dns");
        guest(4, "10.137.0.6");
        rules(4, "drop", "action=accept proto=tcp dsthost=updates.example");
        FirewallComponent c = start(true);
        runUntil(() -> dataplane.contributions().containsKey("firewall/4"));
        assertEquals(List.of(Verdict.ACCEPT, Verdict.ACCEPT, Verdict.reject(Verdict.RejectType.ADMIN_PROHIBITED)),
                chain(3), "tcp and udp 53 to the IPv4 DNS set (an IPv4-only guest)");
        assertTrue(calls.indexOf("put firewall/dns") < calls.indexOf("put firewall/3"), calls.toString());
        assertEquals(List.of(), dnsServers(), "no DNS server yet: empty sets, the lookups match nothing");
        assertEquals(List.of("updates.example"), lookups);
        Contribution guest3 = dataplane.contributions().get("firewall/3");
        calls.clear();

        c.upstreams(List.of(java.net.InetAddress.getByName("192.168.0.1"), java.net.InetAddress.getByName("fd00::53")));
        tasks.runNow();

        assertEquals("put firewall/dns", calls.getFirst(), "without waiting for a pass");
        assertFalse(calls.contains("put firewall/3"), "a guest without names is not re-planned: " + calls);
        assertEquals(List.of("192.168.0.1", "fd00::53"), dnsServers());
        assertTrue(guest3 == dataplane.contributions().get("firewall/3"), "guest 3 untouched");
        runUntil(() -> lookups.size() == 2);
        runUntil(() -> dataplane.contributions().get("firewall/4").toString().contains("192.0.2.2"));
        calls.clear();
        c.upstreams(List.of(java.net.InetAddress.getByName("192.168.0.1"), java.net.InetAddress.getByName("fd00::53")));
        tasks.runNow();
        assertEquals(List.of(), calls, "the same servers again: nothing");
    }

    /** The elements of the DNS servers' sets, as text. */
    private List<String> dnsServers() {
        return dataplane.contributions().get(FirewallPlanner.DNS_OWNER).elements().values().stream()
                .flatMap(java.util.Collection::stream).map(Object::toString).sorted().toList();
    }

    @Test
    void anExpiredRuleDisappearsWithinAPass() throws Exception {
        guest(3, "10.137.0.5");
        rules(3, "drop", "action=accept proto=tcp dstports=22 expire=" + (NOW + 5), ALLOW_443);
        start(true);
        assertEquals(2, elements(3).size(), "both rules, one key set lookup");
        millis.addAndGet(4000);
        tasks.runLater();
        assertEquals(2, elements(3).size(), "not yet");
        millis.addAndGet(1000);
        tasks.runLater();
        assertEquals(List.of(Verdict.ACCEPT, Verdict.reject(Verdict.RejectType.ADMIN_PROHIBITED)), chain(3));
        assertEquals(List.of(), elements(3), "the one rule left is a plain rule");
    }

    /** No tracked flows. */
    private static final class NoConntrack implements Conntrack {
        @Override
        public int delete(List<IpAddress> sources, java.util.function.Predicate<Flow> which) {
            return 0;
        }
    }
}
