package org.netvm.backend.nftables.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.StringReader;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import jakarta.json.Json;
import jakarta.json.JsonObject;
import jakarta.json.JsonValue;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.netvm.dataplane.BackendException;
import org.netvm.dataplane.Contribution;
import org.netvm.dataplane.Family;
import org.netvm.dataplane.IpAddress;
import org.netvm.dataplane.IpPrefix;
import org.netvm.dataplane.Match;
import org.netvm.dataplane.Plan;
import org.netvm.dataplane.SetElement;
import org.netvm.dataplane.SetType;
import org.netvm.testing.netns.Netns;
import org.netvm.util.SystemProcessRunner;

/**
 * Element changes over netlink ({@link NetlinkElements}, {@link NetfilterSocket}) against the real
 * kernel, in a throwaway namespace: the keys of all four set types land as nft shows them ({@code nft
 * -j list set}), deletions too, a refused batch changes nothing, and the backend's element-only changes
 * take this way while nft (libnftables, cache and all) still sees the result. Skipped unless root with
 * ip and nft.
 */
class NetlinkElementsKernelTest {
    private static Netns ns;
    private static NetfilterSocket socket;

    @BeforeAll
    static void setUp() throws IOException {
        assumeTrue(Netns.usable("nft"), "needs root, ip, nft");
        ns = Netns.create("nftnl");
        socket = NetfilterSocket.open(ns.name(), Duration.ofSeconds(10));
    }

    @AfterAll
    static void tearDown() throws IOException {
        if (socket != null) {
            socket.close();
        }
        if (ns != null) {
            ns.close();
        }
    }

    /** The elements of {@code family table set} as nft's JSON shows them ("vif3.0 . 10.0.0.1" for concatenations). */
    private static TreeSet<String> listed(String family, String table, String set) throws IOException {
        String json = ns.ok("nft", "-j", "list", "set", family, table, set);
        TreeSet<String> out = new TreeSet<>();
        for (JsonValue v : Json.createReader(new StringReader(json)).readObject().getJsonArray("nftables")) {
            JsonObject s = v.asJsonObject().getJsonObject("set");
            if (s == null || !s.containsKey("elem")) {
                continue;
            }
            for (JsonValue e : s.getJsonArray("elem")) {
                if (e.getValueType() == JsonValue.ValueType.STRING) {
                    out.add(((jakarta.json.JsonString) e).getString());
                } else {
                    List<String> parts = new ArrayList<>();
                    for (JsonValue p : e.asJsonObject().getJsonArray("concat")) {
                        parts.add(((jakarta.json.JsonString) p).getString());
                    }
                    out.add(String.join(" . ", parts));
                }
            }
        }
        return out;
    }

    private static Plan plan(String... guests) {
        Contribution.Builder g = Contribution.builder("guests");
        for (String guest : guests) {
            String[] f = guest.split(" ");
            g.element(QubesPlans.ALLOWED, SetElement.of(f[0], f[1])).element(QubesPlans.DOWNSTREAM, SetElement.of(f[1]));
            if (f.length > 2) {
                g.element(QubesPlans.ALLOWED6, SetElement.of(f[0], f[2])).element(QubesPlans.DOWNSTREAM6, SetElement.of(f[2]));
            }
        }
        return Plan.merge(QubesPlans.basePolicy(), g.build());
    }

