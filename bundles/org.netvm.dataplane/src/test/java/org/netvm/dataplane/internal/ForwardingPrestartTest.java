package org.netvm.dataplane.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

/** {@code netvm forwarding prestart}: the agent's start-up decision, before the agent runs. */
class ForwardingPrestartTest {
    final List<String> journal = new ArrayList<>();
    final IpForwardingTest fakes = new IpForwardingTest();
    final ByteArrayOutputStream out = new ByteArrayOutputStream();

    int run(ForwardingPrestart.Tool tool, String... args) {
        return ForwardingPrestart.run(ForwardingPrestart.Options.parse(List.of(args)), fakes.sysctls, fakes.marker,
                argv -> {
                    journal.add(String.join(" ", argv));
                    return tool.succeeds(argv);
                }, new PrintStream(out, true, StandardCharsets.UTF_8));
    }

    String text() {
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void forwardingOffStaysOffAndNothingIsAsked() {
        assertEquals(0, run(argv -> true));
        assertEquals(List.of(), journal);
        assertEquals(List.of(), fakes.journal);
    }

    @Test
    void forwardingOnWithoutNetvmsRulesIsSwitchedOffBothFamilies() {
        fakes.sysctls.ipv4 = true;
        fakes.sysctls.ipv6 = true;
        assertEquals(0, run(argv -> false));
        assertEquals(List.of("nft list table inet netvm", "iptables -w -S NETVM-forward"), journal);
        assertEquals(List.of("ipv4=0", "ipv6=0"), fakes.journal);
    }

    @Test
    void theConfiguredPrefixesAreAskedAndTheirRulesKeepForwardingOn() {
        fakes.sysctls.ipv4 = true;
        assertEquals(0, run(argv -> argv.contains("FW-forward"), "--nft-table-prefix", "fw",
                "--iptables-chain-prefix", "FW-"));
        assertEquals(List.of("nft list table inet fw", "iptables -w -S FW-forward"), journal);
        assertEquals(List.of(), fakes.journal, "a restart keeps routing");
        assertTrue(text().contains("iptables chain FW-forward still holds netvm's rules"), text());
    }

    @Test
    void theMarkerKeepsForwardingOnAndAMissingToolIsNoProof() {
        fakes.sysctls.ipv4 = true;
        assertEquals(0, run(argv -> {
            throw new IOException("Cannot run program nft");
        }));
        assertEquals(List.of("ipv4=0", "ipv6=0"), fakes.journal, "no tool, no marker: off");
        fakes.journal.clear();
        fakes.sysctls.ipv4 = true;
        fakes.marker.present = true;
        assertEquals(0, run(argv -> false));
        assertEquals(List.of(), fakes.journal);
    }

    @Test
    void aRefusedWriteIsExitStatusOne() {
        fakes.sysctls.ipv4 = true;
        fakes.sysctls.fail = true;
        assertEquals(1, run(argv -> false));
    }

    @Test
    void badArgumentsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> ForwardingPrestart.Options.parse(List.of("--nft-table-prefix",
                "net vm; rm")));
        assertThrows(IllegalArgumentException.class, () -> ForwardingPrestart.Options.parse(List.of("--frobnicate", "x")));
        assertThrows(IllegalArgumentException.class, () -> ForwardingPrestart.Options.parse(List.of("--marker-dir")));
    }
}
