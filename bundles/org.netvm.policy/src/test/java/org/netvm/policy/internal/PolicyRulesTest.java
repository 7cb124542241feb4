package org.netvm.policy.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.netvm.dataplane.Match.CtState.ESTABLISHED;
import static org.netvm.dataplane.Match.CtState.INVALID;
import static org.netvm.dataplane.Match.CtState.NEW;
import static org.netvm.dataplane.Match.CtState.RELATED;
import static org.netvm.dataplane.Match.Protocol.ICMP;
import static org.netvm.dataplane.Match.Protocol.ICMPV6;
import static org.netvm.dataplane.Match.Protocol.TCP;
import static org.netvm.dataplane.Match.Protocol.UDP;

import java.util.List;

import org.junit.jupiter.api.Test;
import org.netvm.dataplane.Chain;
import org.netvm.dataplane.ChainType;
import org.netvm.dataplane.Contribution;
import org.netvm.dataplane.Family;
import org.netvm.dataplane.Hook;
import org.netvm.dataplane.IpAddress;
import org.netvm.dataplane.Plan;
import org.netvm.dataplane.Policy;
import org.netvm.dataplane.Priority;
import org.netvm.dataplane.Rule;
import org.netvm.dataplane.Verdict;
import org.netvm.policy.BasePolicy;
import org.netvm.policy.internal.PacketWalk.Packet;

class PolicyRulesTest {
    private static final String GUEST = "10.137.0.5";
    private static final String GUEST6 = "fd09:24ef:4179::a89:5";
    private static final String OTHER_GUEST = "10.137.0.6";
    private static final String NET = "10.137.0.2";
    private static final String OUT = "93.184.216.34";
    private static final Verdict REJECT = Verdict.reject(Verdict.RejectType.HOST_PROHIBITED);

    private static Contribution guest(String vif, String... addresses) {
        Contribution.Builder b = Contribution.builder("vif/" + vif);
        BasePolicy.guestElements(vif, java.util.Arrays.stream(addresses).map(IpAddress::of).toList())
                .forEach(b::elements);
        return b.build();
    }

    private final Contribution policy = PolicyRules.contribution(PolicyRules.Options.DEFAULT);
    private final Plan plan = Plan.merge(policy, guest("vif3.0", GUEST, GUEST6), guest("vif4.0", OTHER_GUEST));
    private final PacketWalk walk = new PacketWalk(plan);

    private static Packet fromVif3(String src, String dst, org.netvm.dataplane.Match.Protocol p, int port,
            org.netvm.dataplane.Match.CtState ct) {
        return Packet.of("vif3.0", 2, src, dst, p, port, ct);
    }

    private static Packet fromUplink(String src, String dst, org.netvm.dataplane.Match.Protocol p, int port,
            org.netvm.dataplane.Match.CtState ct) {
        return Packet.of("eth0", 0, src, dst, p, port, ct);
    }

    @Test
    void isOneContributionOfOwnerPolicyWithTheQubesChains() {
        assertEquals("policy", policy.owner());
        assertEquals(BasePolicy.PRIORITY, policy.priority());
        assertEquals(new Chain.Base(ChainType.FILTER, Hook.PREROUTING, Priority.RAW, Policy.ACCEPT),
                plan.chain(PolicyRules.PREROUTING).orElseThrow().base());
        assertEquals(new Chain.Base(ChainType.FILTER, Hook.INPUT, Priority.FILTER, Policy.DROP),
                plan.chain(BasePolicy.INPUT).orElseThrow().base());
        assertEquals(new Chain.Base(ChainType.FILTER, Hook.FORWARD, Priority.FILTER, Policy.DROP),
                plan.chain(BasePolicy.FORWARD).orElseThrow().base());
        assertEquals(new Chain.Base(ChainType.NAT, Hook.POSTROUTING, Priority.SRCNAT, Policy.ACCEPT),
                plan.chain(PolicyRules.POSTROUTING).orElseThrow().base());
        assertEquals(Family.IP, PolicyRules.POSTROUTING.family());
        assertTrue(plan.chain(PolicyRules.POSTROUTING6).isPresent());
        assertFalse(plan.chain(PolicyRules.ANTISPOOF).orElseThrow().isBase());
        for (var set : List.of(BasePolicy.ALLOWED, BasePolicy.ALLOWED6, BasePolicy.DOWNSTREAM,
                BasePolicy.DOWNSTREAM6)) {
            assertTrue(plan.set(set).isPresent(), set.toString());
        }
    }