    @Test
    void keysOfEveryTypeLandAsNftShowsThemAndDeletionsToo() throws Exception {
        ns.ok("nft", "add table ip nl4; add set ip nl4 a { type ipv4_addr; }; "
                + "add set ip nl4 b { type ifname . ipv4_addr; }; add table ip6 nl6; "
                + "add set ip6 nl6 a { type ipv6_addr; }; add set ip6 nl6 b { type ifname . ipv6_addr; }");
        var add = List.of(
                new SetElementBatch.Change(true, Family.IP, "nl4", "a",
                        SetType.IPV4_ADDR, List.of(SetElement.of("10.137.0.5"), SetElement.of("10.0.0.255"))),
                new SetElementBatch.Change(true, Family.IP, "nl4", "b",
                        SetType.IFNAME_IPV4_ADDR, List.of(SetElement.of("vif3.0", "10.137.0.5"),
                                SetElement.of("vif1234.15", "10.137.0.6"))),
                new SetElementBatch.Change(true, Family.IP6, "nl6", "a",
                        SetType.IPV6_ADDR, List.of(SetElement.of("fd09:24ef:4179::a89:5"))),
                new SetElementBatch.Change(true, Family.IP6, "nl6", "b",
                        SetType.IFNAME_IPV6_ADDR, List.of(SetElement.of("vif3.0", "fd09:24ef:4179::a89:5"))));
        assertEquals(List.of(0, 0, 0, 0), acks(add));
        assertEquals(new TreeSet<>(List.of("10.0.0.255", "10.137.0.5")), listed("ip", "nl4", "a"));
        assertEquals(new TreeSet<>(List.of("vif1234.15 . 10.137.0.6", "vif3.0 . 10.137.0.5")), listed("ip", "nl4", "b"));
        assertEquals(new TreeSet<>(List.of("fd09:24ef:4179::a89:5")), listed("ip6", "nl6", "a"));
        assertEquals(new TreeSet<>(List.of("vif3.0 . fd09:24ef:4179::a89:5")), listed("ip6", "nl6", "b"));
        // nft matches the same keys: deleting them by their text works
        ns.ok("nft", "delete element ip nl4 b { \"vif3.0\" . 10.137.0.5 }");
        assertEquals(new TreeSet<>(List.of("vif1234.15 . 10.137.0.6")), listed("ip", "nl4", "b"));

        var del = List.of(new SetElementBatch.Change(false, Family.IP, "nl4", "a",
                SetType.IPV4_ADDR, List.of(SetElement.of("10.0.0.255"))));
        assertEquals(List.of(0), acks(del));
        assertEquals(new TreeSet<>(List.of("10.137.0.5")), listed("ip", "nl4", "a"));
        // one refused message (a missing element) refuses the whole batch
        var mixed = List.of(new SetElementBatch.Change(true, Family.IP, "nl4", "a",
                        SetType.IPV4_ADDR, List.of(SetElement.of("10.9.9.9"))),
                new SetElementBatch.Change(false, Family.IP, "nl4", "a",
                        SetType.IPV4_ADDR, List.of(SetElement.of("10.0.0.255"))));
        assertEquals(2, acks(mixed).get(1)); // ENOENT
        assertEquals(new TreeSet<>(List.of("10.137.0.5")), listed("ip", "nl4", "a"));
        ns.ok("nft", "delete table ip nl4; delete table ip6 nl6");
    }

    /**
     * Key tuples (interval concatenations): sent over netlink, the set lists exactly as a twin set that nft
     * filled with the same elements from their text, and nft deletes them by their text; netlink deletes what
     * nft added.
     */
    @Test
    void keyTuplesLandAsNftWritesThemAndDeletionsToo() throws Exception {
        String decl = "flags interval; }; ";
        ns.ok("nft", "add table inet kt; "
                + "add set inet kt n4p { type ipv4_addr . ipv4_addr . inet_proto . inet_service; " + decl
                + "add set inet kt t4p { type ipv4_addr . ipv4_addr . inet_proto . inet_service; " + decl
                + "add set inet kt n6 { type ipv6_addr . ipv6_addr . inet_proto; " + decl
                + "add set inet kt t6 { type ipv6_addr . ipv6_addr . inet_proto; " + decl);
        IpAddress g = IpAddress.of("10.137.0.5");
        IpAddress g6 = IpAddress.of("fd09::5");
        List<SetElement> v4 = List.of(
                SetElement.key(g, IpPrefix.parse("192.168.1.0/24"), Match.Protocol.TCP, 443, 443),
                SetElement.key(g, IpPrefix.parse("0.0.0.0/0"), Match.Protocol.TCP, 8001, 8080),
                SetElement.key(g, IpPrefix.parse("10.20.1.1"), Match.Protocol.UDP, 123, 123),
                SetElement.key(IpAddress.of("10.137.0.6"), IpPrefix.parse("0.0.0.0/0"), Match.Protocol.TCP, 0, 65535));
        List<SetElement> v6 = List.of(
                SetElement.key(g6, IpPrefix.parse("2001:db8::/32"), null),
                SetElement.key(g6, IpPrefix.parse("fd97::1"), Match.Protocol.ICMPV6));
        java.util.function.Function<SetElement, String> t4 = e -> NftRenderer.element(e, SetType.IPV4_SRC_DST_PROTO_PORT);
        java.util.function.Function<SetElement, String> t6 = e -> NftRenderer.element(e, SetType.IPV6_SRC_DST_PROTO);
        ns.ok("nft", "add element inet kt t4p { " + String.join(", ", v4.stream().map(t4).toList()) + " }; "
                + "add element inet kt t6 { " + String.join(", ", v6.stream().map(t6).toList()) + " }");
        assertEquals(List.of(0, 0), acks(List.of(
                new SetElementBatch.Change(true, Family.INET, "kt", "n4p", SetType.IPV4_SRC_DST_PROTO_PORT, v4),
                new SetElementBatch.Change(true, Family.INET, "kt", "n6", SetType.IPV6_SRC_DST_PROTO, v6))));
        assertEquals(elementsOf("t4p"), elementsOf("n4p"));
        assertEquals(elementsOf("t6"), elementsOf("n6"));
        assertTrue(elementsOf("n4p").contains("8001-8080"), elementsOf("n4p"));
        // a guest's change: the old range out, an overlapping new one in, in one batch
        SetElement moved = SetElement.key(g, IpPrefix.parse("0.0.0.0/0"), Match.Protocol.TCP, 8002, 8080);
        assertEquals(List.of(0, 0), acks(List.of(
                new SetElementBatch.Change(false, Family.INET, "kt", "n4p", SetType.IPV4_SRC_DST_PROTO_PORT,
                        List.of(v4.get(1))),
                new SetElementBatch.Change(true, Family.INET, "kt", "n4p", SetType.IPV4_SRC_DST_PROTO_PORT,
                        List.of(moved)))));
        ns.ok("nft", "delete element inet kt t4p { " + t4.apply(v4.get(1)) + " }; add element inet kt t4p { "
                + t4.apply(moved) + " }");
        assertEquals(elementsOf("t4p"), elementsOf("n4p"));
        // nft deletes by text what netlink added; netlink deletes what nft added
        ns.ok("nft", "delete element inet kt n6 { " + t6.apply(v6.get(0)) + " }");
        assertEquals(List.of(0), acks(List.of(new SetElementBatch.Change(false, Family.INET, "kt", "t6",
                SetType.IPV6_SRC_DST_PROTO, List.of(v6.get(0))))));
        assertEquals(elementsOf("t6"), elementsOf("n6"));
        assertEquals(1, elementsOf("n6").split(",").length, elementsOf("n6"));
        ns.ok("nft", "delete table inet kt");
    }

