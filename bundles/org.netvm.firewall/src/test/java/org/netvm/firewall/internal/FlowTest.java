package org.netvm.firewall.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.netvm.dataplane.ChainRef;
import org.netvm.dataplane.Contribution;
import org.netvm.dataplane.Family;
import org.netvm.dataplane.IpAddress;

/** Which tracked flows a new rule set still allows (the conntrack cut after a change). */
class FlowTest {
    private static final String DNAT_DNS = "udp      17 29 src=10.137.0.5 dst=10.139.1.1 sport=5353 dport=53 "
            + "src=192.168.0.1 dst=10.137.0.5 sport=53 dport=5353 mark=0 use=1";
    private static final String WEB = "tcp      6 431999 ESTABLISHED src=10.137.0.5 dst=93.184.216.34 sport=40000 "
            + "dport=443 src=93.184.216.34 dst=10.137.0.5 sport=443 dport=40000 [ASSURED] mark=0 use=1";

    @Test
    void parsesTheDestinationAfterDnat() {
        Flow f = Flow.parse(DNAT_DNS);
        assertEquals(IpAddress.of("10.139.1.1"), f.origDst());
        assertEquals(IpAddress.of("192.168.0.1"), f.dst());
        assertEquals(53, f.dport());
        assertNull(Flow.parse("garbage"));
        assertNull(Flow.parse("sctp 132 10 src=1.2.3.4 dst=1.2.3.5 src=1.2.3.5 dst=1.2.3.4"));
    }

    @Test
    void firstMatchOfTheNewChainDecides() throws Exception {
        GuestRules rules = RuleParser.parse(Map.of("policy", "drop", "0000", "action=accept specialtarget=dns",
                "0001", "action=accept proto=tcp dstports=80"));
        Contribution c = FirewallPlanner.plan(new FirewallPlanner.Input(3, rules,
                List.of(IpAddress.of("192.168.0.1")), Map.of(), 0));
        ChainRef chain = ChainRef.of(Family.INET, "fw-3");
        assertTrue(Flow.parse(DNAT_DNS).allowedBy(chain, c.rules()));
        assertFalse(Flow.parse(WEB).allowedBy(chain, c.rules()));
    }
}
