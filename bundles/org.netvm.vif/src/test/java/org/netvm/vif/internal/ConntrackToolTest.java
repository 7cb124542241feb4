package org.netvm.vif.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;

import org.junit.jupiter.api.Test;

class ConntrackToolTest {
    @Test
    void oneArgumentListPerDirectionWithTheCanonicalAddress() {
        ConntrackTool t = new ConntrackTool(List.of("ip", "netns", "exec", "ns"), "/usr/sbin/conntrack", 1000);
        assertEquals(List.of(List.of("ip", "netns", "exec", "ns", "/usr/sbin/conntrack", "-D", "-s", "fd00::5"),
                List.of("ip", "netns", "exec", "ns", "/usr/sbin/conntrack", "-D", "-d", "fd00::5")),
                t.commands(FakeKernel.addr("fd00:0:0::5")));
    }

    @Test
    void aMissingToolIsSkipped() {
        new ConntrackTool(List.of(), "/nonexistent/conntrack", 1000).purge(List.of(FakeKernel.addr("10.137.0.5")));
    }
}