    /** The elements of set {@code name} of table inet kt as nft lists them (the text between the braces). */
    private static String elementsOf(String name) throws IOException {
        String out = ns.ok("nft", "list set inet kt " + name);
        int open = out.indexOf("elements = {");
        return open < 0 ? "" : out.substring(open + 12, out.indexOf('}', open)).replaceAll("\\s+", " ").strip();
    }

    private static int seq = 1000;

    private static List<Integer> acks(List<SetElementBatch.Change> changes) throws IOException {
        int first = seq;
        seq += changes.size() + 2;
        var got = socket.exchange(SetElementBatch.encode(first, changes), first, first + changes.size() + 1,
                changes.size());
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < changes.size(); i++) {
            out.add(got.get(first + 1 + i));
        }
        return out;
    }

    @Test
    void theBackendSendsElementOnlyChangesOverNetlinkAndNftSeesThem() throws Exception {
        LibNftables lib = LibNftables.open(LibNftables.DEFAULT_LIBRARY, ns.name(), Duration.ofSeconds(10));
        NetfilterSocket own = NetfilterSocket.open(ns.name(), Duration.ofSeconds(10));
        int[] batches = {0};
        NetlinkElements.Transport counting = new NetlinkElements.Transport() {
            @Override
            public java.util.Map<Integer, Integer> exchange(byte[] d, int f, int l, int n) throws IOException {
                batches[0]++;
                return own.exchange(d, f, l, n);
            }

            @Override
            public void close() {
                own.close();
            }
        };
        NftablesBackend b = new NftablesBackend(new SystemProcessRunner(Duration.ofSeconds(30)), "nft", ns.name(),
                "nlb", lib, counting);
        try {
            b.apply(plan("vif3.0 10.137.0.5 fd09::5"));
            assertEquals(0, batches[0], "the first apply is nft's full transaction");
            Plan two = plan("vif3.0 10.137.0.5 fd09::5", "vif4.0 10.137.0.6");
            b.apply(two);
            assertEquals(1, batches[0]);
            assertEquals(List.of(), b.expected(two).diff(b.readBack()), "nft's read-back sees the netlink change");
            Plan other = plan("vif4.0 10.137.0.6", "vif5.0 10.137.0.7 fd09::7");
            b.apply(other);
            assertEquals(2, batches[0]);
            assertEquals(List.of(), b.expected(other).diff(b.readBack()));
            // drift: an element deleted by hand; the refused netlink delete falls back to the full transaction
            ns.ok("nft", "delete element inet nlb downstream { 10.137.0.7 }");
            Plan back = plan("vif4.0 10.137.0.6");
            b.apply(back);
            assertEquals(3, batches[0]);
            assertEquals(List.of(), b.expected(back).diff(b.readBack()));
        } finally {
            b.sweep();
            b.close();
        }
    }

    @Test
    void aBatchForAMissingTableIsRefused() {
        NetlinkElements e = new NetlinkElements(new NftRenderer("nomissing"), socket);
        Plan one = plan("vif3.0 10.137.0.5");
        Plan two = plan("vif3.0 10.137.0.5", "vif4.0 10.137.0.6");
        BackendException x = assertThrows(BackendException.class, () -> e.apply(one, two));
        assertTrue(x.getMessage().contains("refused"), x.getMessage());
    }
}
