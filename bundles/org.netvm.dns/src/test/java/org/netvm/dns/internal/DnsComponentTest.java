package org.netvm.dns.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.netvm.dataplane.Contribution;
import org.netvm.dataplane.Rule;
import org.netvm.dataplane.Verdict;
import org.netvm.dns.NameserverSource;
import org.netvm.dns.internal.Fakes.FakeConntrackTable;
import org.netvm.dns.internal.Fakes.FakeSource;
import org.netvm.dns.internal.Fakes.ManualTasks;
import org.netvm.testing.config.Configs;
import org.netvm.testing.dataplane.FakeDataplane;
import org.netvm.testing.log.Loggers;
import org.netvm.testing.xenstore.FakeXenStore;
import org.osgi.framework.Constants;

class DnsComponentTest {
    private final FakeDataplane dataplane = Fakes.dataplane();
    private final FakeXenStore xenstore = Fakes.xenstore();
    private final ManualTasks tasks = new ManualTasks();
    private final List<String> logs = new ArrayList<>();
    private final FakeConntrackTable conntrack = new FakeConntrackTable();
    private long nextId = 1;

    private DnsComponent start() {
        DnsComponent c = new DnsComponent(dataplane, xenstore, Loggers.recording(logs), tasks,
                new StaleDnsFlows(() -> conntrack, Loggers.recording(logs)), Configs.of(DnsComponent.Config.class));
        tasks.runNow();
        return c;
    }

    private void bind(DnsComponent c, NameserverSource s, int ranking) {
        c.addSource(s, Map.of(Constants.SERVICE_RANKING, ranking, Constants.SERVICE_ID, nextId++));
        tasks.runNow();
    }

    /**
     * The last put as "virtual -> upstream|drop" lines, DNS1 first: an address with DNAT rules (UDP then
     * TCP, same target) in the nat chain, or with drop rules (UDP and TCP) in the guard chain, never both.
     */
    private List<String> mapping() {
        Contribution c = dataplane.last();
        java.util.Map<String, List<Rule>> byAddress = new java.util.LinkedHashMap<>();
        for (Rule r : c.rules()) {
            byAddress.computeIfAbsent(daddr(r), k -> new ArrayList<>()).add(r);
        }
        List<String> out = new ArrayList<>();
        byAddress.forEach((daddr, rules) -> {
            assertEquals(2, rules.size(), daddr + ": " + rules);
            assertEquals(rules.get(0).chain(), rules.get(1).chain());
            assertEquals(rules.get(0).verdict(), rules.get(1).verdict());
            if (rules.get(0).chain().equals(DnsRules.GUARD)) {
                assertEquals(Verdict.DROP, rules.get(0).verdict());
                out.add(daddr + " -> drop");
            } else {
                assertEquals(DnsRules.CHAIN, rules.get(0).chain());
                out.add(daddr + " -> " + ((Verdict.Dnat) rules.get(0).verdict()).address().text());
            }
        });
        return out;
    }

    private static String daddr(Rule r) {
        return ((org.netvm.dataplane.Match.Address) r.matches().getFirst()).prefix().toString();
    }

    /**
     * A change of upstreams: once the new mapping's put has completed (not before), a guest's flow to DNS1
     * that went to the old upstream is deleted; a flow to the current upstream and other traffic stay.
     */
    @Test
    void flowsToAnEarlierUpstreamAreCutOnceTheNewMappingIsInTheKernel() {
        DnsComponent c = start();
        FakeSource system = new FakeSource("192.168.0.1", "9.9.9.9");
        bind(c, system, NameserverSource.BUILTIN_RANKING);
        var old = Fakes.dnsFlow(17, "10.137.0.5", 40053, "10.139.1.1", "192.168.0.1");
        var kept = Fakes.dnsFlow(17, "10.137.0.5", 40054, "10.139.1.2", "9.9.9.9");
        conntrack.entries.addAll(List.of(old, kept));
        int deletesBefore = conntrack.deletes.size();

        dataplane.hold(true);
        system.set("192.168.0.2", "9.9.9.9");
        tasks.runNow();
        assertEquals(deletesBefore, conntrack.deletes.size(), "nothing cut before the put completed");
        dataplane.completeHeld();
        tasks.runNow();

        assertEquals(List.of(kept), conntrack.entries);
        assertEquals(List.of(Fakes.ips("10.139.1.1", "10.139.1.2")), conntrack.deletes.subList(deletesBefore,
                conntrack.deletes.size()));
    }

