package org.netvm.backend.nftables.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.netvm.dataplane.Plan;
import org.junit.jupiter.api.Test;

/**
 * The rendered transactions, compared with src/test/resources/golden/*.nft. After an intended change,
 * regenerate with {@code -Dgolden.update=true} and review the diff. The kernel accepts every one of
 * these (see NftablesKernelTest).
 */
class NftRendererGoldenTest {
    private final NftRenderer renderer = new NftRenderer("netvm");

    static void assertGolden(String name, String actual) throws IOException {
        Path file = Path.of("src/test/resources/golden", name);
        if (Boolean.getBoolean("golden.update")) {
            Files.writeString(file, actual);
        }
        assertEquals(Files.readString(file), actual, "golden file " + file);
    }

    /** The expectation derived from the one before equals the one rendered whole, whatever changed. */
    @Test
    void anExpectationFromThePreviousOneEqualsOneRenderedWhole() {
        List<Plan> plans = List.of(QubesPlans.twoGuests(), QubesPlans.guestChanged(),
                QubesPlans.withDns(List.of("192.168.0.1")), QubesPlans.withDns(List.of("9.9.9.9", "192.168.0.1")),
                FirewallPlans.keySets(0), FirewallPlans.keySets(1), QubesPlans.withExtensionInCustomForward());
        for (Plan a : plans) {
            for (Plan b : plans) {
                assertEquals(renderer.expected(b), renderer.expected(a, renderer.expected(a), b), a + " -> " + b);
            }
        }
        // plans of an incremental merge share what did not change: only that is rendered again
        org.netvm.dataplane.IncrementalMerge merger = new org.netvm.dataplane.IncrementalMerge();
        List<List<org.netvm.dataplane.Contribution>> steps = List.of(
                List.of(QubesPlans.basePolicy(), QubesPlans.dns(List.of("192.168.0.1")),
                        QubesPlans.guest("vif3.0", "10.137.0.5", "fd09:24ef:4179::a89:5")),
                List.of(QubesPlans.basePolicy(), QubesPlans.dns(List.of("9.9.9.9")),
                        QubesPlans.guest("vif3.0", "10.137.0.5", "fd09:24ef:4179::a89:5")),
                List.of(QubesPlans.basePolicy(), QubesPlans.dns(List.of("9.9.9.9")),
                        QubesPlans.guest("vif3.0", "10.137.0.5", null), QubesPlans.guest("vif4.0", "10.137.0.6", null)),
                List.of(QubesPlans.basePolicy(), QubesPlans.dns(List.of("9.9.9.9")),
                        QubesPlans.guest("vif4.0", "10.137.0.6", null)));
        Plan before = null;
        java.util.Set<String> accepted = java.util.Set.of();
        for (List<org.netvm.dataplane.Contribution> step : steps) {
            Plan.Merge m = merger.update(step, accepted);
            accepted = m.merged().keySet();
            if (before != null) {
                assertEquals(renderer.expected(m.plan()), renderer.expected(before, renderer.expected(before), m.plan()));
            }
            before = m.plan();
        }
    }

    @Test
    void basePolicyWithTwoGuests() throws IOException {
        assertGolden("base-two-guests.nft", renderer.full(QubesPlans.twoGuests()));
    }

    @Test
    void dnsTwoUpstreams() throws IOException {
        assertGolden("dns-2-upstreams.nft", renderer.full(QubesPlans.withDns(List.of("192.168.0.1", "9.9.9.9"))));
    }

    @Test
    void dnsOneUpstream() throws IOException {
        assertGolden("dns-1-upstream.nft", renderer.full(QubesPlans.withDns(List.of("192.168.0.1"))));
    }

    @Test
    void dnsNoUpstreamDrops() throws IOException {
        assertGolden("dns-0-upstreams.nft", renderer.full(QubesPlans.withDns(List.of())));
    }

    @Test
    void userOwnedChainKeepsTheUsersRulesAfterNetvmsMarkedOnes() throws IOException {
        var customForward = org.netvm.dataplane.ChainRef.of(org.netvm.dataplane.Family.INET, "custom-forward");
        assertGolden("user-rules.nft", renderer.full(QubesPlans.withExtensionInCustomForward(), java.util.Map.of(
                customForward, List.of("tcp dport 22 counter packets 3 bytes 180 accept"))));
    }

    @Test
    void aChangeOfNetvmsRulesInAUserOwnedChainIsNoDelta() {
        org.junit.jupiter.api.Assertions.assertNull(
                renderer.delta(QubesPlans.twoGuests(), QubesPlans.withExtensionInCustomForward()));
    }

    @Test
    void setElementOnlyChange() throws IOException {
        assertGolden("guest-change-elements.nft",
                renderer.elementDelta(QubesPlans.twoGuests(), QubesPlans.guestChanged()));
    }

    @Test
    void aDnsChangeReplacesOnlyTheDnatChain() throws Exception {
        assertGolden("dns-2-to-1-upstream.delta.nft", renderer.delta(
                QubesPlans.withDns(List.of("192.168.0.1", "9.9.9.9")), QubesPlans.withDns(List.of("192.168.0.1"))));
    }

    @Test
    void firewallMatchesAndRejectAdminProhibited() throws IOException {
        assertGolden("firewall-reject.nft", renderer.full(FirewallPlans.rejecting()));
    }

    @Test
    void keySetsAndTheirLookups() throws IOException {
        assertGolden("keysets.nft", renderer.full(FirewallPlans.keySets(0)));
    }

    /** One guest's change: its sets added and deleted, its elements changed, its chain refilled; one transaction. */
    @Test
    void aGuestsChangeTouchesItsChainAndItsSetsOnly() throws IOException {
        assertGolden("keysets-change.delta.nft", renderer.delta(FirewallPlans.keySets(0), FirewallPlans.keySets(1)));
    }

    @Test
    void emptyPlanOnlyDeletesOwnTables() throws IOException {
        assertGolden("empty.nft", renderer.full(org.netvm.dataplane.Plan.EMPTY));
    }

    @Test
    void aDeltaFlushesAChainThatLostAllItsRulesAndFillsOneThatGotSome() {
        org.netvm.dataplane.Chain a = org.netvm.dataplane.Chain.regular(org.netvm.dataplane.Family.INET, "a");
        org.netvm.dataplane.Chain b = org.netvm.dataplane.Chain.regular(org.netvm.dataplane.Family.INET, "b");
        var before = org.netvm.dataplane.Plan.merge(org.netvm.dataplane.Contribution.builder("x").chain(a).chain(b)
                .rule(org.netvm.dataplane.Rule.in(org.netvm.dataplane.Family.INET, "a").accept()).build());
        var after = org.netvm.dataplane.Plan.merge(org.netvm.dataplane.Contribution.builder("x").chain(a).chain(b)
                .rule(org.netvm.dataplane.Rule.in(org.netvm.dataplane.Family.INET, "b").drop()).build());
        assertEquals("flush chain inet netvm a\nflush chain inet netvm b\nadd rule inet netvm b drop\n",
                renderer.delta(before, after));
        assertEquals("", renderer.delta(after, after));
    }
}
