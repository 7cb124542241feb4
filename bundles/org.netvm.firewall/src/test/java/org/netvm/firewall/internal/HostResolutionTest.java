package org.netvm.firewall.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.net.UnknownHostException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.netvm.dataplane.IpAddress;
import org.netvm.util.ProcessRunner;

/** dsthost lookups: every one asks the system afresh (a nameserver change is seen at once), parsed strictly. */
class HostResolutionTest {

    /** Answers with the queued results, records every argv. */
    private static final class Answers implements ProcessRunner {
        final Deque<Result> queue = new ArrayDeque<>();
        final List<List<String>> calls = new ArrayList<>();

        @Override
        public Result run(List<String> argv, String stdin) {
            calls.add(argv);
            return queue.removeFirst();
        }
    }

    private static ProcessRunner.Result ok(String stdout) {
        return new ProcessRunner.Result(0, stdout, "");
    }

    @Test
    void everyLookupAsksAfreshSoANameserverChangeIsSeenAtOnce() throws Exception {
        Answers system = new Answers();
        system.queue.add(ok("192.0.2.1       STREAM example.org\n192.0.2.1       DGRAM  \n192.0.2.1       RAW    \n"));
        system.queue.add(ok("198.51.100.7    STREAM example.org\n198.51.100.7    DGRAM  \n"));
        HostResolution.Resolver resolver = HostResolution.uncached(system);
        assertEquals(List.of(IpAddress.of("192.0.2.1")), resolver.resolve("example.org"));
        // the upstream nameservers changed: the same name, asked again a moment later, gets the new answer
        assertEquals(List.of(IpAddress.of("198.51.100.7")), resolver.resolve("example.org"));
        assertEquals(List.of(List.of("getent", "ahosts", "example.org"), List.of("getent", "ahosts", "example.org")),
                system.calls);
    }

    @Test
    void keepsEachAddressOnceInOrderWithoutZone() throws Exception {
        assertEquals(List.of(IpAddress.of("2001:db8::5"), IpAddress.of("192.0.2.9"), IpAddress.of("fe80::1")),
                HostResolution.addresses("2001:db8::5 STREAM h\n2001:db8::5 DGRAM\n192.0.2.9 STREAM\n"
                        + "fe80::1%eth0 RAW\n\n"));
    }

    @Test
    void unknownNamesAndFailuresAreErrors() {
        Answers system = new Answers();
        system.queue.add(new ProcessRunner.Result(2, "", ""));
        system.queue.add(new ProcessRunner.Result(1, "", "boom"));
        HostResolution.Resolver resolver = HostResolution.uncached(system);
        assertThrows(UnknownHostException.class, () -> resolver.resolve("nowhere.invalid"));
        assertThrows(java.io.IOException.class, () -> resolver.resolve("example.org"));
        assertThrows(UnknownHostException.class, () -> HostResolution.addresses(""));
        assertThrows(IllegalArgumentException.class, () -> HostResolution.addresses("not-an-address STREAM x\n"));
        assertThrows(IllegalArgumentException.class, () -> resolver.resolve("-s"));
        assertEquals(2, system.calls.size());
    }
}
