package org.netvm.dataplane;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ValidationTest {

    @ParameterizedTest
    @ValueSource(strings = {"vif3.0", "vif*", "eth0", "a", "br-lan_1", "abcdefghijklmno"})
    void acceptsInterfaceNames(String name) {
        assertEquals(name, Match.iifname(name).name());
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "*", "v*f", "**", "abcdefghijklmnop", "eth 0", "eth0\"", "eth0;", "ä", ".", ".."})
    void refusesBadInterfaceNames(String name) {
        var e = assertThrows(IllegalArgumentException.class, () -> Match.iifname(name));
        assertTrue(e.getMessage().contains("interface name"), e.getMessage());
    }

    @Test
    void setElementsTakeNoWildcard() {
        assertThrows(IllegalArgumentException.class, () -> SetElement.of("vif*", "10.0.0.1"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "1abc", "-x", "a.b", "a b", "abcdefghijabcdefghijabcdefghijab", "x\n"})
    void refusesBadChainAndSetNames(String name) {
        assertThrows(IllegalArgumentException.class, () -> Chain.regular(Family.INET, name));
        assertThrows(IllegalArgumentException.class, () -> SetRef.of(Family.INET, name));
        assertThrows(IllegalArgumentException.class, () -> Verdict.jump(name));
    }

    /** A chain named {@code fwd} once made a whole nft transaction fail: nft keywords are refused as names. */
    @ParameterizedTest
    @ValueSource(strings = {"fwd", "counter", "ip", "tcp", "meta", "set", "map", "dnat", "gc-interval", "last"})
    void refusesNftKeywordsAsChainAndSetNames(String name) {
        var e = assertThrows(IllegalArgumentException.class, () -> Chain.regular(Family.INET, name));
        assertTrue(e.getMessage().contains("is an nft keyword"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> NamedSet.of(Family.INET, name, SetType.IPV4_ADDR));
        assertThrows(IllegalArgumentException.class, () -> Verdict.jump(name));
        assertThrows(IllegalArgumentException.class, () -> Match.inSet(Match.SetKey.SOURCE_ADDRESS, name));
    }

    @ParameterizedTest
    @ValueSource(strings = {"fw-dispatch", "Fwd", "fwd1", "state", "input", "forward", "allowed", "custom-forward"})
    void acceptsNamesThatOnlyLookLikeKeywords(String name) {
        assertEquals(name, Chain.regular(Family.INET, name).name());
    }

    @Test
    void acceptsLongestChainName() {
        assertEquals(31, Chain.regular(Family.INET, "a".repeat(31)).name().length());
    }

    @ParameterizedTest
    @ValueSource(ints = {0, -1, 65536, 100000})
    void refusesBadPorts(int port) {
        var e = assertThrows(IllegalArgumentException.class, () -> Match.dport(Match.Protocol.UDP, port));
        assertTrue(e.getMessage().contains("1..65535"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Verdict.dnat("10.0.0.1", port == 0 ? -1 : port));
    }

    @Test
    void portsOnlyForTcpAndUdp() {
        assertThrows(IllegalArgumentException.class, () -> Match.dport(Match.Protocol.ICMP, 1));
        assertEquals(65535, Match.dport(Match.Protocol.TCP, 65535).first());
    }

    @Test
    void canonicalisesAddresses() {
        assertEquals("10.137.0.5", IpAddress.of("10.137.0.5").text());
        assertEquals("fd09:24ef:4179::a89:5", IpAddress.of("FD09:24EF:4179:0:0:0:A89:5").text());
        assertEquals("::1", IpAddress.of("0:0:0:0:0:0:0:1").text());
        assertEquals("::", IpAddress.of("::").text());
        assertEquals("1:0:1::1", IpAddress.of("1:0:1:0:0:0:0:1").text());
        assertEquals("2001:db8::1:0:0:1", IpAddress.of("2001:db8:0:0:1:0:0:1").text());
        assertEquals(IpAddress.of("fe80::1"), IpAddress.of("fe80:0::0001"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "10.0.0", "10.0.0.256", "010.0.0.1", "10.0.0.1.", "localhost", "1::2::3",
        "1:2:3:4:5:6:7:8:9", "fe80::1%eth0", "::ffff:1.2.3.4", "12345::", "1:2:3:4:5:6:7::8", " 10.0.0.1"})
    void refusesBadAddresses(String text) {
        assertThrows(IllegalArgumentException.class, () -> IpAddress.of(text));
    }

    @Test
    void prefixes() {
        assertEquals("10.137.0.0/16", IpPrefix.parse("10.137.0.0/16").toString());
        assertEquals("10.137.0.5", IpPrefix.parse("10.137.0.5/32").toString());
        assertEquals("fd09::/16", IpPrefix.parse("fd09::/16").toString());
        var e = assertThrows(IllegalArgumentException.class, () -> IpPrefix.parse("10.137.0.5/16"));
        assertTrue(e.getMessage().contains("host bits"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> IpPrefix.parse("10.0.0.0/33"));
        assertThrows(IllegalArgumentException.class, () -> IpPrefix.parse("10.0.0.0/"));
        assertThrows(IllegalArgumentException.class, () -> IpPrefix.parse("10.0.0.0/-1"));
    }

    @Test
    void chainsCheckHooks() {
        assertThrows(IllegalArgumentException.class,
                () -> Chain.nat(Family.IP, "x", Hook.FORWARD, Priority.DSTNAT));
        assertThrows(IllegalArgumentException.class,
                () -> Chain.base(Family.IP, "x", ChainType.ROUTE, Hook.INPUT, Priority.MANGLE, Policy.ACCEPT));
        assertThrows(IllegalArgumentException.class, () -> Priority.of(5000));
        assertEquals("dstnat", Priority.DSTNAT.standardName());
    }

    @Test
    void setsCheckFamily() {
        assertThrows(IllegalArgumentException.class, () -> NamedSet.of(Family.IP, "s", SetType.IPV6_ADDR));
        NamedSet.of(Family.INET, "s", SetType.IFNAME_IPV6_ADDR);
    }

    @Test
    void tcpResetNeedsTcp() {
        ChainRef in = ChainRef.of(Family.INET, "input");
        assertThrows(IllegalArgumentException.class, () -> Rule.in(in).reject(Verdict.RejectType.TCP_RESET));
        Rule.in(in).dport(Match.Protocol.TCP, 22).reject(Verdict.RejectType.TCP_RESET);
    }

    @Test
    void negation() {
        Match m = Match.iifname("vif*").not();
        assertEquals(new Match.Interface(Match.Direction.INPUT, "vif*", true), m);
        assertEquals(Match.iifname("vif*"), m.not());
    }

    @Test
    void ownerIds() {
        assertThrows(IllegalArgumentException.class, () -> Contribution.empty(""));
        assertThrows(IllegalArgumentException.class, () -> Contribution.empty("a b"));
        Contribution.empty("vif/vif3.0");
    }

    @Test
    void addressesOrderNumerically() {
        assertTrue(IpAddress.of("10.0.0.9").compareTo(IpAddress.of("10.0.0.10")) < 0);
        assertTrue(IpAddress.of("200.0.0.1").compareTo(IpAddress.of("10.0.0.1")) > 0);
        assertTrue(IpAddress.of("255.255.255.255").compareTo(IpAddress.of("0.0.0.0")) > 0);
        assertTrue(IpAddress.of("10.0.0.1").compareTo(IpAddress.of("::1")) < 0);
        assertTrue(IpAddress.of("fe80::1").compareTo(IpAddress.of("fe80::1:0")) < 0);
        assertEquals(0, IpAddress.of("10.1.2.3").compareTo(IpAddress.of("10.1.2.3")));
    }
}
