package org.netvm.dns.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.netvm.dns.internal.Fakes.ips;

import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.netvm.dataplane.Chain;
import org.netvm.dataplane.ChainType;
import org.netvm.dataplane.Family;
import org.netvm.dataplane.Hook;
import org.netvm.dataplane.IpAddress;
import org.netvm.dataplane.Match;
import org.netvm.dataplane.Plan;
import org.netvm.dataplane.Policy;
import org.netvm.dataplane.Priority;
import org.netvm.dataplane.Rule;
import org.netvm.dataplane.Verdict;

class DnsMappingTest {
    private static final IpAddress DNS1 = IpAddress.of("10.139.1.1");
    private static final IpAddress DNS2 = IpAddress.of("10.139.1.2");
    private static final VirtualDns DEFAULTS = VirtualDns.defaults(DNS1, DNS2);

    private static List<String> map(String... upstreams) {
        return map(DEFAULTS, upstreams);
    }

    private static List<String> map(VirtualDns v, String... upstreams) {
        return DnsMapping.of(v, Upstreams.usable(ips(upstreams))).entries().stream().map(Object::toString).toList();
    }

    @Test
    void twoUpstreams() {
        assertEquals(List.of("10.139.1.1 -> 192.168.0.1", "10.139.1.2 -> 9.9.9.9"), map("192.168.0.1", "9.9.9.9"));
    }

    @Test
    void threeUpstreamsTheThirdIsIgnored() {
        assertEquals(List.of("10.139.1.1 -> 1.1.1.1", "10.139.1.2 -> 8.8.8.8"), map("1.1.1.1", "8.8.8.8", "9.9.9.9"));
    }

    @Test
    void oneUpstreamTakesBoth() {
        assertEquals(List.of("10.139.1.1 -> 192.168.0.1", "10.139.1.2 -> 192.168.0.1"), map("192.168.0.1"));
    }

    @Test
    void noUpstreamDropsBoth() {
        assertEquals(List.of("10.139.1.1 -> drop", "10.139.1.2 -> drop"), map());
        assertTrue(DnsMapping.of(DEFAULTS, List.of()).dropsAll());
    }

    @Test
    void ipv6OnlyUpstreamsDropBoth() {
        assertEquals(List.of("10.139.1.1 -> drop", "10.139.1.2 -> drop"), map("2620:fe::fe", "2001:4860:4860::8888"));
    }

    @Test
    void ipv6AndUnusableEntriesAreSkippedNotCounted() {
        assertEquals(List.of("10.139.1.1 -> 192.168.0.1", "10.139.1.2 -> 9.9.9.9"),
                map("2620:fe::fe", "127.0.0.53", "0.0.0.0", "224.0.0.251", "255.255.255.255", "192.168.0.1", "9.9.9.9"));
        // systemd-resolved's stub alone is no upstream
        assertEquals(List.of("10.139.1.1 -> drop", "10.139.1.2 -> drop"), map("127.0.0.53"));
    }

    @Test
    void duplicatesCountOnce() {
        assertEquals(List.of("10.139.1.1 -> 9.9.9.9", "10.139.1.2 -> 1.1.1.1"), map("9.9.9.9", "9.9.9.9", "1.1.1.1"));
        assertEquals(List.of("10.139.1.1 -> 9.9.9.9", "10.139.1.2 -> 9.9.9.9"), map("9.9.9.9", "9.9.9.9"));
    }

    @Test
    void badVirtualAddressesDropBoth() {
        VirtualDns bad = VirtualDns.of(Optional.of("10.139.1.1\n"), Optional.empty(), DNS1, DNS2);
        assertFalse(bad.valid());
        assertEquals(List.of("10.139.1.1 -> drop", "10.139.1.2 -> drop"), map(bad, "192.168.0.1", "9.9.9.9"));
    }

    @Test
    void equalVirtualAddressesGiveOneEntry() {
        VirtualDns same = VirtualDns.of(Optional.of("10.139.1.1"), Optional.of("10.139.1.1"), DNS1, DNS2);
        assertEquals(List.of("10.139.1.1 -> 192.168.0.1"), map(same, "192.168.0.1", "9.9.9.9"));
    }

    @Test
    void rulesAreUdpThenTcpPerVirtualAddressInOwnNatChainAndDropsInAFilterChainAtForward() {
        var c = DnsRules.contribution(DnsMapping.of(DEFAULTS, Upstreams.usable(ips("192.168.0.1", "9.9.9.9"))));
        assertEquals("dns", c.owner());
        assertEquals(List.of(Chain.nat(Family.IP, "dnat-dns", Hook.PREROUTING, Priority.DSTNAT),
                Chain.filter(Family.IP, "dns-guard", Hook.FORWARD, Priority.FILTER, Policy.ACCEPT)), c.chains());
        assertEquals(new Chain.Base(ChainType.NAT, Hook.PREROUTING, Priority.DSTNAT, Policy.ACCEPT),
                c.chains().getFirst().base());
        List<Rule> rules = Plan.merge(c).rules(DnsRules.CHAIN); // Plan validates families and chains
        assertEquals(List.of(
                rule("10.139.1.1", Match.Protocol.UDP, new Verdict.Dnat(IpAddress.of("192.168.0.1"), 0)),
                rule("10.139.1.1", Match.Protocol.TCP, new Verdict.Dnat(IpAddress.of("192.168.0.1"), 0)),
                rule("10.139.1.2", Match.Protocol.UDP, new Verdict.Dnat(IpAddress.of("9.9.9.9"), 0)),
                rule("10.139.1.2", Match.Protocol.TCP, new Verdict.Dnat(IpAddress.of("9.9.9.9"), 0))), rules);

        assertEquals(List.of(), Plan.merge(c).rules(DnsRules.GUARD),
                "nothing guarded while both are translated (a proxy's upstream may be the same address)");

        // no upstream: no DNAT (a nat table cannot drop on every backend), the guard drops them all
        var drop = DnsRules.contribution(DnsMapping.of(DEFAULTS, List.of()));
        assertEquals(List.of(
                guard("10.139.1.1", Match.Protocol.UDP), guard("10.139.1.1", Match.Protocol.TCP),
                guard("10.139.1.2", Match.Protocol.UDP), guard("10.139.1.2", Match.Protocol.TCP)), drop.rules());
    }

    private static Rule guard(String daddr, Match.Protocol p) {
        return new Rule(DnsRules.GUARD, Rule.DEFAULT, List.of(Match.daddr(daddr), Match.dport(p, 53)), false, Verdict.DROP);
    }

    private static Rule rule(String daddr, Match.Protocol p, Verdict v) {
        return new Rule(DnsRules.CHAIN, Rule.DEFAULT, List.of(Match.daddr(daddr), Match.dport(p, 53)), false, v);
    }
}