    /** A put that completes after a newer one was made cuts nothing: the newer one's completion decides. */
    @Test
    void anOutdatedCompletionCutsNothing() {
        DnsComponent c = start();
        FakeSource system = new FakeSource("192.168.0.1");
        bind(c, system, NameserverSource.BUILTIN_RANKING);
        int deletesBefore = conntrack.deletes.size();
        dataplane.hold(true);
        system.set("192.168.0.2");
        tasks.runNow();
        system.set("192.168.0.3");
        tasks.runNow();
        dataplane.completeHeld();
        tasks.runNow();
        assertEquals(1, conntrack.deletes.size() - deletesBefore, "only the latest mapping's cut");
    }

    @Test
    void withoutAnySourceQueriesAreDropped() {
        start();
        assertEquals(1, dataplane.puts().size());
        assertEquals(List.of("10.139.1.1 -> drop", "10.139.1.2 -> drop"), mapping());
    }

    @Test
    void followsTheSourceAndPutsOnlyWhenTheMappingChanged() {
        DnsComponent c = start();
        FakeSource system = new FakeSource("192.168.0.1", "9.9.9.9");
        bind(c, system, NameserverSource.BUILTIN_RANKING);
        assertEquals(List.of("10.139.1.1 -> 192.168.0.1", "10.139.1.2 -> 9.9.9.9"), mapping());
        int puts = dataplane.puts().size();

        system.set("192.168.0.1", "9.9.9.9"); // same list
        tasks.runNow();
        system.set("192.168.0.1", "9.9.9.9", "1.1.1.1"); // a third one changes nothing
        tasks.runNow();
        system.set("2620:fe::fe", "192.168.0.1", "9.9.9.9"); // neither does IPv6
        tasks.runNow();
        xenstore.fire(VirtualDns.PRIMARY_KEY); // nor a xenstore event without a change
        tasks.runNow();
        assertEquals(puts, dataplane.puts().size());

        system.set("192.168.0.1");
        tasks.runNow();
        assertEquals(puts + 1, dataplane.puts().size());
        assertEquals(List.of("10.139.1.1 -> 192.168.0.1", "10.139.1.2 -> 192.168.0.1"), mapping());

        system.set();
        tasks.runNow();
        assertEquals(List.of("10.139.1.1 -> drop", "10.139.1.2 -> drop"), mapping());
    }

    @Test
    void listenersHearTheUpstreamsAtOnceThenEveryChange() {
        DnsComponent c = start();
        List<List<java.net.InetAddress>> heard = new ArrayList<>();
        c.addListener(heard::add);
        tasks.runNow();
        assertEquals(List.of(List.of()), heard, "no source yet: queries dropped, no upstream");
        FakeSource system = new FakeSource("192.168.0.1", "9.9.9.9", "8.8.8.8");
        bind(c, system, 0);
        assertEquals(Fakes.ips("192.168.0.1", "9.9.9.9"), heard.getLast(), "the two DNS1/DNS2 go to");
        int calls = heard.size();
        system.set("192.168.0.1", "9.9.9.9");
        tasks.runNow();
        assertEquals(calls, heard.size(), "same upstreams: not told again");
        system.set("1.1.1.1");
        tasks.runNow();
        assertEquals(Fakes.ips("1.1.1.1"), heard.getLast());
        c.removeListener(heard::add);
    }

    @Test
    void manyChangesBeforeTheReconcilerRunsGiveOnePut() {
        DnsComponent c = start();
        FakeSource system = new FakeSource("192.168.0.1");
        bind(c, system, 0);
        int puts = dataplane.puts().size();
        for (int i = 1; i <= 50; i++) {
            system.set("10.0.0." + i);
        }
        tasks.runNow();
        assertEquals(puts + 1, dataplane.puts().size());
        assertEquals(List.of("10.139.1.1 -> 10.0.0.50", "10.139.1.2 -> 10.0.0.50"), mapping());
    }

    @Test
    void virtualDnsChangeInXenstoreGivesANewMapping() {
        DnsComponent c = start();
        bind(c, new FakeSource("192.168.0.1", "9.9.9.9"), 0);
        xenstore.put("qubes-netvm-primary-dns", "10.139.2.1");
        xenstore.put("qubes-netvm-secondary-dns", "10.139.2.2");
        xenstore.fire("qubes-netvm-primary-dns");
        tasks.runNow();
        assertEquals(List.of("10.139.2.1 -> 192.168.0.1", "10.139.2.2 -> 9.9.9.9"), mapping());

        xenstore.remove("qubes-netvm-secondary-dns"); // back to the default for DNS2
        xenstore.fire("qubes-netvm-secondary-dns");
        tasks.runNow();
        assertEquals(List.of("10.139.2.1 -> 192.168.0.1", "10.139.1.2 -> 9.9.9.9"), mapping());
    }

