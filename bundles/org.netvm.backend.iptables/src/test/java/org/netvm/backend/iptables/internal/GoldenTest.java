package org.netvm.backend.iptables.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.netvm.dataplane.BackendException;
import org.netvm.dataplane.Plan;

/**
 * The restore input for typical plans, compared with {@code src/test/resources/golden/*.rules}.
 * Regenerate after an intended change with {@code -Dgolden.update=true} and review the diff.
 */
class GoldenTest {
    private static final Plans.Guest G1 = new Plans.Guest("vif3.0", "10.137.0.5");
    private static final Plans.Guest G2 = new Plans.Guest("vif4.0", "10.137.0.6");
    private static final Plans.Guest G3 = new Plans.Guest("vif5.0", "10.137.0.7");

    private final FakeRunner runner = new FakeRunner();
    private final IptablesBackend backend = new IptablesBackend(runner, "", "NETVM-", "nft");

    @Test
    void basePolicyWithTwoGuests() throws Exception {
        golden("base-2-guests.rules", backend.render(Plans.base(G1, G2)));
    }

    @Test
    void dnsWithTwoUpstreams() throws Exception {
        golden("dns-2-upstreams.rules", backend.render(Plan.merge(Plans.dns("192.168.0.1", "9.9.9.9"))));
    }

    @Test
    void dnsWithOneUpstream() throws Exception {
        golden("dns-1-upstream.rules", backend.render(Plan.merge(Plans.dns("192.168.0.1"))));
    }

    @Test
    void dnsWithoutUpstreamDrops() throws Exception {
        golden("dns-0-upstreams.rules", backend.render(Plan.merge(Plans.dns())));
    }

    @Test
    void keySetLookupsAreWrittenOutAsOneRulePerElement() throws Exception {
        golden("keysets.rules", backend.render(Plans.keySets(0)));
    }

    @Test
    void firewallMatchesAndRejectAdminProhibited() throws Exception {
        golden("firewall-reject.rules", backend.render(Plans.firewall()));
    }

    /** A guest coming is one ipset restore with two element lines; no iptables process at all. */
    @Test
    void singleGuestChangeIsOneIpsetRestore() throws Exception {
        backend.apply(Plans.base(G1, G2));
        int before = runner.calls.size();
        backend.apply(Plans.base(G1, G2, G3));
        assertEquals(1, runner.calls.size() - before, "one process for a single guest change");
        FakeRunner.Call call = runner.calls.getLast();
        assertEquals(java.util.List.of("ipset", "-exist", "restore"), call.argv());
        golden("single-guest-add.rules", call.stdin());
        backend.apply(Plans.base(G1, G3));
        golden("single-guest-remove.rules", runner.calls.getLast().stdin());
    }

    private static void golden(String name, String actual) throws IOException, BackendException {
        Path file = Path.of("src/test/resources/golden", name);
        if (Boolean.getBoolean("golden.update")) {
            Files.createDirectories(file.getParent());
            Files.writeString(file, actual);
        }
        assertEquals(Files.readString(file), actual, "golden file " + file);
    }
}
