package org.netvm.status.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.netvm.dataplane.Dataplane;
import org.netvm.firewall.FirewallStatus;
import org.netvm.vif.VifRegistry;

class StatusReportTest {

    private final Fakes.Rig rig = new Fakes.Rig();

    private static List<String> codes(StatusReport r) {
        return r.reasons().stream().map(StatusReport.Reason::code).toList();
    }

    @Test
    void aHealthyNetvmIsInSyncEvenWithAGuestWaitingForItsDevice() {
        StatusReport r = rig.report();
        assertTrue(r.inSync(), r.reasons().toString());
        assertEquals("in-sync", r.verdict());
        assertEquals("in-sync", r.verdictLine());
    }

    @Test
    void eachProblemIsAReasonToBeDegraded() {
        rig.xs.connected(false);
        rig.failVif4();
        rig.dataplane.status(new Dataplane.Status("iptables", "nftables",
                "requested but failed: switch from iptables to nftables failed: nft: not found; iptables stays in charge",
                List.of("iptables", "nftables"), false, null, Duration.ZERO, 0, 2, 0,
                "apply on iptables failed: iptables-restore: line 3 failed", 3, 0, 2));
        rig.vifs.counters = new VifRegistry.Counters(false, 1, 0, 0, null);
        StatusReport r = rig.report();
        assertFalse(r.inSync());
        assertEquals("degraded", r.verdict());
        assertEquals(List.of("xenstore-disconnected", "backend-out-of-sync", "last-apply-failed",
                "requested-backend-failed", "vifs-not-synced", "vifs-failed"), codes(r));
        assertEquals("not connected to xenstored at /run/netvm/xenstored/socket (reconnecting)",
                r.reasons().get(0).message());
        assertEquals("1 vif(s) failed: vif4.0", r.reasons().get(5).message());
        assertTrue(r.verdictLine().startsWith("degraded: xenstore-disconnected (not connected"), r.verdictLine());
    }

    @Test
    void aComponentThatRefusedItsConfigurationIsTheReasonConfigInvalid() {
        StatusReport healthy = rig.report();
        assertEquals(healthy, healthy.withConfigProblems(List.of()));
        StatusReport r = healthy.withConfigProblems(List.of("org.netvm.backend.nftables (PID org.netvm.backend.nftables): "
                + "table prefix must match ^[A-Za-z][A-Za-z0-9_-]{0,20}$: bad prefix"));
        assertEquals(List.of("config-invalid"), codes(r));
        assertEquals("1 component(s) refused their configuration: org.netvm.backend.nftables (PID org.netvm.backend.nftables): "
                + "table prefix must match ^[A-Za-z][A-Za-z0-9_-]{0,20}$: bad prefix (netvm config show; netvm config check)",
                r.reasons().get(0).message());
        assertTrue(r.verdictLine().startsWith("degraded: config-invalid ("), r.verdictLine());
    }

    @Test
    void guestsTheFirewallBlocksAreAReason() {
        rig.firewall = () -> new FirewallStatus.Snapshot(true, 3, List.of(new FirewallStatus.Blocked(2,
                "0000: unknown key 'x'"), new FirewallStatus.Blocked(5, "no rule set")));
        StatusReport r = rig.report();
        assertEquals(List.of("firewall-blocked"), codes(r));
        assertEquals("2 guest(s) blocked by the firewall: domain 2: 0000: unknown key 'x'; domain 5: no rule set",
                r.reasons().get(0).message());
        assertTrue(StatusJson.render(r, false).contains(
                "\"firewall\":{\"enabled\":true,\"guests\":3,\"blocked\":[{\"domid\":2,\"reason\":"),
                StatusJson.render(r, false));

        rig.firewall = () -> new FirewallStatus.Snapshot(true, 3, List.of());
        assertTrue(rig.report().inSync());
    }

    @Test
    void noActiveBackendAndMissingServicesAreReasons() {
        rig.dataplane.status(new Dataplane.Status(null, "nftables", "requested backend nftables is not registered",
                List.of(), false, null, Duration.ZERO, 0, 0, 0, null, 0, 0, 0));
        assertEquals(List.of("no-active-backend", "requested-backend-failed"), codes(rig.report()));
        assertEquals("no packet filter backend is in charge (requested nftables; available: none)",
                rig.report().reasons().get(0).message());

        StatusReport none = StatusReport.collect(Fakes.T0, null, null, null, null, null);
        assertEquals(List.of("xenstore-disconnected", "no-dataplane"), codes(none));
        assertEquals(null, none.vifCounters());
        assertEquals(List.of(), none.vifs());
    }

    @Test
    void droppedDnsIsAReasonToBeDegradedAndUnknownDnsIsNot() throws Exception {
        DnsUpstreams dns = new DnsUpstreams();
        StatusReport unknown = StatusReport.collect(rig.report().time(), rig.xs, null, rig.dataplane, rig.vifs, null,
                dns.last());
        assertTrue(unknown.inSync(), unknown.reasons().toString());
        dns.upstreams(List.of());
        StatusReport dropped = StatusReport.collect(rig.report().time(), rig.xs, null, rig.dataplane, rig.vifs, null,
                dns.last());
        assertEquals(List.of("dns-no-upstream"), codes(dropped));
        dns.upstreams(List.of(java.net.InetAddress.getByName("192.0.2.53")));
        StatusReport answered = StatusReport.collect(rig.report().time(), rig.xs, null, rig.dataplane, rig.vifs, null,
                dns.last());
        assertTrue(answered.inSync(), answered.reasons().toString());
    }
}