    @Test
    void aHostileVirtualDnsValueDropsQueriesUntilFixed() {
        DnsComponent c = start();
        bind(c, new FakeSource("192.168.0.1", "9.9.9.9"), 0);
        xenstore.put("qubes-netvm-secondary-dns", "10.139.1.2 9.9.9.9");
        xenstore.fire("qubes-netvm-secondary-dns");
        tasks.runNow();
        assertEquals(List.of("10.139.1.1 -> drop", "10.139.1.2 -> drop"), mapping());
        assertTrue(logs.stream().anyMatch(l -> l.startsWith("ERROR")), logs.toString());

        xenstore.put("qubes-netvm-secondary-dns", "10.139.1.3");
        xenstore.fire("qubes-netvm-secondary-dns");
        tasks.runNow();
        assertEquals(List.of("10.139.1.1 -> 192.168.0.1", "10.139.1.3 -> 9.9.9.9"), mapping());
    }

    @Test
    void aXenstoreReadFailureKeepsTheLastValuesAndRetries() {
        DnsComponent c = start();
        bind(c, new FakeSource("192.168.0.1"), 0);
        int puts = dataplane.puts().size();
        xenstore.failReads(true);
        xenstore.fire("qubes-netvm-primary-dns");
        tasks.runNow();
        assertEquals(puts, dataplane.puts().size());
        xenstore.failReads(false);
        xenstore.put("qubes-netvm-primary-dns", "10.139.3.3");
        tasks.runLater();
        assertEquals(List.of("10.139.3.3 -> 192.168.0.1", "10.139.1.2 -> 192.168.0.1"), mapping());
    }

    @Test
    void theHighestRankedSourceWinsEvenWhenEmptyAndHandsBackWhenGone() {
        DnsComponent c = start();
        FakeSource system = new FakeSource("192.168.0.1", "9.9.9.9");
        bind(c, system, NameserverSource.BUILTIN_RANKING);
        FakeSource vpn = new FakeSource("10.8.0.1");
        bind(c, vpn, 100);
        assertEquals(List.of("10.139.1.1 -> 10.8.0.1", "10.139.1.2 -> 10.8.0.1"), mapping());

        system.set("192.168.0.254"); // the lower one changing does not matter
        tasks.runNow();
        assertEquals(List.of("10.139.1.1 -> 10.8.0.1", "10.139.1.2 -> 10.8.0.1"), mapping());

        vpn.set(); // tunnel lost its servers: drop, never fall back to the uplink's
        tasks.runNow();
        assertEquals(List.of("10.139.1.1 -> drop", "10.139.1.2 -> drop"), mapping());

        c.removeSource(vpn);
        tasks.runNow();
        assertEquals(List.of("10.139.1.1 -> 192.168.0.254", "10.139.1.2 -> 192.168.0.254"), mapping());
        assertTrue(vpn.listeners.isEmpty());
    }

    @Test
    void aSourceChangingItsRankingTakesOverAndHandsBack() {
        DnsComponent c = start();
        bind(c, new FakeSource("192.168.0.1"), NameserverSource.BUILTIN_RANKING);
        FakeSource vpn = new FakeSource("10.8.0.1");
        bind(c, vpn, -2000);
        assertEquals(List.of("10.139.1.1 -> 192.168.0.1", "10.139.1.2 -> 192.168.0.1"), mapping());
        c.updatedSource(vpn, Map.of(Constants.SERVICE_RANKING, 100, Constants.SERVICE_ID, 2L));
        tasks.runNow();
        assertEquals(List.of("10.139.1.1 -> 10.8.0.1", "10.139.1.2 -> 10.8.0.1"), mapping());
        c.updatedSource(vpn, Map.of(Constants.SERVICE_RANKING, -2000, Constants.SERVICE_ID, 2L));
        tasks.runNow();
        assertEquals(List.of("10.139.1.1 -> 192.168.0.1", "10.139.1.2 -> 192.168.0.1"), mapping());
    }

    @Test
    void aFailingSourceCountsAsEmpty() {
        DnsComponent c = start();
        bind(c, new FakeSource("192.168.0.1"), 0);
        bind(c, new FakeSource() {
            @Override
            public List<java.net.InetAddress> nameservers() {
                throw new IllegalStateException("broken");
            }
        }, 5);
        assertEquals(List.of("10.139.1.1 -> drop", "10.139.1.2 -> drop"), mapping());
    }

    @Test
    void deactivationLeavesDropRules() {
        DnsComponent c = start();
        bind(c, new FakeSource("192.168.0.1"), 0);
        c.deactivate();
        assertEquals(List.of("10.139.1.1 -> drop", "10.139.1.2 -> drop"), mapping());
        assertTrue(xenstore.watchedPaths().isEmpty());
    }
}
