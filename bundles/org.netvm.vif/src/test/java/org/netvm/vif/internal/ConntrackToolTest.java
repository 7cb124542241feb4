package org.netvm.vif.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
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
     * prefix runs before the tool's path is used): with a missing tool nothing may run, every purge
     * fails naming its addresses, and the tool's absence is an ERROR at start (issue 11 #5). The
     * control with an existing tool shows the marker works.
     */
    @Test
    void issue11AMissingToolIsAStartErrorAndFailsEveryPurge(@TempDir Path dir) throws Exception {
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
            assertEquals(1, lines.size(), lines.toString());
            assertTrue(lines.get(0).startsWith("SEVERE conntrack tool not found (/nonexistent/conntrack)"), lines.get(0));
            var e = assertThrows(Conntrack.PurgeException.class, () -> missing.purge(List.of(FakeKernel.addr("10.137.0.5"))));
            assertEquals(java.util.Set.of(FakeKernel.addr("10.137.0.5")), e.failed());
            var f = missing.start(List.of(FakeKernel.addr("fd09::5")));
            var ee = assertThrows(ExecutionException.class, () -> f.get(5, TimeUnit.SECONDS));
            assertTrue(ee.getCause() instanceof Conntrack.PurgeException, String.valueOf(ee.getCause()));
            assertFalse(Files.exists(marker), "no process was started for a missing tool");

            new ConntrackTool(prefix, "/bin/true", 1000).purge(List.of(FakeKernel.addr("10.137.0.5")));
            assertTrue(Files.exists(marker), "control: an existing tool is run through the prefix");
        } finally {
            jul.removeHandler(handler);
        }
    }

    /** A delete that fails (not "0 flow entries have been deleted") fails the purge (issue 11 #5). */
    @Test
    void issue11AFailingDeleteFailsThePurge(@TempDir Path dir) throws Exception {
        Path failing = dir.resolve("conntrack");
        Files.writeString(failing, """
                #!/bin/sh
                [ "$1" = -L ] && exit 1
                echo "conntrack v1.4.8 (conntrack-tools): Operation failed: invalid parameters" >&2
                exit 1
                """);
        failing.toFile().setExecutable(true);
        var e = assertThrows(Conntrack.PurgeException.class,
                () -> new ConntrackTool(List.of(), failing.toString(), 5000).purge(List.of(FakeKernel.addr("10.137.0.5"))));
        assertTrue(e.getMessage().contains("Operation failed"), e.getMessage());

        Path none = dir.resolve("conntrack0");
        Files.writeString(none, """
                #!/bin/sh
                [ "$1" = -L ] && exit 1
                echo "conntrack v1.4.8 (conntrack-tools): 0 flow entries have been deleted." >&2
                exit 1
                """);
        none.toFile().setExecutable(true);
        new ConntrackTool(List.of(), none.toString(), 5000).purge(List.of(FakeKernel.addr("10.137.0.5")));
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