    @Test
    void userChainsAreEmptyAndJumpedToFirst() {
        assertFalse(plan.chain(BasePolicy.CUSTOM_INPUT).orElseThrow().isBase());
        assertFalse(plan.chain(BasePolicy.CUSTOM_FORWARD).orElseThrow().isBase());
        assertTrue(plan.rules(BasePolicy.CUSTOM_INPUT).isEmpty());
        assertTrue(plan.rules(BasePolicy.CUSTOM_FORWARD).isEmpty());
        assertEquals(Verdict.jump("custom-input"), plan.rules(BasePolicy.INPUT).getFirst().verdict());
        assertEquals(Verdict.jump("custom-forward"), plan.rules(BasePolicy.FORWARD).getFirst().verdict());
        // a user's accept in custom-forward wins over the isolation of guests, as in Qubes
        Plan user = Plan.merge(policy, Contribution.builder("user")
                .rule(Rule.in(BasePolicy.CUSTOM_FORWARD).iifname("eth0").dport(TCP, 22).accept()).build());
        assertEquals(Verdict.ACCEPT, new PacketWalk(user).verdict(BasePolicy.FORWARD,
                fromUplink(OUT, GUEST, TCP, 22, NEW).out("vif3.0", 2)));
    }

    @Test
    void antiSpoofAcceptsOnlyTheGuestsOwnAddressOnItsOwnVif() {
        assertEquals(Verdict.ACCEPT, walk.verdict(PolicyRules.PREROUTING, fromVif3(GUEST, OUT, TCP, 443, NEW)));
        assertEquals(Verdict.ACCEPT, walk.verdict(PolicyRules.PREROUTING, fromVif3(GUEST6, "2001:db8::1", TCP, 443, NEW)));
        // another guest's address, an arbitrary address, IPv6 the guest was not given
        assertEquals(Verdict.DROP, walk.verdict(PolicyRules.PREROUTING, fromVif3(OTHER_GUEST, OUT, TCP, 443, NEW)));
        assertEquals(Verdict.DROP, walk.verdict(PolicyRules.PREROUTING, fromVif3("10.137.0.99", OUT, UDP, 53, NEW)));
        assertEquals(Verdict.DROP, walk.verdict(PolicyRules.PREROUTING,
                Packet.of("vif4.0", 2, "fd09:24ef:4179::a89:6", "2001:db8::1", TCP, 80, NEW)));
        // an unknown vif (no elements yet: link up before the vif bundle added them) drops everything
        assertEquals(Verdict.DROP, walk.verdict(PolicyRules.PREROUTING,
                Packet.of("vif9.0", 2, GUEST, OUT, TCP, 80, NEW)));
        // guest addresses arriving on the uplink are spoofed; other uplink traffic passes
        assertEquals(Verdict.DROP, walk.verdict(PolicyRules.PREROUTING, fromUplink(GUEST, NET, TCP, 22, NEW)));
        assertEquals(Verdict.DROP, walk.verdict(PolicyRules.PREROUTING, fromUplink(GUEST6, "fe80::1", TCP, 22, NEW)));
        assertEquals(Verdict.ACCEPT, walk.verdict(PolicyRules.PREROUTING, fromUplink(OUT, "192.168.0.9", TCP, 22, NEW)));
    }

    @Test
    void inputFromVifsOnlyEstablishedAndIcmpNoOpenPorts() {
        assertEquals(Verdict.ACCEPT, walk.verdict(BasePolicy.INPUT, fromVif3(GUEST, NET, ICMP, 0, NEW)));
        assertEquals(Verdict.ACCEPT, walk.verdict(BasePolicy.INPUT, fromVif3(GUEST6, "fe80::fcff:ffff:feff:ffff", ICMPV6, 0, NEW)));
        assertEquals(Verdict.ACCEPT, walk.verdict(BasePolicy.INPUT, fromVif3(GUEST, NET, TCP, 40000, ESTABLISHED)));
        assertEquals(Verdict.ACCEPT, walk.verdict(BasePolicy.INPUT, fromVif3(GUEST, NET, UDP, 40000, RELATED)));
        assertEquals(REJECT, walk.verdict(BasePolicy.INPUT, fromVif3(GUEST, NET, TCP, 22, NEW)));
        assertEquals(REJECT, walk.verdict(BasePolicy.INPUT, fromVif3(GUEST, NET, UDP, 53, NEW)));
        assertEquals(Verdict.DROP, walk.verdict(BasePolicy.INPUT, fromVif3(GUEST, NET, UDP, 68, NEW)));
        assertEquals(Verdict.DROP, walk.verdict(BasePolicy.INPUT, fromVif3(GUEST, NET, UDP, 68, ESTABLISHED)));
        assertEquals(Verdict.DROP, walk.verdict(BasePolicy.INPUT, fromVif3(GUEST, NET, TCP, 22, INVALID)));
        assertEquals(Verdict.ACCEPT, walk.verdict(BasePolicy.INPUT, Packet.of("lo", 0, "127.0.0.1", "127.0.0.1", TCP, 22, NEW)));
    }

