package org.netvm.vif.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConntrackToolTest {
    @Test
    void oneArgumentListPerDirectionWithTheCanonicalAddress() {
        ConntrackTool t = new ConntrackTool(List.of("ip", "netns", "exec", "ns"), "/usr/sbin/conntrack", 1000);
        assertEquals(List.of(List.of("ip", "netns", "exec", "ns", "/usr/sbin/conntrack", "-D", "-s", "fd00::5"),
                List.of("ip", "netns", "exec", "ns", "/usr/sbin/conntrack", "-D", "-d", "fd00::5")),
                t.commands(FakeKernel.addr("fd00:0:0::5")));
    }

    /**
     * The prefix makes every process the tool would start append a line to a marker file (the
     * prefix runs before the tool's path is used): with a missing tool nothing may run, and "not
     * found" is logged once, not per purge. The control with an existing tool shows the marker works.
     */
    @Test
    void aMissingToolIsSkipped(@TempDir Path dir) throws Exception {
        Path marker = dir.resolve("started");
        List<String> prefix = List.of("/bin/sh", "-c", "echo started >> \"$0\"", marker.toString());
        List<String> lines = new CopyOnWriteArrayList<>();
        Handler handler = new Handler() {
            @Override
            public void publish(LogRecord r) {
                lines.add(r.getLevel() + " " + r.getMessage());
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        Logger jul = Logger.getLogger(ConntrackTool.class.getName());
        jul.addHandler(handler);
        try {
            ConntrackTool missing = new ConntrackTool(prefix, "/nonexistent/conntrack", 1000);
            missing.purge(List.of(FakeKernel.addr("10.137.0.5")));
            missing.start(List.of(FakeKernel.addr("fd09::5"))).get(5, TimeUnit.SECONDS);
            assertFalse(Files.exists(marker), "no process was started for a missing tool");
            assertEquals(List.of("INFO conntrack tool not found: stale connection tracking entries of guests are not purged"),
                    lines, "logged once");

            new ConntrackTool(prefix, "/bin/true", 1000).purge(List.of(FakeKernel.addr("10.137.0.5")));
            assertTrue(Files.exists(marker), "control: an existing tool is run through the prefix");
        } finally {
            jul.removeHandler(handler);
        }
    }

    @Test
    void theListingTellsWhichAddressesHaveEntries() throws Exception {
        String listing = "tcp      6 431999 ESTABLISHED src=10.137.0.5 dst=198.51.100.1 sport=40000 dport=22 "
                + "src=198.51.100.1 dst=10.137.0.5 sport=22 dport=40000 [ASSURED] mark=0 use=1\n"
                + "udp      17 29 src=fd09::5 dst=fd09::1 sport=5353 dport=53 [UNREPLIED] src=fd09::1 dst=fd09::5\n";
        var found = ConntrackTool.addressesIn(listing);
        org.junit.jupiter.api.Assertions.assertTrue(found.contains(java.net.InetAddress.getByName("10.137.0.5")));
        org.junit.jupiter.api.Assertions.assertTrue(found.contains(java.net.InetAddress.getByName("fd09:0:0:0:0:0:0:5")));
        org.junit.jupiter.api.Assertions.assertFalse(found.contains(java.net.InetAddress.getByName("10.137.0.6")));
    }
}