    @Test
    void inputFromUplinkEstablishedIcmpv6AndDhcpv6Only() {
        assertEquals(Verdict.ACCEPT, walk.verdict(BasePolicy.INPUT, fromUplink(OUT, "192.168.0.9", TCP, 50000, ESTABLISHED)));
        assertEquals(Verdict.ACCEPT, walk.verdict(BasePolicy.INPUT, fromUplink("fe80::1", "fe80::2", ICMPV6, 0, NEW)));
        assertEquals(Verdict.ACCEPT, walk.verdict(BasePolicy.INPUT, fromUplink("fe80::1", "fe80::2", UDP, 546, NEW)));
        assertEquals(Verdict.DROP, walk.verdict(BasePolicy.INPUT, fromUplink("2001:db8::1", "2001:db8::2", UDP, 546, NEW)));
        assertEquals(Verdict.DROP, walk.verdict(BasePolicy.INPUT, fromUplink(OUT, "192.168.0.9", ICMP, 0, NEW)));
        assertEquals(Verdict.DROP, walk.verdict(BasePolicy.INPUT, fromUplink(OUT, "192.168.0.9", TCP, 22, NEW)));
        assertEquals(Verdict.DROP, walk.verdict(BasePolicy.INPUT, fromUplink(OUT, "192.168.0.9", UDP, 68, NEW)));
        PacketWalk ping = new PacketWalk(Plan.merge(PolicyRules.contribution(new PolicyRules.Options(true, true))));
        assertEquals(Verdict.ACCEPT, ping.verdict(BasePolicy.INPUT, fromUplink(OUT, "192.168.0.9", ICMP, 0, NEW)));
        assertEquals(Verdict.DROP, ping.verdict(BasePolicy.INPUT, fromUplink(OUT, "192.168.0.9", TCP, 22, NEW)));
    }

    @Test
    void forwardLetsGuestsOutButNothingNewInAndNoGuestToGuest() {
        assertEquals(Verdict.ACCEPT, walk.verdict(BasePolicy.FORWARD, fromVif3(GUEST, OUT, TCP, 443, NEW).out("eth0", 0)));
        assertEquals(Verdict.ACCEPT, walk.verdict(BasePolicy.FORWARD,
                fromUplink(OUT, GUEST, TCP, 50000, ESTABLISHED).out("vif3.0", 2)));
        assertEquals(Verdict.DROP, walk.verdict(BasePolicy.FORWARD, fromUplink(OUT, GUEST, TCP, 22, NEW).out("vif3.0", 2)));
        assertEquals(Verdict.DROP, walk.verdict(BasePolicy.FORWARD,
                fromVif3(GUEST, OTHER_GUEST, TCP, 22, NEW).out("vif4.0", 2)));
        assertEquals(Verdict.DROP, walk.verdict(BasePolicy.FORWARD, fromVif3(GUEST, OUT, TCP, 443, INVALID).out("eth0", 0)));
        // not a guest's business: uplink to uplink routing (Qubes accepted it, netvm does not)
        assertEquals(Verdict.DROP, walk.verdict(BasePolicy.FORWARD, fromUplink(OUT, "10.0.0.1", TCP, 22, NEW).out("eth1", 0)));
    }

    /**
     * The chaos soak's "forged" datagrams (issue 15): while a guest's host route is absent (an agent or
     * xenstored restart with the store not yet repopulated, a vif torn down) conntrack still translates
     * the answers to its DNS queries and pings back to the guest's address, and the routing table sends
     * them out of the uplink again, with the netvm's DNS1/DNS2 or the upstream as source. Established
     * or not, nothing is forwarded that neither enters nor leaves through a guest's vif.
     */
    @Test
    void aReplyForAGuestWithoutRouteIsNotSentBackOutOfTheUplink() {
        assertEquals(Verdict.DROP, walk.verdict(BasePolicy.FORWARD,
                fromUplink("10.139.1.1", GUEST, UDP, 40002, ESTABLISHED).out("eth0", 0)));
        assertEquals(Verdict.DROP, walk.verdict(BasePolicy.FORWARD,
                fromUplink(OUT, GUEST, ICMP, 0, ESTABLISHED).out("eth0", 0)));
        assertEquals(Verdict.DROP, walk.verdict(BasePolicy.FORWARD,
                fromUplink(OUT, "10.0.0.1", TCP, 443, RELATED).out("eth1", 0)));
        // the guests' own flows stay as they were
        assertEquals(Verdict.ACCEPT, walk.verdict(BasePolicy.FORWARD,
                fromUplink(OUT, GUEST, UDP, 40002, ESTABLISHED).out("vif3.0", 2)));
        assertEquals(Verdict.ACCEPT, walk.verdict(BasePolicy.FORWARD,
                fromVif3(GUEST, OUT, UDP, 53, ESTABLISHED).out("eth0", 0)));
    }

    @Test
    void featureRulesLandBetweenEarlyRulesAndCatchAlls() {
        Contribution proxy = Contribution.builder("dns-proxy")
                .rule(Rule.in(BasePolicy.INPUT).iifgroup(2).dport(UDP, 53).accept())
                .rule(Rule.in(BasePolicy.FORWARD).iifname("vif3.0").daddr("198.51.100.0/24").drop()).build();
        PacketWalk w = new PacketWalk(Plan.merge(policy, proxy, guest("vif3.0", GUEST)));
        assertEquals(Verdict.ACCEPT, w.verdict(BasePolicy.INPUT, fromVif3(GUEST, NET, UDP, 53, NEW)));
        assertEquals(Verdict.DROP, w.verdict(BasePolicy.INPUT, fromVif3(GUEST, NET, UDP, 68, NEW)));
        assertEquals(Verdict.DROP, w.verdict(BasePolicy.FORWARD, fromVif3(GUEST, "198.51.100.7", TCP, 80, NEW).out("eth0", 0)));
        assertEquals(Verdict.ACCEPT, w.verdict(BasePolicy.FORWARD, fromVif3(GUEST, OUT, TCP, 80, NEW).out("eth0", 0)));
    }

    @Test
    void masqueradesWhatLeavesThroughNonVifInterfaces() {
        assertEquals(Verdict.MASQUERADE, walk.verdict(PolicyRules.POSTROUTING, fromVif3(GUEST, OUT, TCP, 443, NEW).out("eth0", 0)));
        assertEquals(Verdict.MASQUERADE, walk.verdict(PolicyRules.POSTROUTING6,
                fromVif3(GUEST6, "2001:db8::1", TCP, 443, NEW).out("eth0", 0)));
        assertEquals(Verdict.ACCEPT, walk.verdict(PolicyRules.POSTROUTING, fromUplink(OUT, GUEST, TCP, 22, ESTABLISHED).out("vif3.0", 2)));
        assertEquals(Verdict.ACCEPT, walk.verdict(PolicyRules.POSTROUTING, Packet.of("lo", 0, NET, NET, TCP, 1, NEW).out("lo", 0)));
        Plan no6 = Plan.merge(PolicyRules.contribution(new PolicyRules.Options(false, false)));
        assertFalse(no6.chain(PolicyRules.POSTROUTING6).isPresent());
    }

    /** Issue 11 part 3: without qubes-netvm-gateway6 every IPv6 packet but loopback's is dropped. */
    @Test
    void withoutIpv6AllIpv6ButLoopbackIsDroppedFirst() {
        PacketWalk no6 = new PacketWalk(Plan.merge(PolicyRules.contribution(new PolicyRules.Options(false, true, false)),
                guest("vif3.0", GUEST)));
        assertEquals(Verdict.DROP, no6.verdict(PolicyRules.PREROUTING, fromVif3(GUEST6, "2001:db8::1", TCP, 443, NEW)));
        assertEquals(Verdict.DROP, no6.verdict(PolicyRules.PREROUTING, fromUplink("fe80::1", "fe80::2", ICMPV6, 0, NEW)));
        assertEquals(Verdict.ACCEPT, no6.verdict(PolicyRules.PREROUTING, Packet.of("lo", 0, "::1", "::1", TCP, 22, NEW)));
        assertEquals(Verdict.ACCEPT, no6.verdict(PolicyRules.PREROUTING, fromUplink(OUT, GUEST, TCP, 50000, ESTABLISHED)));
        PacketWalk with6 = new PacketWalk(Plan.merge(PolicyRules.contribution(PolicyRules.Options.DEFAULT)));
        assertEquals(Verdict.ACCEPT, with6.verdict(PolicyRules.PREROUTING, fromUplink("fe80::1", "fe80::2", ICMPV6, 0, NEW)));
    }
}
